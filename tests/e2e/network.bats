#!/usr/bin/env bats
# Networking: the container's network namespace becomes the VM's NICs.
# Each test builds its own namespaces (this host has no iptables): NS is the
# container's (what Docker/CNI would make), PEER holds the other end of the
# veth ("the host end"), addresses 10.77.T.0/24 and fd77:T::/64.

load helpers

XFER=$BATS_TEST_DIRNAME/net_xfer.py

setup() {
  common_setup
  T=$BATS_TEST_NUMBER
  NS=husk-nt$$-$T
  PEER=husk-np$$-$T
  ip netns add "$NS"
  ip netns add "$PEER"
  ip -n "$PEER" link set lo up
}

teardown() {
  local rc=0
  if [ -n "${LISTENER:-}" ]; then kill "$LISTENER" 2>/dev/null || true; fi
  common_teardown || rc=$?
  # the job's processes in PEER (transfers) go with it
  ip netns pids "$PEER" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
  ip netns del "husk-nh$$-$T" 2>/dev/null || true # a name of the host's (one test)
  return $rc
}

# veth IFNAME SUBNET [MTU]: a veth with IFNAME in NS (.2) and its peer in PEER (.1)
veth() {
  local ifname=$1 net=$2 mtu=${3:-1500}
  ip link add "p$ifname" netns "$PEER" mtu "$mtu" type veth peer name "$ifname" netns "$NS" mtu "$mtu"
  ip -n "$PEER" addr add "$net.1/24" dev "p$ifname"
  ip -n "$PEER" link set "p$ifname" up
  ip -n "$NS" addr add "$net.2/24" dev "$ifname"
  ip -n "$NS" link set "$ifname" up
}

# set_netns BUNDLE PATH: the network namespace entry's path ("" removes it)
set_netns() {
  jq --arg p "$2" '.linux.namespaces |= map(if .type == "network" then (if $p == "" then del(.path) else .path = $p end) else . end)' \
    "$1/config.json" > "$1/config.json.new"
  mv "$1/config.json.new" "$1/config.json"
}

# no_leftovers: no tap, filter or ingress qdisc of husk's in NS
no_leftovers() {
  local taps filters qdiscs
  taps=$(ip -n "$NS" -o link show | grep hsktap || true)
  filters=$(tc -n "$NS" filter show dev eth0 ingress 2>&1 || true)
  qdiscs=$(tc -n "$NS" qdisc show dev eth0 | grep ingress || true)
  if [ -n "$taps$filters$qdiscs" ]; then
    echo "left in $NS: taps [$taps] filters [$filters] qdiscs [$qdiscs]" >&2
    return 1
  fi
}

@test "ping and a 10 MiB TCP transfer both ways between the container and the host end" {
  veth eth0 10.77.$T
  set_netns "$BUNDLE" "/run/netns/$NS"
  # one line: set_args splits arguments at newlines
  set_args "$BUNDLE" sh -c "ping -c 2 -W 10 10.77.$T.1 >/dev/null && echo ping-ok; \
dd if=/dev/urandom of=/tmp/out bs=1M count=10 2>/dev/null; echo sent \$(sha256sum /tmp/out); \
nc 10.77.$T.1 5001 < /tmp/out; \
mkfifo /tmp/hold; nc -l -p 5002 > /tmp/in < /tmp/hold & exec 3>/tmp/hold; wait \$!; exec 3>&-; \
echo got \$(sha256sum /tmp/in) \$(wc -c < /tmp/in)"
  dd if=/dev/urandom of="$BATS_TEST_TMPDIR/to-guest" bs=1M count=10 2>/dev/null
  ip netns exec "$PEER" python3 "$XFER" recv 5001 "$BATS_TEST_TMPDIR/from-guest" \
    >"$BATS_TEST_TMPDIR/recv.out" 2>&1 </dev/null &
  local recv_pid=$!
  husk create --bundle "$BUNDLE" n1 >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null
  husk start n1
  run ip netns exec "$PEER" busybox ping -c 2 -W 10 "10.77.$T.2"
  [ "$status" -eq 0 ]
  ip netns exec "$PEER" python3 "$XFER" send "10.77.$T.2" 5002 "$BATS_TEST_TMPDIR/to-guest" \
    >"$BATS_TEST_TMPDIR/send.out" 2>&1 </dev/null
  wait "$recv_pid"
  wait_status n1 stopped 180
  local out
  out=$(cat "$BATS_TEST_TMPDIR/out")
  echo "container: $out"
  echo "recv: $(cat "$BATS_TEST_TMPDIR/recv.out") send: $(cat "$BATS_TEST_TMPDIR/send.out")"
  [[ "$out" == *ping-ok* ]]
  # container -> host end
  local sent received
  sent=$(sed -n 's/^sent \([0-9a-f]*\) .*/\1/p' <<<"$out")
  received=$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/recv.out")
  [ -n "$sent" ]
  [ "$sent" = "$received" ]
  [ "$(cut -d' ' -f2 "$BATS_TEST_TMPDIR/recv.out")" = 10485760 ]
  # host end -> container
  local got
  got=$(sed -n 's/^got \([0-9a-f]*\) .* \([0-9]*\)$/\1 \2/p' <<<"$out")
  [ "$got" = "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/send.out") 10485760" ]
}

