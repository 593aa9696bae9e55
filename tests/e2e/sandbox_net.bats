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
  HNS=""
}

teardown() {
  [ -z "$LNS" ] || ip netns del "$LNS" 2>/dev/null || true
  if [ -n "$POOL_ROOT" ]; then
    "$HUSK" --root "$POOL_ROOT" delete --force sandbox-sp >/dev/null 2>&1 || true
    pool_stop "$POOL_ROOT"
  fi
  [ -z "$HNS" ] || ip netns del "$HNS" 2>/dev/null || true
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
  start_listener
}

# a TCP listener on $LADDR:4321 in netns $LNS that greets each peer with
# its address ("hello ADDR"); LPID is its pid
start_listener() {
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

# the slot's host link, nft table, iptables rules and resolv.conf
# directory, the holder, the state: all gone (in the network namespace
# NETNS_RUN names, default the host's)
nothing_left() {
  local slot=$1
  local in=()
  [ -z "${NETNS_RUN:-}" ] || in=(ip netns exec "$NETNS_RUN")
  [ -z "$(ls -A "$HUSK_ROOT")" ] || { ls -la "$HUSK_ROOT" >&2; return 1; }
  local left
  left=$(leftover_processes)
  [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
  if [ -n "$slot" ]; then
    ! "${in[@]}" ip link show "hsb$slot" >/dev/null 2>&1 || { echo "hsb$slot is left" >&2; return 1; }
    ! "${in[@]}" nft list table ip "husk_sb_$slot" >/dev/null 2>&1 || { echo "husk_sb_$slot is left" >&2; return 1; }
    if command -v iptables >/dev/null; then
      ! "${in[@]}" iptables -w -S | grep -w -- "hsb$slot" >&2 || { echo "iptables rules for hsb$slot left" >&2; return 1; }
      ! "${in[@]}" iptables -w -t nat -S | grep -w -- "hsb$slot" >&2 || { echo "iptables nat rule for hsb$slot left" >&2; return 1; }
    fi
    local dir
    dir=$(resolv_dir "$slot")
    [ ! -e "$dir" ] || { echo "$dir is left" >&2; return 1; }
  fi
  [ -z "$(image_mounts)" ] || { findmnt | grep -F "$S4_DIR" >&2; return 1; }
}

# the directory of the slot's resolv.conf on the host (in NETNS_RUN's
# network namespace, default the host's)
resolv_dir() {
  local ino
  if [ -n "${NETNS_RUN:-}" ]; then ino=$(stat -L -c %i "/run/netns/$NETNS_RUN"); else ino=$(stat -L -c %i /proc/self/ns/net); fi
  echo "/run/husk-sandbox/net-$1-$ino"
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

# host_netns [POLICY]: a network namespace of the test's own (HNS) that
# plays the host: IP forwarding on, iptables' FORWARD policy POLICY there
# only (DROP as Docker sets it; none given: no iptables rule or table at
# all), and a veth 10.235.R.1 (HNS) / LADDR=10.235.R.2 to a second
# namespace (LNS) with the listener of listener_netns. husk runs in HNS
# with `nsenter --net` (its mounts, cgroups and /run stay the host's).
host_netns() {
  local r=$((RANDOM % 250 + 1))
  HNS="husk-s4h-$$-$r" LNS="husk-s4l-$$-$r"
  LHOST=10.235.$r.1 LADDR=10.235.$r.2
  ip netns add "$HNS"
  ip netns add "$LNS"
  ip -n "$HNS" link set lo up
  ip -n "$HNS" link add up0 type veth peer name eth0 netns "$LNS"
  ip -n "$HNS" addr add "$LHOST/30" dev up0
  ip -n "$HNS" link set up0 up
  ip -n "$LNS" addr add "$LADDR/30" dev eth0
  ip -n "$LNS" link set eth0 up
  ip -n "$LNS" link set lo up
  ip netns exec "$HNS" sysctl -qw net.ipv4.ip_forward=1
  [ -z "${1:-}" ] || ip netns exec "$HNS" iptables -w -P FORWARD "$1"
  start_listener
}

@test "sandbox run --net nat on a host whose iptables FORWARD policy is DROP (Docker's): the job reaches the listener; stale and own accepts are removed, the policy stays" {
  command -v iptables >/dev/null || skip "iptables is not installed"
  host_netns DROP
  # what a keeper killed with SIGKILL on slot 0 would have left (slot 0:
  # the namespace has no hsb link): removed at set-up
  ip netns exec "$HNS" iptables -w -I FORWARD -i hsb0 -j ACCEPT
  ip netns exec "$HNS" iptables -w -I FORWARD -i hsb0 -j ACCEPT
  run --separate-stderr nsenter --net="/run/netns/$HNS" "$HUSK" --root "$HUSK_ROOT" sandbox run \
    --rootfs "$ROOTFS" --net nat -- /bin/sh -c "
    ip -4 -o addr show dev eth0 | awk '{print \$4}'
    echo | nc -w 10 $LADDR 4321"
  echo "$output"
  echo "$stderr"
  kill "$LPID" 2>/dev/null || true
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^10\.233\.[0-9]+\.[0-9]+/30$ ]]
  slot=$(slot_of "${lines[0]%/30}")
  [ "$slot" -eq 0 ]
  [ "${lines[1]}" = "hello $LHOST" ]
  [ "$(ip netns exec "$HNS" iptables -w -S FORWARD)" = "-P FORWARD DROP" ]
  NETNS_RUN=$HNS nothing_left "$slot"
}

@test "sandbox run --net nat on a host with a bare FORWARD chain, and on one without iptables (nft only): the job reaches the listener; no rule or table is left or made" {
  command -v nft >/dev/null || skip "nft is not installed"
  host_netns
  local job="ip -4 -o addr show dev eth0 | awk '{print \$4}'; echo | nc -w 10 $LADDR 4321"
  # iptables installed, its FORWARD chain bare: nothing to accept there
  run --separate-stderr nsenter --net="/run/netns/$HNS" "$HUSK" --root "$HUSK_ROOT" sandbox run \
    --rootfs "$ROOTFS" --net nat -- /bin/sh -c "$job"
  echo "$output"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "hello $LHOST" ]
  [ -z "$(ip netns exec "$HNS" nft list ruleset)" ]
  NETNS_RUN=$HNS nothing_left "$(slot_of "${lines[0]%/30}")"
  # iptables hidden (not executable) in a mount namespace of husk's own
  run --separate-stderr nsenter --net="/run/netns/$HNS" unshare -m --propagation private sh -c \
    'mount --bind /dev/null "$(command -v iptables || echo /usr/sbin/iptables)" && ! iptables -V 2>/dev/null && exec "$@"' \
    sh "$HUSK" --root "$HUSK_ROOT" sandbox run --rootfs "$ROOTFS" --net nat -- /bin/sh -c "$job"
  echo "$output"
  echo "$stderr"
  kill "$LPID" 2>/dev/null || true
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "hello $LHOST" ]
  [ -z "$(ip netns exec "$HNS" nft list ruleset)" ]
  NETNS_RUN=$HNS nothing_left "$(slot_of "${lines[0]%/30}")"
}

