#!/usr/bin/env bash
# TCP throughput, 10 s each way: a husk container <-> the host end of its
# veth, next to the same transfer between two plain network namespaces.
# Both use busybox nc on the container side and tests/e2e/net_xfer.py on the
# host end. Needs build/ (make) and root. Usage: net-throughput.sh [SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
xfer=$top/tests/e2e/net_xfer.py
tmp=$(mktemp -d)
root=$(mktemp -d /run/husk-bench.XXXXXX)
C=husk-bc$$ H=husk-bh$$
cleanup() {
  "$top/build/husk" --root "$root" delete --force tp >/dev/null 2>&1 || true
  ip netns pids "$H" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns pids "$C" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  ip netns del "$H" 2>/dev/null || true
  rm -rf "$tmp" "$root"
}
trap cleanup EXIT
ip netns add "$C"
ip netns add "$H"
ip link add hend netns "$H" type veth peer name eth0 netns "$C"
ip -n "$H" addr add 10.99.0.1/24 dev hend
ip -n "$C" addr add 10.99.0.2/24 dev eth0
ip -n "$H" link set hend up
ip -n "$C" link set eth0 up
ip -n "$C" link set lo up

mbit() { awk '{ printf "%.0f Mbit/s (%.0f MB in %.1f s)", $2 * 8 / $3 / 1e6, $2 / 1e6, $3 }' "$1"; }
# listening NS PORT: wait until something listens on PORT in NS
listening() {
  local i
  for ((i = 0; i < 300; i++)); do
    [ -n "$(ip netns exec "$1" ss -Htln "sport = :$2")" ] && return 0
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2
  return 1
}

# plain netns: C plays the container
ip netns exec "$H" python3 "$xfer" sink 5001 >"$tmp/a" &
listening "$H" 5001
ip netns exec "$C" timeout "$secs" busybox nc 10.99.0.1 5001 </dev/zero || true
wait
echo "plain netns, container -> host end: $(mbit "$tmp/a")"
mkfifo "$tmp/hold"
ip netns exec "$C" busybox nc -l -p 5002 >/dev/null <"$tmp/hold" &
exec 3>"$tmp/hold"
ip netns exec "$H" python3 "$xfer" blast 10.99.0.2 5002 "$secs" >"$tmp/b"
exec 3>&-
wait
echo "plain netns, host end -> container: $(mbit "$tmp/b")"

# the same with a husk container in C
"$top/scripts/make-bundle.sh" "$tmp/bundle" sh -c "timeout $secs nc 10.99.0.1 5001 < /dev/zero; mkfifo /tmp/h; nc -l -p 5002 > /dev/null < /tmp/h & exec 3>/tmp/h; wait \$!" >/dev/null
jq --arg p "/run/netns/$C" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' \
  "$tmp/bundle/config.json" >"$tmp/c.json"
mv "$tmp/c.json" "$tmp/bundle/config.json"
ip netns exec "$H" python3 "$xfer" sink 5001 >"$tmp/c" &
sink_pid=$!
listening "$H" 5001
"$top/build/husk" --root "$root" run --bundle "$tmp/bundle" tp </dev/null >/dev/null 2>&1 &
run_pid=$!
wait $sink_pid
ip netns exec "$H" python3 "$xfer" blast 10.99.0.2 5002 "$secs" >"$tmp/d"
wait $run_pid || true
echo "husk container, container -> host end: $(mbit "$tmp/c")"
echo "husk container, host end -> container: $(mbit "$tmp/d")"