@test "addresses (IPv4 and IPv6), routes, MAC and MTU reach the guest" {
  veth eth0 10.77.$T 1400
  ip -n "$PEER" -6 addr add "fd77:$T::1/64" dev peth0 nodad
  ip -n "$NS" -6 addr add "fd77:$T::2/64" dev eth0 nodad
  ip -n "$NS" route add default via "10.77.$T.1"
  ip -n "$NS" route add 10.88.0.0/16 via "10.77.$T.1" metric 7
  ip -n "$NS" -6 route add fd99:$T::/48 via "fd77:$T::1"
  local mac
  mac=$(ip -n "$NS" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p')
  set_netns "$BUNDLE" "/run/netns/$NS"
  set_args "$BUNDLE" sh -c 'echo links $(ip -o link | wc -l); ip -o link show eth0; ip -o addr show dev eth0; ip route; ip -6 route; ping6 -c 2 -W 10 fd77:'"$T"'::1 >/dev/null && echo ping6-ok'
  run husk run --bundle "$BUNDLE" n2 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"links 2"* ]] # lo and eth0: the spare NICs stay parked
  [[ "$output" == *"mtu 1400"* ]]
  [[ "$output" == *"link/ether $mac"* ]]
  [[ "$output" == *"inet 10.77.$T.2/24"* ]]
  [[ "$output" == *"inet6 fd77:$T::2/64"* ]]
  [[ "$output" == *"default via 10.77.$T.1 dev eth0"* ]]
  [[ "$output" == *"10.88.0.0/16 via 10.77.$T.1 dev eth0"*"metric 7"* ]]
  [[ "$output" == *"fd99:$T::/48 via fd77:$T::1 dev eth0"* ]]
  [[ "$output" == *ping6-ok* ]]
}

@test "interfaces added between create and start (Docker 26+) appear in the guest" {
  # as Docker 26 does: nothing but lo at create
  set_netns "$BUNDLE" "/run/netns/$NS"
  set_args "$BUNDLE" sh -c "ip -o addr show; ping -c 2 -W 10 10.77.$T.1 >/dev/null && echo ping0-ok; ping -c 2 -W 10 10.78.$T.1 >/dev/null && echo ping1-ok"
  husk create --bundle "$BUNDLE" n3 >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null
  veth eth0 10.77.$T
  veth eth1 10.78.$T
  husk start n3
  wait_status n3 stopped 120
  local out
  out=$(cat "$BATS_TEST_TMPDIR/out")
  echo "$out"
  [[ "$out" == *"eth0"*"inet 10.77.$T.2/24"* ]]
  [[ "$out" == *"eth1"*"inet 10.78.$T.2/24"* ]]
  [[ "$out" == *ping0-ok* ]]
  [[ "$out" == *ping1-ok* ]]
}