@test "sandbox run --net nat whose set-up fails at its last step (the resolv.conf): a one-line error; the veth, nft table, iptables accepts and holder are gone" {
  command -v iptables >/dev/null || skip "iptables is not installed"
  host_netns DROP
  kill "$LPID" 2>/dev/null || true
  # search and options lines over the job's resolv.conf's 4096 bytes
  for i in $(seq 30); do printf 'options %0200d\n' "$i"; done > "$BATS_TEST_TMPDIR/host-resolv"
  HUSK_SANDBOX_RESOLV_CONF=$BATS_TEST_TMPDIR/host-resolv run nsenter --net="/run/netns/$HNS" \
    "$HUSK" --root "$HUSK_ROOT" sandbox run --rootfs "$ROOTFS" --net nat -- /bin/true
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox run: --net nat: the job's resolv.conf would be over 4096 bytes (the search and options lines of $BATS_TEST_TMPDIR/host-resolv)" ]
  # the first slot of a namespace with no hsb link: 0
  [ "$(ip netns exec "$HNS" iptables -w -S FORWARD)" = "-P FORWARD DROP" ]
  [ "$(ip netns exec "$HNS" iptables -w -t nat -S POSTROUTING)" = "-P POSTROUTING ACCEPT" ] ||
    ! ip netns exec "$HNS" iptables -w -t nat -S POSTROUTING | grep -w hsb0
  NETNS_RUN=$HNS nothing_left 0
}

# the job's /etc/resolv.conf with run's options (--rootfs, --net nat)
job_resolv() {
  run --separate-stderr husk sandbox run --rootfs "$ROOTFS" --net nat "$@" -- /bin/sh -c \
    "cat /etc/resolv.conf; ip -4 -o addr show dev eth0 | awk '{print \$4}'; echo x > /etc/resolv.conf || echo read-only"
  echo "$output"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "read-only" ]
  slot=$(slot_of "${lines[-2]%/30}")
  # the lines of resolv.conf
  unset 'lines[-1]' 'lines[-1]'
  nothing_left "$slot"
}

