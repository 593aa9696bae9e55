#!/usr/bin/env bats
# Pool VMs and networking (docs/pool.md "Network", docs/design-pool.md P3):
# a pool VM's NICs are taps in its pool monitor's netns, moved into the
# container's at create and joined to its interfaces as for a cold boot.
# One server of size 1 for the file. NS is the container's netns, PEER the
# other end of its veth (as tests/e2e/network.bats builds them).

bats_require_minimum_version 1.5.0

load helpers
load pool_helpers

setup_file() {
  NET_ROOT=$(mktemp -d /run/husk-pnet.XXXXXX)
  export NET_ROOT
  pool_start "$NET_ROOT" 1
  pool_wait_ready "$NET_ROOT" 1
}

teardown_file() {
  pool_stop "$NET_ROOT"
}

setup() {
  common_setup
  T=$BATS_TEST_NUMBER
  NS=husk-pn$$-$T
  PEER=husk-pp$$-$T
  ip netns add "$NS"
  ip netns add "$PEER"
  ip -n "$PEER" link set lo up
  jq --arg p "/run/netns/$NS" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
    "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

teardown() {
  local id rc=0
  for id in $(ls "$NET_ROOT" 2>/dev/null); do
    case $id in pool.*) continue ;; esac
    "$HUSK" --root "$NET_ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done
  common_teardown || rc=$?
  ip netns pids "$PEER" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
  return $rc
}

take() {
  "$HUSK" --root "$NET_ROOT" "$@"
}

# veth IFNAME SUBNET: IFNAME in NS (.2), its peer in PEER (.1)
veth() {
  local ifname=$1 net=$2
  ip link add "p$ifname" netns "$PEER" type veth peer name "$ifname" netns "$NS"
  ip -n "$PEER" addr add "$net.1/24" dev "p$ifname"
  ip -n "$PEER" link set "p$ifname" up
  ip -n "$NS" addr add "$net.2/24" dev "$ifname"
  ip -n "$NS" link set "$ifname" up
}

# no_leftovers IFNAME...: no tap in NS, no filter or ingress qdisc on IFNAME
no_leftovers() {
  local left="" ifname
  left=$(ip -n "$NS" -o link show | grep hsktap || true)
  for ifname in "$@"; do
    left="$left$(tc -n "$NS" filter show dev "$ifname" ingress 2>&1 || true)"
    left="$left$(tc -n "$NS" qdisc show dev "$ifname" | grep ingress || true)"
  done
  if [ -n "$left" ]; then
    echo "left in $NS: $left" >&2
    return 1
  fi
}

# ns_users INODE: processes whose network namespace is INODE
ns_users() {
  local p
  for p in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$p/ns/net" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
  done
  return 0
}

