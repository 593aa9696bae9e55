#!/usr/bin/env bash
# husk sandbox run (docs/sandbox.md): `husk sandbox run --rootfs R --
# /bin/true` cold (no pool), then warm from `husk pool serve --size 1`
# whose VMs have the sandbox's shape ([vm] memory_mib/vcpus = [sandbox]
# memory_mib/cpus, 512 MiB and 1 vCPU by default; docs/design-sandbox.md
# section 0), a ready VM before each run. Each run is timed from the
# command's start to its exit (the VM torn down). A warm run whose --log
# does not say it adopted a pool VM booted cold and is left out of the warm
# figure (counted).
source "$(dirname "$0")/lib.sh"
n=$(runs 10)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bench_root
rootfs=$bundle_true/rootfs
serve_pid=""
trap 'pool_stop; bench_cleanup' EXIT
# the sandbox's size as husk resolves it (config file, environment)
sandbox_key() { "$husk" config | awk -v k="$1" '/^\[/ {s = $1} s == "[sandbox]" && $1 == k {print $3}'; }
mem=$(sandbox_key memory_mib) cpus=$(sandbox_key cpus)

# sandbox_true LOG: times one job; prints ms, or nothing if it failed
sandbox_true() {
  local t0 ms
  : >"$1"
  t0=$(now_ms)
  if "$husk" --root "$HUSK_ROOT" --log "$1" sandbox run --rootfs "$rootfs" -- /bin/true \
    </dev/null >/dev/null 2>"$BENCH_OUT/sandbox-run.err"; then
    ms=$(($(now_ms) - t0))
    echo "$ms"
  else
    note "sandbox: run failed: $(head -c 300 "$BENCH_OUT/sandbox-run.err")"
  fi
}
pool_ready() {
  for _ in $(seq 1200); do
    [ "$(h pool status 2>/dev/null | jq -r '.ready // 0' 2>/dev/null || echo 0)" -ge 1 ] && return 0
    kill -0 "$serve_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

note "sandbox: cold sandbox run /bin/true x$n (${mem} MiB, $cpus vCPU)"
cold=()
for i in $(seq "$n"); do
  ms=$(sandbox_true "$BENCH_OUT/sandbox-cold.log")
  [ -n "$ms" ] && cold+=("$ms")
done

note "sandbox: husk pool serve --size 1 with the sandbox's shape"
# not through h(): $! must be husk's own pid
HUSK_MEMORY_MIB=$mem HUSK_VCPUS=$cpus "$husk" --root "$HUSK_ROOT" pool serve --size 1 \
  </dev/null >/dev/null 2>"$BENCH_OUT/sandbox-serve.log" &
serve_pid=$!
warm=() cold_anyway=0 why=null
for i in $(seq "$n"); do
  pool_ready || { why='"the pool got no VM ready"'; note "sandbox: no ready VM before warm run $i"; break; }
  ms=$(sandbox_true "$BENCH_OUT/sandbox-warm.log")
  [ -n "$ms" ] || continue
  if grep -q 'adopted pool VM' "$BENCH_OUT/sandbox-warm.log"; then warm+=("$ms"); else cold_anyway=$((cold_anyway + 1)); fi
done
pool_stop
if [ "${#warm[@]}" -eq 0 ] && [ "$cold_anyway" -gt 0 ]; then why='"no run took a pool VM"'; fi

jq -n --argjson cold "$(nums "${cold[@]}" | json_nums)" --argjson warm "$(nums "${warm[@]}" | json_nums)" \
  --argjson cm "$(nums "${cold[@]}" | median)" --argjson cp "$(nums "${cold[@]}" | p95)" \
  --argjson wm "$(nums "${warm[@]}" | median)" --argjson wp "$(nums "${warm[@]}" | p95)" \
  --argjson anyway "$cold_anyway" --argjson why "$why" --argjson mem "$mem" --argjson cpus "$cpus" \
  --arg load "$load_start -> $(cut -d' ' -f1-3 /proc/loadavg)" --arg cond "${BENCH_CONDITIONS:-}" '
  {runs: ($cold | length), memory_mib: $mem, vcpus: $cpus, cold_ms: {median: $cm, p95: $cp, all: $cold},
   warm_ms: (if ($warm | length) == 0 then null else {median: $wm, p95: $wp, all: $warm} end),
   warm_runs_cold_anyway: $anyway, warm_missing_why: $why, loadavg: $load, conditions: $cond}' >"$BENCH_OUT/sandbox.json"
note "sandbox: done"