@test "an interface added after create with no spare NIC left fails start clearly" {
  set_netns "$BUNDLE" "/run/netns/$NS"
  export HUSK_ALLOWED_ANNOTATIONS=io.husk.net.spare_nics
  jq '.annotations["io.husk.net.spare_nics"] = "0"' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" sleep 60
  husk create --bundle "$BUNDLE" n4 >/dev/null 2>&1 </dev/null
  veth eth0 10.77.$T
  run husk start n4
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"eth0 appeared"*"spare NIC"* ]]
  husk delete --force n4
  no_leftovers
}

@test "without a network namespace path the container has only lo" {
  set_args "$BUNDLE" sh -c 'ip -o link; ip -o addr'
  run husk run --bundle "$BUNDLE" n5 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"1: lo: <LOOPBACK,UP,LOWER_UP>"* ]]
  [ "$(grep -c ': <' <<<"$output")" -eq 1 ]
  # and without any network entry at all (runc: the host's network; husk: the VM's own, empty)
  jq '.linux.namespaces |= map(select(.type != "network"))' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk run --bundle "$BUNDLE" n5b </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c ': <' <<<"$output")" -eq 1 ]
}

@test "the host's network namespace is refused clearly, nothing left behind" {
  # the host's netns under a name, as `ip netns attach` makes one
  ip netns attach "husk-nh$$-$T" $$
  for path in /proc/self/ns/net "/run/netns/husk-nh$$-$T"; do
    set_netns "$BUNDLE" "$path"
    run husk create --bundle "$BUNDLE" n6 </dev/null
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"is the host's (--net=host)"* ]]
    [ ! -e "$HUSK_ROOT/n6" ]
  done
  ip netns del "husk-nh$$-$T" # only the name: the netns is the host's
  [ -z "$(ip -o link show | grep hsktap)" ]
  [ -z "$(leftover_processes)" ]
  set_netns "$BUNDLE" /etc/hostname
  run husk create --bundle "$BUNDLE" n6 </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"not a network namespace"* ]]
}

@test "a network namespace another husk container uses is refused; its monitor's (--net=container:) joins its VM" {
  veth eth0 10.77.$T
  set_netns "$BUNDLE" "/run/netns/$NS"
  set_args "$BUNDLE" sleep 120
  husk create --bundle "$BUNDLE" a7 >/dev/null 2>&1 </dev/null
  run husk create --bundle "$BUNDLE" b7 </dev/null
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *'used by husk container "a7"'* ]]
  [ ! -e "$HUSK_ROOT/b7" ]
  # --net=container:a7: the path of a7's process (husk's monitor), alone:
  # b7 is a member of a7's VM, on its NIC; no tap of its own
  local taps
  taps=$(ip -n "$NS" -o link show | grep -c hsktap)
  set_netns "$BUNDLE" "/proc/$(husk state a7 | jq -r .pid)/ns/net"
  set_args "$BUNDLE" sh -c "ping -c 1 -W 10 10.77.$T.1 >/dev/null && echo ping-ok; sleep 120"
  husk create --bundle "$BUNDLE" b7 >"$BATS_TEST_TMPDIR/b7.out" 2>&1 </dev/null
  [ "$(jq -r .sandbox "$HUSK_ROOT/b7/state.json")" = a7 ]
  [ "$(pgrep -f "^qemu-system.*$HUSK_ROOT/" | wc -l)" -eq 1 ]
  [ "$(ip -n "$NS" -o link show | grep -c hsktap)" -eq "$taps" ]
  # the member's monitor is in the pod's netns too
  [ "$(stat -L -c %d:%i "/proc/$(husk state b7 | jq -r .pid)/ns/net")" = "$(stat -L -c %d:%i "/run/netns/$NS")" ]
  husk start b7
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q ping-ok "$BATS_TEST_TMPDIR/b7.out" && break
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/b7.out"
  grep -q ping-ok "$BATS_TEST_TMPDIR/b7.out"
  husk delete --force b7
  husk delete --force a7
  [ ! -e "$HUSK_ROOT/b7" ]
  no_leftovers
}

# ns_id PATH: the namespace file's device and inode
ns_id() {
  stat -L -c %d:%i "$1"
}

