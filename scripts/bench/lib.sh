# Shared by the scripts in scripts/bench/ (sourced, not run).
# Every script measures, writes one JSON object to $BENCH_OUT/NAME.json and
# never asserts. Each uses its own husk --root and deletes every container
# in it on exit, pass or fail.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
husk=$top/build/husk
BENCH_OUT=${BENCH_OUT:-$top/build/bench}
BENCH_RUNS=${BENCH_RUNS:-}
mkdir -p "$BENCH_OUT"

# runs N: BENCH_RUNS when set, else the default given
runs() { echo "${BENCH_RUNS:-$1}"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# epoch ms of a husk log line's timestamp (2026-11-28T04:23:39.952Z)
iso_ms() { date -u -d "$1" +%s%3N; }

# stdin: one number a line. median / p95 (nearest rank) / mean
median() { sort -g | awk '{a[NR]=$1} END {if (!NR) print "null"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
p95() { sort -g | awk '{a[NR]=$1} END {if (!NR) {print "null"; exit} i=int(NR*0.95+0.999999); if (i<1) i=1; print a[i]}'; }
# its arguments, one a line (nothing for none)
nums() { if [ "$#" -gt 0 ]; then printf "%s\n" "$@"; fi; }
# a JSON array of the numbers on stdin
json_nums() { jq -s -c . ; }

# a husk state directory of our own, emptied on exit
bench_root() {
  HUSK_ROOT=$(mktemp -d /run/husk-bench.XXXXXX)
  note "state in $HUSK_ROOT"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
bench_cleanup() {
  local c
  [ -n "${HUSK_ROOT:-}" ] && [ -d "$HUSK_ROOT" ] || return 0
  for c in "$HUSK_ROOT"/*/; do
    [ -d "$c" ] || continue
    "$husk" --root "$HUSK_ROOT" delete --force "$(basename "$c")" >/dev/null 2>&1 || true
  done
  rm -rf "$HUSK_ROOT"
}
h() { "$husk" --root "$HUSK_ROOT" "$@"; }

# a pool server a part started (its pid in serve_pid, run in the background
# by that script): SIGTERM, which stops its idle VMs, then SIGKILL after 30 s
pool_stop() {
  [ -n "${serve_pid:-}" ] || return 0
  kill -TERM "$serve_pid" 2>/dev/null || true
  for _ in $(seq 300); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=""
}

# an idle container ID from BUNDLE (its process sleeps); prints nothing
start_idle() {
  h create --bundle "$2" "$1" </dev/null >/dev/null 2>&1 && h start "$1"
}

# the host processes of one container: monitor, qemu, virtiofsd (and its
# sandboxed child), the vsock backend
container_pids() {
  local state=$HUSK_ROOT/$1/state.json pid
  for pid in $(jq -r '.monitor.pid // 0, .qemu.pid // 0, .virtiofsd.pid // 0, .vsock_backend.pid // 0' "$state"); do
    [ "$pid" -gt 0 ] && echo "$pid"
  done
  pid=$(jq -r '.virtiofsd.pid // 0' "$state")
  [ "$pid" -gt 0 ] && pgrep -P "$pid" || true
}
# total PSS in KiB of the pids given
pss_of_pids() {
  local p files=()
  for p in "$@"; do [ -r "/proc/$p/smaps_rollup" ] && files+=("/proc/$p/smaps_rollup"); done
  [ "${#files[@]}" -gt 0 ] || { echo 0; return; }
  awk '/^Pss:/ {s += $2} END {print s + 0}' "${files[@]}" 2>/dev/null || echo 0
}
pss_one() { pss_of_pids $(container_pids "$1"); }
pss_by_role() {
  local state=$HUSK_ROOT/$1/state.json role pid p kb out="{}"
  for role in monitor qemu virtiofsd vsock_backend; do
    pid=$(jq -r ".$role.pid // 0" "$state")
    kb=0
    if [ "$pid" -gt 0 ]; then
      for p in $pid $( [ "$role" = virtiofsd ] && pgrep -P "$pid" || true); do
        kb=$((kb + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
      done
    fi
    out=$(jq -c --arg r "$role" --argjson kb "$kb" '.[$r] = $kb' <<<"$out")
  done
  echo "$out"
}
host_mem_available_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }

# the busybox bundles, made once per `make bench` by run.sh
bundle_true=$BENCH_OUT/bundle-true
bundle_idle=$BENCH_OUT/bundle-idle
note() { echo "bench: $*" >&2; }