@test "a container with a veth adopts a pool VM: the veth's MAC and address, both ways; delete leaves no tap, filter or netns" {
  veth eth0 10.77.$T
  local mac
  mac=$(ip -n "$NS" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
  set_args "$BUNDLE" sh -c "echo links \$(ip -o link | wc -l); ip -o link show eth0; ip -o addr show dev eth0; \
ping -c 2 -W 10 10.77.$T.1 >/dev/null && echo ping-ok; exec sleep 1000"
  pool_wait_ready "$NET_ROOT" 1
  local out=$BATS_TEST_TMPDIR/out
  take --debug create -b "$BUNDLE" pn1 >"$out" 2>"$out.err" </dev/null
  grep -q "adopted pool VM $NET_ROOT/pool.d/" "$out.err"
  local vm_dir mon pool_ns
  vm_dir=$(jq -r .vm_dir "$NET_ROOT/pn1/state.json")
  [[ "$vm_dir" == "$NET_ROOT/pool.d/"* ]]
  mon=$(jq -r .vm_monitor.pid "$NET_ROOT/pn1/state.json")
  pool_ns=$(stat -L -c %i "/proc/$mon/ns/net")
  # the VM's taps are in the container's netns now: one joined, the rest spares
  [ "$(ip -n "$NS" -o link show | grep -c hsktap)" -eq 3 ]
  [ "$(jq '[.taps[] | select(.used)] | length' "$NET_ROOT/pn1/network.json")" -eq 1 ]
  take start pn1
  local i
  for i in $(seq 1 300); do
    grep -q ping-ok "$out" && break
    sleep 0.1
  done
  cat "$out"
  grep -q ping-ok "$out"
  grep -q "links 2" "$out" # lo and eth0: the spares stay parked
  grep -q "link/ether $mac" "$out"
  grep -q "inet 10.77.$T.2/24" "$out"
  # the host end reaches the guest
  run ip netns exec "$PEER" busybox ping -c 2 -W 10 "10.77.$T.2"
  [ "$status" -eq 0 ]
  local cmon
  cmon=$(take state pn1 | jq -r .pid)
  take kill pn1 9
  HUSK_ROOT=$NET_ROOT wait_status pn1 stopped 30
  # as a cold VM's monitor, the adopting one takes its filters away when the container ends
  timeout 30 tail --pid="$cmon" -f /dev/null
  no_leftovers eth0
  take delete pn1
  [ ! -e "$vm_dir" ]
  no_leftovers eth0
  [ -z "$(ns_users "$pool_ns")" ]
}

@test "an adopted VM's spare NICs take interfaces added between create and start (Docker 26+)" {
  set_args "$BUNDLE" sh -c "ip -o addr show; ping -c 2 -W 10 10.77.$T.1 >/dev/null && echo ping0-ok"
  pool_wait_ready "$NET_ROOT" 1
  local out=$BATS_TEST_TMPDIR/out
  take --debug create -b "$BUNDLE" pn2 >"$out" 2>"$out.err" </dev/null
  grep -q "adopted pool VM" "$out.err"
  veth eth0 10.77.$T
  take start pn2
  HUSK_ROOT=$NET_ROOT wait_status pn2 stopped 120
  cat "$out"
  grep -q "eth0.*inet 10.77.$T.2/24" "$out"
  grep -q ping0-ok "$out"
  take delete pn2
  no_leftovers eth0
}

@test "a network namespace with more interfaces than a pool VM has NICs boots cold and says why at debug" {
  local i
  for i in 0 1 2 3; do veth "eth$i" "10.7$i.$T"; done
  set_args "$BUNDLE" sh -c 'echo links $(ip -o link | wc -l)'
  pool_wait_ready "$NET_ROOT" 1
  run --separate-stderr take --debug run -b "$BUNDLE" pn3
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"adopted pool VM"* ]]
  [[ "$stderr" == *"cold boot: network namespace /run/netns/$NS has 4 interfaces, pool VMs have 3 NICs"* ]]
  [ "$output" = "links 5" ]
  no_leftovers eth0 eth1 eth2 eth3
  # the pool kept its VM
  [ "$(take pool status | jq -r .ready)" -eq 1 ]
}

@test "a take that fails after the taps moved (eth0 carries a husk filter already): VM stopped, no tap left, the cold error, the filter kept" {
  veth eth0 10.77.$T
  # what another husk VM's join leaves: the wiring fails once the taps are in NS
  tc -n "$NS" qdisc add dev eth0 ingress
  tc -n "$NS" filter add dev eth0 ingress prio 18517 protocol all u32 match u32 0 0 action mirred egress mirror dev lo
  pool_wait_ready "$NET_ROOT" 1
  local before
  before=$(ls "$NET_ROOT/pool.d")
  run --separate-stderr take --debug run -b "$BUNDLE" pn4
  echo "$stderr"
  [ "$status" -ne 0 ]
  [[ "$stderr" == *"cold boot: pool VM $NET_ROOT/pool.d/$before not used: "*"already carries a husk VM's filter"* ]]
  [[ "$(tail -1 <<<"$stderr")" == *"already carries a husk VM's filter"* ]]
  [ -z "$(ip -n "$NS" -o link show | grep hsktap || true)" ]
  # the filter that was there stays: neither the take nor the cold boot added it
  tc -n "$NS" filter show dev eth0 ingress | grep -q mirred
  [ ! -e "$NET_ROOT/pool.d/$before" ]
  [ ! -e "$NET_ROOT/pn4" ]
}

@test "an adopted container whose monitor is killed hard: delete --force removes its VM, taps and filters" {
  veth eth0 10.77.$T
  set_args "$BUNDLE" sleep 120
  pool_wait_ready "$NET_ROOT" 1
  take --debug create -b "$BUNDLE" pn5 >/dev/null 2>"$BATS_TEST_TMPDIR/err" </dev/null
  grep -q "adopted pool VM" "$BATS_TEST_TMPDIR/err"
  local vm_dir qemu
  vm_dir=$(jq -r .vm_dir "$NET_ROOT/pn5/state.json")
  qemu=$(jq -r .qemu.pid "$NET_ROOT/pn5/state.json")
  [ -n "$(tc -n "$NS" filter show dev eth0 ingress)" ]
  kill -9 "$(take state pn5 | jq -r .pid)"
  take delete --force pn5
  no_leftovers eth0
  ! kill -0 "$qemu" 2>/dev/null
  [ ! -e "$vm_dir" ]
}
