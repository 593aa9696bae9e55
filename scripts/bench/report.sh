#!/usr/bin/env bash
# results.json → the Markdown table (each figure, its baseline from the same
# run, the ratio, the target, met or not) and the PNG plot.
# Usage: report.sh RESULTS.json OUT.md OUT.png
set -euo pipefail
res=${1:?usage: report.sh RESULTS.json OUT.md OUT.png} md=${2:?} png=${3:?}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

# one row per figure: measure, husk, baseline, ratio, target, met
rows=$(jq -r '
  def r1: if . == null then null else (. * 10 | round / 10) end;
  def r2: if . == null then null else (. * 100 | round / 100) end;
  def s: if . == null then "—" else tostring end;
  def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else ($a / $b | . * 1000 | round / 1000) end;
  def met($ok): if $ok == null then "—" elif $ok then "yes" else "no" end;
  def mib: if . == null then null else (. / 1024 | r1) end;
  def row($m; $v; $b; $ratio; $t; $ok): [$m, ($v | s), ($b | s), ($ratio | s), $t, met($ok)] | join(" | ") | "| \(.) |";
  .coldstart as $c | .exec as $e | .fs as $f | .density as $d | .pool as $p | .sandbox as $s |
  (if $c then
    row("cold start `husk run BUNDLE /bin/true`, median (ms); baseline: the floor, bare QEMU boot, init reboots at once";
        $c.husk_run_ms.median; $c.floor_ms.median; ratio($c.husk_run_ms.median; $c.floor_ms.median);
        "≤ 1.10 × floor"; (ratio($c.husk_run_ms.median; $c.floor_ms.median) // 99) <= 1.10),
    row("cold start, p95 (ms); baseline: floor p95"; $c.husk_run_ms.p95; $c.floor_ms.p95;
        ratio($c.husk_run_ms.p95; $c.floor_ms.p95); "—"; null),
    row("the floor itself, median (ms)"; $c.floor_ms.median; null; null; "< 1000 ms under TCG";
        $c.floor_ms.median < 1000),
    row("cold start against `runc run` of the same bundle, median (ms)"; $c.husk_run_ms.median; $c.runc_run_ms.median;
        ratio($c.husk_run_ms.median; $c.runc_run_ms.median); "—"; null)
   else empty end),
  (if $d then ($d.memory[] |
    row("idle PSS per container, \(.containers) running (MiB): monitor \(.first_container_pss_kb.monitor | mib), qemu \(.first_container_pss_kb.qemu | mib), virtiofsd \(.first_container_pss_kb.virtiofsd | mib), vsock \(.first_container_pss_kb.vsock_backend | mib)";
        (.pss_per_container_kb | mib); null; null; "≤ 40 MiB"; (.pss_per_container_kb / 1024) <= 40),
    row("guest view, \(.containers) running: MemTotal / MemAvailable (MiB)";
        "\(.guest_meminfo.MemTotal_kb | mib) / \(.guest_meminfo.MemAvailable_kb | mib)"; null; null; "—"; null))
   else empty end),
  (if $p then
    (if $p.warm_run_ms then
      row("warm start `husk run --keep` /bin/true from a pool of 1, median (ms); baseline: cold, same script"; $p.warm_run_ms.median;
          $p.cold_run_ms.median; ratio($p.warm_run_ms.median; $p.cold_run_ms.median); "≤ 0.50 × cold";
          (ratio($p.warm_run_ms.median; $p.cold_run_ms.median) // 99) <= 0.5),
      row("warm start, p95 (ms); baseline: cold p95"; $p.warm_run_ms.p95; $p.cold_run_ms.p95;
          ratio($p.warm_run_ms.p95; $p.cold_run_ms.p95); "—"; null),
      (if $c and $c.floor_ms then
        row("warm start against the bare-boot floor (cold start part), median (ms)"; $p.warm_run_ms.median;
            $c.floor_ms.median; ratio($p.warm_run_ms.median; $c.floor_ms.median); "—"; null)
       else empty end)
     else
      row("warm start from a pool of 1: not measured (\($p.warm_missing_why // "no warm run")); cold, same script, median (ms)";
          "—"; $p.cold_run_ms.median; null; "≤ 0.50 × cold"; null)
     end),
    (if $p.idle_pool_vm_pss_kb and $p.idle_container_pss_kb then
      row("idle pool VM PSS (MiB): monitor \($p.idle_pool_vm_pss_kb.monitor | mib), qemu \($p.idle_pool_vm_pss_kb.qemu | mib), virtiofsd \($p.idle_pool_vm_pss_kb.virtiofsd | mib), vsock \($p.idle_pool_vm_pss_kb.vsock_backend | mib); baseline: one idle container alone (\($p.idle_container_pss_kb.qemu | mib) in qemu); the server itself \(($p.pool_server_pss_kb // null) | mib)";
          ($p.idle_pool_vm_pss_kb.total | mib); ($p.idle_container_pss_kb.total | mib);
          ratio($p.idle_pool_vm_pss_kb.total; $p.idle_container_pss_kb.total); "≤ an idle container";
          $p.idle_pool_vm_pss_kb.total <= $p.idle_container_pss_kb.total)
     else empty end),
    (if $p.idle_pool_vm_pss_kb and $p.idle_container_one_nic_pss_kb then
      row("idle pool VM PSS (MiB, 3 NICs) against an idle container with one interface (its VM has 3 NICs too: the interface and 2 spares; \($p.idle_container_one_nic_pss_kb.qemu | mib) in qemu), like for like";
          ($p.idle_pool_vm_pss_kb.total | mib); ($p.idle_container_one_nic_pss_kb.total | mib);
          ratio($p.idle_pool_vm_pss_kb.total; $p.idle_container_one_nic_pss_kb.total); "≤ an idle container";
          $p.idle_pool_vm_pss_kb.total <= $p.idle_container_one_nic_pss_kb.total)
     else empty end),
    (if $p.serve_to_first_ready_ms then
      row("pool: `husk pool serve` to its first VM ready (ms)"; $p.serve_to_first_ready_ms; null; null; "—"; null)
     else empty end)
   else empty end),
  (if $s then
    row("`husk sandbox run --rootfs R -- /bin/true` cold (\($s.memory_mib) MiB, \($s.vcpus) vCPU, VM boot and teardown included), median (ms)" + (if $s.loadavg then "; load average \($s.loadavg)" else "" end) + (if ($s.conditions // "") != "" then "; \($s.conditions)" else "" end);
        $s.cold_ms.median; null; null; "—"; null),
    row("sandbox run cold, p95 (ms)"; $s.cold_ms.p95; null; null; "—"; null),
    (if $s.warm_ms then
      row("`husk sandbox run` /bin/true from a pool of 1 of the sandbox'"'"'s shape, median (ms); baseline: sandbox run cold"; $s.warm_ms.median;
          $s.cold_ms.median; ratio($s.warm_ms.median; $s.cold_ms.median); "≤ 0.50 × cold";
          (ratio($s.warm_ms.median; $s.cold_ms.median) // 99) <= 0.5),
      row("sandbox run from a pool of 1, p95 (ms)"; $s.warm_ms.p95; $s.cold_ms.p95; ratio($s.warm_ms.p95; $s.cold_ms.p95); "—"; null)
     else
      row("sandbox run from a pool of 1: not measured (\($s.warm_missing_why // "no warm run"))"; "—"; $s.cold_ms.median; null; "≤ 0.50 × cold"; null)
     end)
   else empty end),
  (if $e then
    row("exec round trip `husk exec ID /bin/true`, median (ms); baseline: `runc exec`"; $e.exec_ms.median;
        $e.runc_exec_ms.median; ratio($e.exec_ms.median; $e.runc_exec_ms.median); "≤ 20 ms"; $e.exec_ms.median <= 20),
    row("stdio: \($e.stdio_mib_per_s.mib) MiB to stdout (MiB/s); baseline: the same dd piped on the host";
        $e.stdio_mib_per_s.median; $e.host_pipe_mib_per_s.median;
        ratio($e.stdio_mib_per_s.median; $e.host_pipe_mib_per_s.median); "≥ 200 MiB/s"; $e.stdio_mib_per_s.median >= 200)
   else empty end),
  (if $f then
    row("virtio-fs sequential read, 1 MiB blocks (MiB/s); baseline: host"; $f.husk.seq_read.mib_per_s;
        $f.host.seq_read.mib_per_s; ratio($f.husk.seq_read.mib_per_s; $f.host.seq_read.mib_per_s); "≥ 50 % of host";
        ratio($f.husk.seq_read.mib_per_s; $f.host.seq_read.mib_per_s) >= 0.5),
    row("virtio-fs sequential write + fsync, 1 MiB blocks (MiB/s); baseline: host"; $f.husk.seq_write.mib_per_s;
        $f.host.seq_write.mib_per_s; ratio($f.husk.seq_write.mib_per_s; $f.host.seq_write.mib_per_s); "≥ 50 % of host";
        ratio($f.husk.seq_write.mib_per_s; $f.host.seq_write.mib_per_s) >= 0.5),
    row("virtio-fs 4 KiB random reads (IOPS); baseline: host"; ($f.husk.rand_read.iops | r1); ($f.host.rand_read.iops | r1);
        ratio($f.husk.rand_read.iops; $f.host.rand_read.iops); "—"; null),
    (["create", "stat", "unlink"][] as $op |
     row("virtio-fs \($op) of \($f.files) small files (per s); baseline: host"; ($f.husk.files["\($op)_per_s"] | r1);
         ($f.host.files["\($op)_per_s"] | r1); ratio($f.husk.files["\($op)_per_s"]; $f.host.files["\($op)_per_s"]); "—"; null))
   else empty end),
  (if $d then
    row("density: idle containers running at once (of \($d.max) tried)"; $d.reached; null; null; "50";
        $d.reached >= 50 and $d.stopped_by == null),
    row("density: first container whose start took > 2 × the first one’s (\($d.sweep[0].start_ms) ms)";
        ($d.first_slow_start // "none"); null; null; "—"; null),
    row("density: first container with host MemAvailable < 10 %"; ($d.first_low_memory // "none"); null; null; "—"; null),
    (if $d.idle_cpu then row("density: host CPU used by \($d.idle_cpu.containers) idle containers (% of one CPU, per container)";
        $d.idle_cpu.cpu_percent_per_container; null; null; "—"; null) else empty end)
   else empty end)' "$res")

breakdown=$(jq -r '.coldstart.breakdown_ms // empty | to_entries[] | select(.key != "runs") | "| \(.key | gsub("_"; " ")) | \(.value) |"' "$res")
warm_breakdown=$(jq -r '.pool.warm_breakdown_ms // empty | to_entries[] | select(.key != "runs") | "| \(.key | gsub("_"; " ")) | \(.value) |"' "$res")

{
  echo "# Performance"
  echo
  echo "Written by \`make bench\` (scripts/bench/run.sh); the raw figures are in"
  echo "[bench/results.json](../bench/results.json). Each baseline is measured in the same run on the"
  echo "same machine; ratios are husk ÷ baseline. \`make bench\` measures and never asserts."
  echo
  jq -r '"Measured \(.date)" + (if (.kept // []) | length > 0 then " (this run: \(.only); kept from earlier runs: \([.kept | group_by([.date, .commit])[] | "\(map(.part) | join(", ")) of \(.[0].date), husk \(.[0].commit)"] | join("; ")))" else "" end) + " on \(.cpus) CPUs, accel **\(.accel)**, kernel \(.kernel), husk \(.commit), \(.qemu), \(.runc); BENCH_RUNS \(.bench_runs); load average at the end \(.loadavg_at_end); the run took \(.duration_s) s." + (if .conditions != "" then "\n\nConditions: \(.conditions)" else "" end)' "$res"
  echo
  echo "| figure | husk | baseline | ratio | target | met |"
  echo "|---|---|---|---|---|---|"
  echo "$rows"
  if [ -n "$breakdown" ]; then
    echo
    jq -r '"## Where the cold start goes (median of \(.coldstart.breakdown_ms.runs) detached runs, ms)"' "$res"
    echo
    echo "Marks: the monitor's \`--debug\` log (wall clock: virtiofsd up, qemu spawned, created, process"
    echo "exited, stopped) and husk-init's console lines (guest clock since the kernel's time 0: ready,"
    echo "container created). \"qemu spawned to kernel start\" is QEMU's own start plus the early kernel"
    echo "before its clock runs; \"pid1 ready to container created\" includes the host's vsock connect and"
    echo "the HELLO/CREATE round trips. Under TCG the guest finds no usable TSC and no HPET/PM timer on"
    echo "microvm, so its clock is jiffies: guest-side marks (and fsbench's in-guest timings) have 10 ms"
    echo "steps, and a guest clock that falls behind on a loaded host shifts time into the QEMU step."
    echo
    echo "| step | ms |"
    echo "|---|---|"
    echo "$breakdown"
  fi
  if [ -n "$warm_breakdown" ]; then
    echo
    jq -r '"## Where the warm start goes (median of \(.pool.warm_breakdown_ms.runs) warm runs from a pool of 1, ms)"' "$res"
    echo
    echo "Marks (wall clock): the pool server's \`VM n taken\` line (after the VM's monitor acknowledged),"
    echo "the container monitor's \`adopted pool VM\` (ADOPT answered: the rootfs is in the VM's slot, the"
    echo "monitor forked, its cgroups made and the VM's processes moved in), \`created in pool VM\` (the"
    echo "guest's CREATE answered) and \`stopped with status\` (started, /bin/true ran and exited, the"
    echo "session closed); the last step is \`husk run\` returning. The pool boots the replacement VM"
    echo "from the moment of the take, so under TCG on 2 CPUs every warm run shares the machine with"
    echo "a booting QEMU. The host's own part is small: \`strace -f -tt\` of a warm run showed the"
    echo "adopting monitor's seccomp filter, vsock connect and HELLO within about 30 ms of ADOPT;"
    echo "the rest is the guest answering CREATE (mounting the share, making the container's"
    echo "namespaces and starting its init) and then running /bin/true from the rootfs over virtio-fs."
    echo
    echo "| step | ms |"
    echo "|---|---|"
    echo "$warm_breakdown"
  fi
  echo
  echo "![cold start and density](performance.png)"
  echo
  echo "## How each is measured"
  echo
  echo "- **cold start**: wall time of \`husk run --bundle B ID\` with /bin/true in a busybox bundle"
  echo "  (scripts/make-bundle.sh). The floor boots the same kernel in the same QEMU machine (microvm,"
  echo "  same memory, memfd) with tests/bench/reboot-init.c as init, no devices. runc runs the same bundle."
  echo "- **memory**: PSS from /proc/PID/smaps_rollup of the monitor, QEMU, virtiofsd (and its sandboxed"
  echo "  child) and the vsock backend, for idle containers (/bin/sleep); per container = total ÷ count."
  echo "  The guest view is \`husk exec ID cat /proc/meminfo\`."
  echo "- **exec**: wall time of \`husk exec ID /bin/true\` into an idle container; stdio is the wall time of"
  echo "  \`husk exec ID dd if=/dev/zero bs=1M count=256\` with stdout to /dev/null (exec start-up included)."
  echo "- **virtio-fs**: tests/bench/fsbench.c (static), the same binary in the container and on the host, in"
  echo "  the same directory on the host disk; it times itself (in the guest, with the guest's clock). The"
  echo "  files the guest reads were written by the host, so the guest's cache is cold while the host reads"
  echo "  from its page cache: the read ratios are what crossing virtio-fs costs."
  echo "- **pool**: \`husk pool serve --size 1\` on the bench's root; each warm run waits until the pool"
  echo "  has a ready VM, then times \`husk run --keep\` (the delete after it is not timed); a run whose"
  echo "  state names no pool VM (\`vm_dir\`) booted cold and is left out. The cold runs are the same"
  echo "  command before the pool starts. The idle pool VM's PSS is every process below the server (its"
  echo "  monitor, QEMU, virtiofsd and child, the vsock back-end), after the VM is ready and 1 s idle; the"
  echo "  baseline is one idle container, measured alone, by the same roles."
  echo "- **sandbox**: wall time of \`husk sandbox run --rootfs R -- /bin/true\` (R: the busybox rootfs),"
  echo "  from the command's start to its exit, the VM torn down; cold with no pool, then warm with"
  echo "  \`husk pool serve --size 1\` whose VMs have the sandbox's shape (\`[vm] memory_mib\`/\`vcpus\` set to"
  echo "  \`[sandbox] memory_mib\`/\`cpus\`), a ready VM before each run; a warm run whose \`--log\` does not"
  echo "  say \"adopted pool VM\" booted cold and is left out (scripts/bench/sandbox.sh)."
  echo "- **density**: idle containers started one by one (create + start) up to BENCH_DENSITY_MAX, with"
  echo "  each one's start time, the total PSS and the host's MemAvailable after it; the sweep stops early if"
  echo "  MemAvailable falls under 2 GiB. Every container is deleted at the end, pass or fail."
} >"$md"

# the plot: cold start medians, and the density sweep
jq -r '.coldstart // empty | "floor \(.floor_ms.median)\n\"husk run\" \(.husk_run_ms.median)\n\"runc run\" \(.runc_run_ms.median)"' "$res" >"$data/cold"
jq -r '.density.sweep // [] | .[] | "\(.n) \(.start_ms) \(.pss_total_kb / 1024)"' "$res" >"$data/density"
cold_plot='set title "cold start, median (ms)"
set style data histograms
set style histogram gap 1
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
unset key
set grid ytics
plot "'"$data/cold"'" using 2:xtic(1) linecolor rgb "#4477aa"'
density_plot='set title "density: idle containers started one by one"
set style data linespoints
set xlabel "containers running"
set ylabel "start time (ms)"
set y2label "total PSS (MiB)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
plot "'"$data/density"'" using 1:2 title "start time (ms)" axes x1y1, "'"$data/density"'" using 1:3 title "total PSS (MiB)" axes x1y2'
plots=()
[ -s "$data/cold" ] && plots+=("$cold_plot")
[ -s "$data/density" ] && plots+=("$density_plot")
if ! command -v gnuplot >/dev/null; then
  echo "report: gnuplot missing (apt-get install gnuplot-nox): no $png" >&2
elif [ "${#plots[@]}" -eq 0 ]; then
  echo "report: no cold start or density figures: no $png" >&2
else
  {
    echo 'set terminal pngcairo size '$((550 * ${#plots[@]}))',450 font ",10"'
    echo "set output \"$png\""
    echo "set multiplot layout 1,${#plots[@]}"
    printf '%s\n' "${plots[@]}"
    echo "unset multiplot"
  } | gnuplot || echo "report: gnuplot failed: $png may be incomplete" >&2
fi
