#!/usr/bin/env bats
# make bench's own parts (scripts/bench/): the report's verdicts, the file
# system benchmark, and that an interrupted measurement leaves nothing
# running. These check behaviour, never timings.
# Run: bats --tap tests/bench/bench.bats </dev/null

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# a results.json where some figures meet their targets and some do not
fixture() {
  jq -n '{date: "2026-01-01T00:00:00Z", cpus: 2, accel: "tcg", kernel: "k", commit: "c", qemu: "q", runc: "r",
    loadavg_at_end: "1 1 1", conditions: "fixture", bench_runs: "3", duration_s: 1,
    coldstart: {runs: 3, husk_run_ms: {median: 1050, p95: 1200, all: [1000, 1050, 1200]},
                floor_ms: {median: 1000, p95: 1100, all: [900, 1000, 1100]},
                runc_run_ms: {median: 100, p95: 110, all: [90, 100, 110]},
                breakdown_ms: {cli_to_virtiofsd_up: 40, virtiofsd_up_to_qemu_spawned: 1, runs: 2}},
    exec: {exec_ms: {median: 15, p95: 30, all: [15]}, runc_exec_ms: {median: 50, all: [50]},
           stdio_mib_per_s: {median: 100, all: [100], mib: 256}, host_pipe_mib_per_s: {median: 1000, all: [1000]}},
    fs: {mib: 256, random_reads: 10, files: 10,
         host: {seq_write: {mib_per_s: 100}, seq_read: {mib_per_s: 100}, rand_read: {iops: 1000},
                files: {create_per_s: 10, stat_per_s: 10, unlink_per_s: 10}},
         husk: {seq_write: {mib_per_s: 60}, seq_read: {mib_per_s: 40}, rand_read: {iops: 500},
                files: {create_per_s: 5, stat_per_s: 5, unlink_per_s: 5}}},
    density: {max: 50, reached: 50, stopped_by: null, first_slow_start: 7, first_low_memory: null,
              idle_cpu: {containers: 50, cpu_percent_total: 100, cpu_percent_per_container: 2},
              sweep: [{n: 1, start_ms: 1000, pss_total_kb: 30720}, {n: 2, start_ms: 1100, pss_total_kb: 61440}],
              memory: [{containers: 1, pss_per_container_kb: 30720,
                        first_container_pss_kb: {monitor: 1024, qemu: 28672, virtiofsd: 512, vsock_backend: 512},
                        guest_meminfo: {MemTotal_kb: 246272, MemAvailable_kb: 229376}}]}}' >"$1"
}

# the table rows that mention $1
row() { grep '^| ' "$BATS_TEST_TMPDIR/p.md" | grep -F -- "$1"; }

@test "the report gives each figure its baseline, ratio and verdict" {
  fixture "$BATS_TEST_TMPDIR/r.json"
  run "$TOP/scripts/bench/report.sh" "$BATS_TEST_TMPDIR/r.json" "$BATS_TEST_TMPDIR/p.md" "$BATS_TEST_TMPDIR/p.png"
  [ "$status" -eq 0 ]
  row "cold start \`husk run BUNDLE /bin/true\`, median" | grep -F '| 1050 | 1000 | 1.05 | ≤ 1.10 × floor | yes |'
  row "the floor itself" | grep -F '| no |'
  row "idle PSS per container, 1 running" | grep -F '| 30 |' | grep -F '| yes |'
  row "guest view, 1 running" | grep -F '240.5 / 224'
  row "exec round trip" | grep -F '| 15 | 50 | 0.3 | ≤ 20 ms | yes |'
  row "stdio: 256 MiB" | grep -F '| no |'
  row "sequential read" | grep -F '| 0.4 |' | grep -F '| no |'
  row "sequential write" | grep -F '| 0.6 |' | grep -F '| yes |'
  row "idle containers running at once" | grep -F '| 50 |' | grep -F '| yes |'
  row "first container whose start took" | grep -F '| 7 |'
  row "cli to virtiofsd up" | grep -F '| 40 |'
  row "host CPU used by 50 idle containers" | grep -F '| 2 |'
  grep -F 'Conditions: fixture' "$BATS_TEST_TMPDIR/p.md"
  # a PNG, when gnuplot is there (scripts/install-deps.sh installs it)
  if command -v gnuplot >/dev/null; then
    [ "$(head -c 4 "$BATS_TEST_TMPDIR/p.png" | tail -c 3)" = PNG ]
  fi
}

