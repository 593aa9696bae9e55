#!/usr/bin/env bash
# Density and memory: idle containers started one by one, up to
# BENCH_DENSITY_MAX (50). For each: its start time (create + start) and the
# PSS of all husk host processes so far, and the host's MemAvailable. At 1
# and at 20 containers (BENCH_MEM_AT), the per-process PSS of the first one
# and the guest's own view (/proc/meminfo inside). All go at the end.
source "$(dirname "$0")/lib.sh"
max=${BENCH_DENSITY_MAX:-50}
mem_at=${BENCH_MEM_AT:-20}
floor_kb=$((2 * 1024 * 1024)) # stop before the host has under 2 GiB available
bench_root
sweep='[]' snaps='[]' stopped_by="" all_pids=()
note "density: up to $max idle containers"
for i in $(seq "$max"); do
  if [ "$(host_mem_available_kb)" -lt "$floor_kb" ]; then stopped_by="host MemAvailable under 2 GiB"; break; fi
  t0=$(now_ms)
  if ! start_idle "d$i" "$bundle_idle"; then stopped_by="container $i failed to start"; break; fi
  ms=$(($(now_ms) - t0))
  sleep 1 # let the guest settle into idle before reading its memory
  all_pids+=($(container_pids "d$i"))
  total=$(pss_of_pids "${all_pids[@]}")
  sweep=$(jq -c --argjson n "$i" --argjson ms "$ms" --argjson kb "$total" --argjson av "$(host_mem_available_kb)" \
    '. + [{n: $n, start_ms: $ms, pss_total_kb: $kb, pss_per_container_kb: ($kb / $n | floor), host_mem_available_kb: $av}]' <<<"$sweep")
  note "density: $i containers, start ${ms} ms, PSS total $((total / 1024)) MiB"
  if [ "$i" -eq 1 ] || [ "$i" -eq "$mem_at" ] || { [ "$i" -eq "$max" ] && [ "$max" -lt "$mem_at" ]; }; then
    meminfo=$(h exec d1 cat /proc/meminfo </dev/null 2>/dev/null |
      awk '/^(MemTotal|MemFree|MemAvailable|Cached|Shmem):/ {printf "%s\"%s_kb\": %s", sep, substr($1, 1, length($1)-1), $2; sep=", "}')
    snaps=$(jq -c --argjson n "$i" --argjson roles "$(pss_by_role d1)" --argjson g "{${meminfo}}" \
      --argjson kb "$total" '. + [{containers: $n, first_container_pss_kb: $roles, pss_per_container_kb: ($kb / $n | floor), guest_meminfo: $g}]' <<<"$snaps")
  fi
done
# what the idle containers cost in CPU: their host processes' CPU time over
# a few seconds, with nothing asked of them
idle_cpu=null
if [ "${#all_pids[@]}" -gt 0 ]; then
  ticks() { local p s=0; for p in "${all_pids[@]}"; do s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$s"; }
  c0=$(ticks) w0=$(now_ms)
  sleep 5
  c1=$(ticks) w1=$(now_ms)
  idle_cpu=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v ms=$((w1 - w0)) -v n="$(jq length <<<"$sweep")" \
    'BEGIN {printf "{\"containers\": %d, \"cpu_percent_total\": %.1f, \"cpu_percent_per_container\": %.2f}", n, 100 * d / hz / (ms / 1000), 100 * d / hz / (ms / 1000) / n}')
fi
jq -n --argjson idle_cpu "$idle_cpu" --argjson sweep "$sweep" --argjson snaps "$snaps" --argjson max "$max" --arg stopped "$stopped_by" \
  --argjson memtotal "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" '
  ($sweep[0].start_ms // 0) as $first
  | {max: $max, reached: ($sweep | length), stopped_by: (if $stopped == "" then null else $stopped end),
     host_mem_total_kb: $memtotal,
     first_slow_start: ([$sweep[] | select(.start_ms > 2 * $first) | .n] | first // null),
     first_low_memory: ([$sweep[] | select(.host_mem_available_kb < $memtotal / 10) | .n] | first // null),
     idle_cpu: $idle_cpu, sweep: $sweep, memory: $snaps}' >"$BENCH_OUT/density.json"
note "density: done"
