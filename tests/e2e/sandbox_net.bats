#!/usr/bin/env bats
# husk sandbox run --net nat and --image (docs/sandbox.md, S4 of
# docs/design-sandbox.md). Only lo without --net: sandbox.bats. Each test
# boots one VM under TCG; nothing leaves this machine: the job reaches a
# listener in a network namespace the test makes, through husk's NAT.

load helpers
load pool_helpers
bats_require_minimum_version 1.5.0

setup_file() {
  S4_DIR=$(mktemp -d /tmp/husk-sandbox-s4.XXXXXX)
  export S4_DIR
  make_bundle "$S4_DIR/bundle" /bin/true >/dev/null
  # a Podman store of the file's own (overlay: the image is really mounted),
  # with an image made of the busybox rootfs and a marker file
  IMAGE_MARK="image-$RANDOM$RANDOM"
  export IMAGE_MARK
  echo "$IMAGE_MARK" > "$S4_DIR/bundle/rootfs/etc/image-mark"
  tar -C "$S4_DIR/bundle/rootfs" -cf "$S4_DIR/rootfs.tar" .
  rm "$S4_DIR/bundle/rootfs/etc/image-mark"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$S4_DIR/store/graph" "$S4_DIR/store/run" > "$S4_DIR/storage.conf"
  printf '[engine]\nevents_logger = "file"\nevents_logfile_path = "%s"\ncgroup_manager = "cgroupfs"\n' \
    "$S4_DIR/events.log" > "$S4_DIR/containers.conf"
  export CONTAINERS_STORAGE_CONF=$S4_DIR/storage.conf CONTAINERS_CONF=$S4_DIR/containers.conf
  podman import -q "$S4_DIR/rootfs.tar" localhost/husk-sandbox-test >/dev/null
}

teardown_file() {
  podman rmi -f localhost/husk-sandbox-test >/dev/null 2>&1 || true
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$S4_DIR" | sort -r); do umount -l "$m" || true; done
  rm -rf "$S4_DIR"
}

setup() {
  common_setup
  ROOTFS=$S4_DIR/bundle/rootfs
  LNS=""
  POOL_ROOT=""
}

teardown() {
  [ -z "$LNS" ] || ip netns del "$LNS" 2>/dev/null || true
  if [ -n "$POOL_ROOT" ]; then
    "$HUSK" --root "$POOL_ROOT" delete --force sandbox-sp >/dev/null 2>&1 || true
    pool_stop "$POOL_ROOT"
  fi
  common_teardown
}

# listener_netns: a namespace of the test's own (LNS) with a veth to the
# host, 10.234.R.1 (host) / LADDR=10.234.R.2 (inside), and a python3
# listener on LADDR:4321 that answers each connection with "hello <peer
# address>" (started in the background; LPID)
listener_netns() {
  local r=$((RANDOM % 250 + 1))
  LNS="husk-s4-$$-$r"
  LHOST=10.234.$r.1 LADDR=10.234.$r.2
  ip netns add "$LNS"
  ip link add "hskt$r" type veth peer name eth0 netns "$LNS"
  ip addr add "$LHOST/30" dev "hskt$r"
  ip link set "hskt$r" up
  ip -n "$LNS" addr add "$LADDR/30" dev eth0
  ip -n "$LNS" link set eth0 up
  ip -n "$LNS" link set lo up
  ip netns exec "$LNS" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 4321)); s.listen(4)
print("listening", flush=True)
while True:
    c, peer = s.accept()
    c.sendall(("hello %s\n" % peer[0]).encode()); c.close()
' "$LADDR" > "$BATS_TEST_TMPDIR/listener.log" 2>&1 &
  LPID=$!
  for _ in $(seq 100); do grep -q listening "$BATS_TEST_TMPDIR/listener.log" && break; sleep 0.1; done
  grep -q listening "$BATS_TEST_TMPDIR/listener.log"
}

# images mounted from the file's store (its overlay driver also keeps a
# bind mount of its own home, which is not an image's)
image_mounts() {
  findmnt -rn -o TARGET | grep -F "$S4_DIR/store" | grep '/merged$' || true
}