@test "the monitor's pid is in the container's netns (nsenter -t works); hooks, sd_notify and QEMU are not" {
  veth eth0 10.77.$T
  set_netns "$BUNDLE" "/run/netns/$NS"
  set_args "$BUNDLE" sh -c 'probe notify READY=1; sleep 120'
  # a hook records its netns: the host's, as runc's hooks
  jq --arg f "$BATS_TEST_TMPDIR/hook-ns" \
    '.hooks.createRuntime = [{"path": "/bin/sh", "args": ["sh", "-c", "stat -L -c %d:%i /proc/self/ns/net > " + $f]}]' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  # an abstract NOTIFY_SOCKET is a name in the host's netns
  local sock=@husk-nt$$-$T nlog=$BATS_TEST_TMPDIR/notify.log
  python3 "$BATS_TEST_DIRNAME/notify_listen.py" "$sock" "$nlog" "$BATS_TEST_TMPDIR/listening" 300 \
    </dev/null >/dev/null 2>&1 3>&- &
  LISTENER=$!
  local i
  for i in $(seq 100); do [ -e "$BATS_TEST_TMPDIR/listening" ] && break; sleep 0.1; done
  env NOTIFY_SOCKET="$sock" "$HUSK" --root "$HUSK_ROOT" create --bundle "$BUNDLE" n9 \
    >"$BATS_TEST_TMPDIR/out" 2>&1 </dev/null
  local pid qemu
  pid=$(husk state n9 | jq -r .pid)
  [ "$(ns_id "/proc/$pid/ns/net")" = "$(ns_id "/run/netns/$NS")" ]
  run nsenter -t "$pid" -n ip -o link show
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *" eth0@"* ]]
  [[ "$output" == *" hsktap0:"* ]]
  [ "$(cat "$BATS_TEST_TMPDIR/hook-ns")" = "$(ns_id /proc/self/ns/net)" ]
  # QEMU has a netns of its own: neither the host's nor the container's
  qemu=$(jq -r .qemu.pid "$HUSK_ROOT/n9/state.json")
  [ "$(ns_id "/proc/$qemu/ns/net")" != "$(ns_id "/run/netns/$NS")" ]
  [ "$(ns_id "/proc/$qemu/ns/net")" != "$(ns_id /proc/self/ns/net)" ]
  husk start n9
  for i in $(seq 900); do grep -q READY=1 "$nlog" 2>/dev/null && break; sleep 0.1; done
  cat "$nlog"
  grep -q READY=1 "$nlog"
  run ip netns exec "$PEER" busybox ping -c 2 -W 10 "10.77.$T.2"
  [ "$status" -eq 0 ]
  # the confined monitor removes the filters in its own netns (no setns)
  husk kill n9 KILL
  wait_status n9 stopped 60
  no_leftovers
  husk delete n9
  # without a netns path the monitor stays in the host's
  set_netns "$BUNDLE" ""
  jq 'del(.hooks)' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  husk create --bundle "$BUNDLE" n9b >/dev/null 2>&1 </dev/null
  pid=$(husk state n9b | jq -r .pid)
  [ "$(ns_id "/proc/$pid/ns/net")" = "$(ns_id /proc/self/ns/net)" ]
}

@test "delete removes the taps and filters, also after kill -9 of the monitor" {
  veth eth0 10.77.$T
  set_netns "$BUNDLE" "/run/netns/$NS"
  set_args "$BUNDLE" sleep 120
  husk create --bundle "$BUNDLE" n8 >/dev/null 2>&1 </dev/null
  husk start n8
  [ -n "$(ip -n "$NS" -o link show | grep hsktap0)" ]
  [ -n "$(tc -n "$NS" filter show dev eth0 ingress)" ]
  husk delete --force n8
  no_leftovers
  # again, with the monitor killed hard
  husk create --bundle "$BUNDLE" n8 >/dev/null 2>&1 </dev/null
  [ -n "$(tc -n "$NS" filter show dev eth0 ingress)" ]
  kill -9 "$(husk state n8 | jq -r .pid)"
  husk delete --force n8
  no_leftovers
  [ -z "$(leftover_processes)" ]
}
