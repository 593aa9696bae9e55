#!/usr/bin/env bash
# `make bench`: runs each measurement of scripts/bench/ in turn, merges
# their JSON into bench/results.json and writes docs/performance.md and
# docs/performance.png. Measures, never asserts.
#   BENCH_RUNS=N          repetitions of each timed step (defaults per script)
#   BENCH_DENSITY_MAX=N   idle containers in the density sweep (default 50)
#   BENCH_ONLY="a b"      run only these of: coldstart exec fs density pool sandbox;
#                         the others keep their figures from the last
#                         bench/results.json, and the report says from when
#   BENCH_CONDITIONS=TXT  what the machine was doing, written into the report
source "$(dirname "$0")/lib.sh"
started=$(date +%s)
all="coldstart exec fs density pool sandbox"
only=${BENCH_ONLY:-$all}

# the bundles: busybox rootfs (scripts/make-bundle.sh); one runs /bin/true,
# one sleeps (idle), one carries the file system benchmark
note "making bundles in $BENCH_OUT"
rm -rf "$bundle_true" "$bundle_idle" "$BENCH_OUT/bundle-fs"
"$top/scripts/make-bundle.sh" "$bundle_true" /bin/true
"$top/scripts/make-bundle.sh" "$bundle_idle" /bin/sleep 1000000
"$top/scripts/make-bundle.sh" "$BENCH_OUT/bundle-fs" /bin/sleep 1000000
musl-gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror -o "$BENCH_OUT/fsbench" "$top/tests/bench/fsbench.c"
cp "$BENCH_OUT/fsbench" "$BENCH_OUT/bundle-fs/rootfs/bin/fsbench"

for m in $all; do
  case " $only " in *" $m "*) ;; *) continue ;; esac
  rm -f "$BENCH_OUT/$m.json"
  "$top/scripts/bench/$m.sh" || note "$m failed (exit $?): its figures are missing"
done

mkdir -p "$top/bench"
parts=() prev=null
for m in $all; do
  if [ -s "$BENCH_OUT/$m.json" ]; then parts+=(--slurpfile "$m" "$BENCH_OUT/$m.json"); else parts+=(--argjson "$m" '[]'); fi
done
if [ -n "${BENCH_ONLY:-}" ] && [ -s "$top/bench/results.json" ]; then prev=$(cat "$top/bench/results.json"); fi
kernel_release=$(cat "$(dirname "$(readlink -f "$top/build/vmlinux")")/release" 2>/dev/null || echo unknown)
jq -n "${parts[@]}" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson cpus "$(nproc)" \
  --arg accel "$("$husk" config | sed -n 's/^# accel resolves to \([a-z]*\).*/\1/p')" \
  --arg kernel "$kernel_release" --arg commit "$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg cond "${BENCH_CONDITIONS:-}" \
  --argjson secs "$(($(date +%s) - started))" --arg runs "${BENCH_RUNS:-default}" \
  --arg qemu "$(qemu-system-x86_64 --version | head -1)" --arg runc "$(runc --version | head -1)" \
  --argjson prev "$prev" --arg only "${BENCH_ONLY:-}" '
  # with BENCH_ONLY, a part not run keeps the last run'"'"'s figures
  def part($new; $name): $new[0] // (if $only != "" then $prev[$name] // null else null end);
  {date: $date, cpus: $cpus, accel: $accel, kernel: $kernel, commit: $commit, qemu: $qemu, runc: $runc,
   loadavg_at_end: $load, conditions: $cond, bench_runs: $runs, duration_s: $secs,
   coldstart: part($coldstart; "coldstart"), exec: part($exec; "exec"), fs: part($fs; "fs"),
   density: part($density; "density"), pool: part($pool; "pool"), sandbox: part($sandbox; "sandbox")}
  | if $only != "" and $prev != null then
      .only = $only
      | .kept = [["coldstart", "exec", "fs", "density", "pool", "sandbox"][] as $m
                 | select(($only | split(" ") | any(. == $m) | not) and $prev[$m] != null)
                 | ([$prev.kept // [] | .[] | select(.part == $m)][0] // {part: $m, date: $prev.date, commit: $prev.commit})]
    else . end' \
  >"$top/bench/results.json"
"$top/scripts/bench/report.sh" "$top/bench/results.json" "$top/docs/performance.md" "$top/docs/performance.png"
note "done in $(($(date +%s) - started)) s: bench/results.json, docs/performance.md, docs/performance.png"