# the slot's host link and nft table, the holder, the state: all gone
nothing_left() {
  local slot=$1
  [ -z "$(ls -A "$HUSK_ROOT")" ] || { ls -la "$HUSK_ROOT" >&2; return 1; }
  local left
  left=$(leftover_processes)
  [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
  if [ -n "$slot" ]; then
    ! ip link show "hsb$slot" >/dev/null 2>&1 || { echo "hsb$slot is left" >&2; return 1; }
    ! nft list table ip "husk_sb_$slot" >/dev/null 2>&1 || { echo "husk_sb_$slot is left" >&2; return 1; }
  fi
  [ -z "$(image_mounts)" ] || { findmnt | grep -F "$S4_DIR" >&2; return 1; }
}

# the slot of a job's eth0 address 10.233.X.Y: (X*256+Y)/4
slot_of() {
  local a=${1#10.233.}
  echo $(((${a%%.*} * 256 + ${a#*.}) / 4))
}

@test "sandbox run --net nat: eth0 with a /30 and a default route; a listener in another netns answers through the NAT; nothing left" {
  command -v nft >/dev/null || skip "nft is not installed"
  listener_netns
  run --separate-stderr husk sandbox run --rootfs "$ROOTFS" --net nat -- /bin/sh -c "
    ls /sys/class/net | tr '\n' ' '; echo
    ip -4 -o addr show dev eth0 | awk '{print \$4}'
    ip route | grep default
    echo | nc -w 10 $LADDR 4321"
  echo "$output"
  kill "$LPID" 2>/dev/null || true
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "eth0 lo " ]
  [[ "${lines[1]}" =~ ^10\.233\.[0-9]+\.[0-9]+/30$ ]]
  addr=${lines[1]%/30}
  slot=$(slot_of "$addr")
  [ "$((${addr##*.} % 4))" -eq 2 ]
  [[ "${lines[2]}" == "default via ${addr%.*}.$((${addr##*.} - 1)) dev eth0"* ]]
  # masqueraded: the listener sees the host's address on its veth
  [ "${lines[3]}" = "hello $LHOST" ]
  nothing_left "$slot"
}

@test "sandbox run --image: a local Podman image is the rootfs, stays unchanged, is unmounted; a missing image is a one-line error" {
  run --separate-stderr husk sandbox run --image localhost/husk-sandbox-test -- /bin/sh -c \
    'cat /etc/image-mark; echo x > /etc/image-mark; cat /etc/image-mark; ls /sys/class/net'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$IMAGE_MARK" ]
  [ "${lines[1]}" = "x" ]
  [ "${lines[2]}" = "lo" ]
  [ -z "$(podman image mount)" ]
  nothing_left
  # a second run sees the image as it was
  run --separate-stderr husk sandbox run --image husk-sandbox-test -- /bin/cat /etc/image-mark
  [ "$status" -eq 0 ]
  [ "$output" = "$IMAGE_MARK" ]
  run husk sandbox run --image localhost/no-such-image -- /bin/true
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "husk: sandbox run: --image localhost/no-such-image: not a local Podman image ("*"image not known)" ]]
  run husk sandbox run --image localhost/husk-sandbox-test --rootfs "$ROOTFS" -- /bin/true
  [ "$output" = "husk: sandbox run: --rootfs and --image exclude each other" ]
  run husk sandbox run --image -x -- /bin/true
  [ "$output" = 'husk: sandbox run: --image "-x" is not an image name' ]
  run husk sandbox run --rootfs "$ROOTFS" --net bridge -- /bin/true
  [ "$output" = 'husk: sandbox run: --net must be none or nat, not "bridge"' ]
  nothing_left
}

@test "SIGINT to sandbox run --image --net nat: 130; no netns, veth, nft table or mount left" {
  command -v nft >/dev/null || skip "nft is not installed"
  # the binary itself, not the husk function: $! is then husk's pid
  "$HUSK" --root "$HUSK_ROOT" sandbox run --image localhost/husk-sandbox-test --net nat -- /bin/sh -c \
    'ip -4 -o addr show dev eth0; echo ready; exec sleep 600' \
    > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  p=$!
  for _ in $(seq 900); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  cat "$BATS_TEST_TMPDIR/out"
  grep -q ready "$BATS_TEST_TMPDIR/out"
  addr=$(awk '{print $4}' "$BATS_TEST_TMPDIR/out" | head -1)
  slot=$(slot_of "${addr%/30}")
  ip link show "hsb$slot"
  nft list table ip "husk_sb_$slot"
  [ -n "$(image_mounts)" ]
  kill -INT "$p"
  s=0; wait "$p" || s=$?
  cat "$BATS_TEST_TMPDIR/err"
  [ "$s" -eq 130 ]
  nothing_left "$slot"
}

# waits (up to 30 s) until nothing of the slot's is left
wait_nothing_left() {
  for _ in $(seq 150); do nothing_left "$1" 2>/dev/null && return 0; sleep 0.2; done
  nothing_left "$1"
}

@test "sandbox start --image --net nat: exec sees the image and reaches a listener through the NAT; stop leaves nothing" {
  command -v nft >/dev/null || skip "nft is not installed"
  listener_netns
  run husk sandbox start --name s4 --image localhost/husk-sandbox-test --net nat
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  # the keeper holds the image and the network while the sandbox lives
  run husk sandbox exec s4 -- /bin/sh -c "cat /etc/image-mark; ip -4 -o addr show dev eth0 | awk '{print \$4}'"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$IMAGE_MARK" ]
  slot=$(slot_of "${lines[1]%/30}")
  ip link show "hsb$slot"
  nft list table ip "husk_sb_$slot" >/dev/null
  [ -n "$(image_mounts)" ]
  run husk sandbox exec s4 -- /bin/sh -c "echo | nc -w 10 $LADDR 4321"
  kill "$LPID" 2>/dev/null || true
  [ "$status" -eq 0 ]
  [ "$output" = "hello $LHOST" ]
  run husk sandbox stop s4
  [ "$status" -eq 0 ]
  # stop returns once the keeper has undone it all
  nothing_left "$slot"
}

@test "delete --force of a started --image --net nat sandbox, and SIGKILL to sandbox run: the keeper leaves nothing once the VM ends" {
  command -v nft >/dev/null || skip "nft is not installed"
  run husk sandbox start --name s4k --image localhost/husk-sandbox-test --net nat
  [ "$status" -eq 0 ]
  run husk sandbox exec s4k -- /bin/sh -c "ip -4 -o addr show dev eth0 | awk '{print \$4}'"
  [ "$status" -eq 0 ]
  slot=$(slot_of "${output%/30}")
  ip link show "hsb$slot"
  run husk delete --force sandbox-s4k
  [ "$status" -eq 0 ]
  wait_nothing_left "$slot"
  # run killed outright: its job ends on its own, then the keeper undoes
  "$HUSK" --root "$HUSK_ROOT" sandbox run --image localhost/husk-sandbox-test --net nat -- /bin/sh -c \
    'ip -4 -o addr show dev eth0; echo ready; sleep 2' > "$BATS_TEST_TMPDIR/out" 2>&1 &
  p=$!
  for _ in $(seq 900); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  grep -q ready "$BATS_TEST_TMPDIR/out"
  addr=$(awk '{print $4}' "$BATS_TEST_TMPDIR/out" | head -1)
  slot=$(slot_of "${addr%/30}")
  kill -KILL "$p"
  wait "$p" || true
  ip link show "hsb$slot"
  # the killed run could not remove its container's state: delete does
  for _ in $(seq 150); do ! ip link show "hsb$slot" >/dev/null 2>&1 && break; sleep 0.2; done
  for id in $(ls "$HUSK_ROOT"); do husk delete --force "$id"; done
  wait_nothing_left "$slot"
}

@test "sandbox start --image --net nat takes a pool VM of its shape: exec sees the image and eth0; stop leaves nothing" {
  command -v nft >/dev/null || skip "nft is not installed"
  POOL_ROOT=$(mktemp -d /run/husk-sbpool.XXXXXX)
  pool_start "$POOL_ROOT" 1 HUSK_MEMORY_MIB=512 HUSK_VCPUS=1
  pool_wait_ready "$POOL_ROOT" 1
  run "$HUSK" --root "$POOL_ROOT" sandbox start --name sp --image localhost/husk-sandbox-test --net nat
  [ "$status" -eq 0 ]
  # adopted: the sandbox's VM is the pool's
  [[ "$(jq -r .vm_dir "$POOL_ROOT/sandbox-sp/state.json")" == "$POOL_ROOT/pool.d/"* ]]
  grep -q "VM 0 taken" "$POOL_ROOT.log"
  run "$HUSK" --root "$POOL_ROOT" sandbox exec sp -- /bin/sh -c \
    "cat /etc/image-mark; ip -4 -o addr show dev eth0 | awk '{print \$4}'"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$IMAGE_MARK" ]
  slot=$(slot_of "${lines[1]%/30}")
  ip link show "hsb$slot"
  run "$HUSK" --root "$POOL_ROOT" sandbox stop sp
  [ "$status" -eq 0 ]
  [ ! -e "$POOL_ROOT/sandbox-sp" ]
  ! ip link show "hsb$slot" >/dev/null 2>&1
  ! nft list table ip "husk_sb_$slot" >/dev/null 2>&1
  [ -z "$(image_mounts)" ]
  [ -z "$(pgrep -f -- "--root $POOL_ROOT sandbox" || true)" ]
}