@test "a part that did not run leaves its rows out instead of failing the report" {
  fixture "$BATS_TEST_TMPDIR/r.json"
  jq '.fs = null | .density = null' "$BATS_TEST_TMPDIR/r.json" >"$BATS_TEST_TMPDIR/r2.json"
  run "$TOP/scripts/bench/report.sh" "$BATS_TEST_TMPDIR/r2.json" "$BATS_TEST_TMPDIR/p.md" "$BATS_TEST_TMPDIR/p.png"
  [ "$status" -eq 0 ]
  [ -n "$(row "exec round trip")" ]
  [ -z "$(row "virtio-fs" || true)" ]
  [ -z "$(row "density" || true)" ]
  [ -z "$(row "idle PSS" || true)" ]
}

@test "fsbench measures each mode and rejects bad arguments" {
  b=$BATS_TEST_TMPDIR/fsbench
  musl-gcc -static -O2 -std=gnu11 -Wall -Wextra -Werror -o "$b" "$TOP/tests/bench/fsbench.c"
  d=$BATS_TEST_TMPDIR/fs
  mkdir -p "$d/files"
  run "$b" seqw "$d/f" 4
  [ "$status" -eq 0 ]
  [ "$(jq .mib <<<"$output")" = 4 ]
  [ "$(stat -c %s "$d/f")" = $((4 * 1024 * 1024)) ]
  run "$b" seqr "$d/f"
  [ "$status" -eq 0 ]
  jq -e '.mib == 4 and .mib_per_s > 0' <<<"$output"
  run "$b" randr "$d/f" 100
  [ "$status" -eq 0 ]
  jq -e '.reads == 100 and .iops > 0' <<<"$output"
  run "$b" files "$d/files" 50
  [ "$status" -eq 0 ]
  jq -e '.files == 50 and .create_per_s > 0 and .stat_per_s > 0 and .unlink_per_s > 0' <<<"$output"
  [ -z "$(ls -A "$d/files")" ]
  run "$b" seqw "$d/f" 0
  [ "$status" -eq 2 ]
  run "$b" randr "$d/missing" 10
  [ "$status" -eq 1 ]
  [[ "$output" == *"fsbench: open"* ]]
  run "$b" bogus
  [ "$status" -eq 2 ]
}

@test "an interrupted density sweep deletes every container it started" {
  out=$BATS_TEST_TMPDIR/out
  mkdir -p "$out"
  "$TOP/scripts/make-bundle.sh" "$out/bundle-idle" /bin/sleep 1000000
  BENCH_OUT=$out BENCH_DENSITY_MAX=3 "$TOP/scripts/bench/density.sh" </dev/null >/dev/null 2>"$out/err" &
  pid=$!
  for _ in $(seq 1200); do grep -q 'density: 1 containers' "$out/err" && break; sleep 0.1; done
  grep -q 'density: 1 containers' "$out/err"
  root=$(sed -n 's/^bench: state in //p' "$out/err")
  [ -n "$root" ]
  [ -n "$(pgrep -f -- "$root" || true)" ]
  kill -TERM "$pid"
  wait "$pid" || true
  [ ! -e "$root" ]
  for _ in $(seq 100); do [ -z "$(pgrep -f -- "$root" || true)" ] && break; sleep 0.1; done
  [ -z "$(pgrep -f -- "$root" || true)" ]
}