@test "sandbox run --net nat: /etc/resolv.conf from --dns, else the host's reachable nameservers, else the default; none with --net none; the rootfs untouched" {
  [ ! -e "$ROOTFS/etc/resolv.conf" ]
  printf '%s\n' '# the host' 'nameserver 127.0.0.53' 'nameserver ::1' 'nameserver 10.1.2.3' \
    'nameserver fe80::1%eth0' 'search example.test corp.test' 'options ndots:2 edns0' 'nameserver 10.1.2.4' \
    'nameserver 10.1.2.5' 'nameserver 10.1.2.6' > "$BATS_TEST_TMPDIR/host-resolv"
  export HUSK_SANDBOX_RESOLV_CONF=$BATS_TEST_TMPDIR/host-resolv
  job_resolv --dns 192.0.2.53 --dns 2001:db8::53
  [ "${lines[0]}" = "# made by husk sandbox --net nat (docs/sandbox.md)" ]
  [ "${lines[1]}" = "nameserver 192.0.2.53" ]
  [ "${lines[2]}" = "nameserver 2001:db8::53" ]
  [ "${lines[3]}" = "search example.test corp.test" ]
  [ "${lines[4]}" = "options ndots:2 edns0" ]
  [ "${#lines[@]}" -eq 5 ]
  # no --dns: the host's, loopback and IPv6 dropped, at most 3
  job_resolv
  [ "${lines[1]}" = "nameserver 10.1.2.3" ]
  [ "${lines[2]}" = "nameserver 10.1.2.4" ]
  [ "${lines[3]}" = "nameserver 10.1.2.5" ]
  [ "${lines[4]}" = "search example.test corp.test" ]
  [ "${#lines[@]}" -eq 6 ]
  # only loopback resolvers (systemd-resolved, dnsmasq): the default
  printf '%s\n' 'nameserver 127.0.0.53' 'nameserver ::1' > "$BATS_TEST_TMPDIR/host-resolv"
  job_resolv
  [ "${lines[1]}" = "nameserver 8.8.8.8" ]
  [ "${lines[2]}" = "nameserver 8.8.4.4" ]
  [ "${#lines[@]}" -eq 3 ]
  [ ! -e "$ROOTFS/etc/resolv.conf" ]
  # --net none: nothing of husk's
  run --separate-stderr husk sandbox run --rootfs "$ROOTFS" -- /bin/sh -c 'cat /etc/resolv.conf || echo none'
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "none" ]
  # --read-only: the mount point is made in the guest's overlay, the rootfs
  # stays without one
  run --separate-stderr husk sandbox run --rootfs "$ROOTFS" --net nat --read-only -- /bin/sh -c 'cat /etc/resolv.conf; echo x > /etc/resolv.conf || echo read-only'
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "nameserver 8.8.8.8" ]
  [ "${lines[-1]}" = "read-only" ]
  [ ! -e "$ROOTFS/etc/resolv.conf" ]
  echo "nameserver 203.0.113.1" > "$BUNDLE/rootfs/etc/resolv.conf"
  run --separate-stderr husk sandbox run --rootfs "$BUNDLE/rootfs" --net nat --read-only -- /bin/cat /etc/resolv.conf
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "nameserver 8.8.8.8" ]
  [ "$(cat "$BUNDLE/rootfs/etc/resolv.conf")" = "nameserver 203.0.113.1" ]
  run husk sandbox run --rootfs "$ROOTFS" --net nat --dns 10.0.0.300 -- /bin/true
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox run: --dns "10.0.0.300" is not an IPv4 or IPv6 address' ]
  run husk sandbox start --name s4d --rootfs "$ROOTFS" --net nat --dns fe80::1%eth0
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox start: --dns "fe80::1%eth0" is not an IPv4 or IPv6 address' ]
  run husk sandbox run --rootfs "$ROOTFS" --net nat --dns 1.1.1.1 --dns 1.1.1.2 --dns 1.1.1.3 --dns 1.1.1.4 -- /bin/true
  [ "$output" = "husk: sandbox run: more than 3 --dns addresses" ]
  run husk sandbox run --rootfs "$ROOTFS" --dns 1.1.1.1 -- /bin/true
  [ "$output" = "husk: sandbox run: --dns is for --net nat" ]
  nothing_left
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
  run husk sandbox start --name s4 --image localhost/husk-sandbox-test --net nat --dns 192.0.2.7
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run husk sandbox exec s4 -- /bin/cat /etc/resolv.conf
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "nameserver 192.0.2.7" ]
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
  run "$HUSK" --root "$POOL_ROOT" sandbox start --name sp --image localhost/husk-sandbox-test --net nat --dns 192.0.2.8
  [ "$status" -eq 0 ]
  # adopted: the sandbox's VM is the pool's
  [[ "$(jq -r .vm_dir "$POOL_ROOT/sandbox-sp/state.json")" == "$POOL_ROOT/pool.d/"* ]]
  grep -q "VM 0 taken" "$POOL_ROOT.log"
  run "$HUSK" --root "$POOL_ROOT" sandbox exec sp -- /bin/sh -c \
    "cat /etc/image-mark; ip -4 -o addr show dev eth0 | awk '{print \$4}'; grep nameserver /etc/resolv.conf"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$IMAGE_MARK" ]
  slot=$(slot_of "${lines[1]%/30}")
  # the resolv.conf of husk's reaches a pool VM too
  [ "${lines[2]}" = "nameserver 192.0.2.8" ]
  ip link show "hsb$slot"
  run "$HUSK" --root "$POOL_ROOT" sandbox stop sp
  [ "$status" -eq 0 ]
  [ ! -e "$POOL_ROOT/sandbox-sp" ]
  ! ip link show "hsb$slot" >/dev/null 2>&1
  ! nft list table ip "husk_sb_$slot" >/dev/null 2>&1
  [ ! -e "$(resolv_dir "$slot")" ]
  [ -z "$(image_mounts)" ]
  [ -z "$(pgrep -f -- "--root $POOL_ROOT sandbox" || true)" ]
}
