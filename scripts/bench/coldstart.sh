#!/usr/bin/env bash
# Cold start: `husk run BUNDLE /bin/true` (median, p95) against the floor (a
# bare QEMU boot of the same kernel with an init that reboots at once) and
# against `runc run` of the same bundle; plus where husk's time goes, from
# the monitor's --debug log and husk-init's console lines.
source "$(dirname "$0")/lib.sh"
n=$(runs 20)
bench_root
runc_root=$(mktemp -d /run/husk-bench-runc.XXXXXX)
trap 'bench_cleanup; for c in $(runc --root "$runc_root" list -q 2>/dev/null); do runc --root "$runc_root" delete --force "$c" >/dev/null 2>&1; done; rm -rf "$runc_root"' EXIT

# the floor: same QEMU machine, kernel and memory as husk, no devices
musl-gcc -static -Os -o "$BENCH_OUT/reboot-init" "$top/tests/bench/reboot-init.c"
"$top/initramfs/build.sh" "$BENCH_OUT/reboot-init" "$BENCH_OUT/floor.cpio.gz" >/dev/null
accel=$("$husk" config | sed -n 's/^# accel resolves to \([a-z]*\).*/\1/p')
mem=$(h config | sed -n 's/^memory_mib = \([0-9]*\).*/\1/p' | head -1)
mem=${mem:-256}
cpu=max; [ "$accel" = kvm ] && cpu=host
# the same accelerator options and kernel command line as husk gives QEMU
# (host/vmm/vmm_qemu.c): TCG's translation cache size, and under TCG no
# speculation mitigations and a known APIC timer rate
accel_opt=$accel extra=""
if [ "$accel" = tcg ]; then
  tb=$(h config | sed -n 's/^tcg_tb_size_mib = \([0-9]*\).*/\1/p' | head -1)
  accel_opt="tcg,tb-size=${tb:-16}"
  extra=" mitigations=off lapic_timer_hz=1000000000"
fi
floor=()
note "cold start: floor x$n"
for i in $(seq "$n"); do
  t0=$(now_ms)
  qemu-system-x86_64 -M microvm,acpi=off,memory-backend=mem -accel "$accel_opt" -cpu "$cpu" -m "${mem}M" \
    -object memory-backend-memfd,id=mem,size="${mem}M",share=on -nodefaults -no-user-config -nographic -no-reboot \
    -serial null -kernel "$top/build/vmlinux" -initrd "$BENCH_OUT/floor.cpio.gz" \
    -append "console=ttyS0 reboot=t panic=-1 quiet no_timer_check$extra" </dev/null >/dev/null 2>&1
  floor+=($(($(now_ms) - t0)))
done

note "cold start: runc run x$n"
rc=()
for i in $(seq "$n"); do
  t0=$(now_ms)
  if runc --root "$runc_root" run --bundle "$bundle_true" "bench$i" </dev/null >/dev/null 2>&1; then
    rc+=($(($(now_ms) - t0)))
  else
    note "runc run $i failed"
  fi
done

note "cold start: husk run x$n"
hr=() failed=0
for i in $(seq "$n"); do
  t0=$(now_ms)
  if h run --bundle "$bundle_true" "cold$i" </dev/null >/dev/null 2>"$BENCH_OUT/cold.err"; then
    hr+=($(($(now_ms) - t0)))
  else
    failed=$((failed + 1)); note "husk run $i failed: $(head -c 300 "$BENCH_OUT/cold.err")"
  fi
done

# the breakdown, from separate detached runs (their state, and so the guest
# console, stays until delete): wall-clock marks from the monitor's --debug
# log, kernel-time marks from husk-init's console lines
nb=${BENCH_BREAKDOWN_RUNS:-$(( n < 5 ? n : 5 ))}
note "cold start: breakdown x$nb"
steps='[]'
at() { local l; l=$(grep -m1 "$2" "$1" | sed -n 's/^time="\([^"]*\)".*/\1/p'); if [ -n "$l" ]; then iso_ms "$l"; fi; }
kat() { awk -v pat="$2" -F'[][]' '$0 ~ pat {gsub(/ /, "", $2); printf "%d\n", $2 * 1000; exit}' "$1"; }
for i in $(seq "$nb"); do
  log=$BENCH_OUT/breakdown-$i.log
  rm -f "$log"
  t0=$(now_ms)
  h --debug --log "$log" run --detach --bundle "$bundle_true" "bd$i" </dev/null >/dev/null 2>&1 || continue
  for _ in $(seq 600); do grep -q 'stopped with status' "$log" && break; sleep 0.1; done
  cp "$HUSK_ROOT/bd$i/console.log" "$BENCH_OUT/breakdown-$i.console" 2>/dev/null || true
  h delete --force "bd$i" >/dev/null 2>&1 || true
  vfs=$(at "$log" 'virtiofsd up') qemu=$(at "$log" 'qemu spawned') created=$(at "$log" 'created: kernel')
  exited=$(at "$log" 'process exited') stopped=$(at "$log" 'stopped with status')
  kready=$(kat "$BENCH_OUT/breakdown-$i.console" 'husk-init: info: ready')
  kcreated=$(kat "$BENCH_OUT/breakdown-$i.console" 'husk-init: info: container .* created')
  if [ -n "$vfs" ] && [ -n "$qemu" ] && [ -n "$created" ] && [ -n "$exited" ] && [ -n "$stopped" ] &&
     [ -n "$kready" ] && [ -n "$kcreated" ]; then
    kstart=$((created - kcreated)) # the guest kernel's time 0, in host wall-clock ms
    steps=$(jq -c --argjson s "[$((vfs - t0)), $((qemu - vfs)), $((kstart - qemu)), $kready, $((kcreated - kready)), $((exited - created)), $((stopped - exited))]" \
      '. + [$s]' <<<"$steps")
  else
    note "breakdown run $i: marks missing (see $log)"
  fi
done

jq -n --argjson floor "$(nums "${floor[@]}" | json_nums)" --argjson runc "$(nums "${rc[@]}" | json_nums)" \
  --argjson husk "$(nums "${hr[@]}" | json_nums)" --argjson steps "$steps" --arg accel "$accel" --argjson failed "$failed" \
  --argjson fm "$(nums "${floor[@]}" | median)" --argjson fp "$(nums "${floor[@]}" | p95)" \
  --argjson rm "$(nums "${rc[@]}" | median)" --argjson rp "$(nums "${rc[@]}" | p95)" \
  --argjson hm "$(nums "${hr[@]}" | median)" --argjson hp "$(nums "${hr[@]}" | p95)" '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  {accel: $accel, runs: ($husk | length), husk_run_failed: $failed,
   husk_run_ms: {median: $hm, p95: $hp, all: $husk},
   floor_ms: {median: $fm, p95: $fp, all: $floor},
   runc_run_ms: {median: $rm, p95: $rp, all: $runc},
   breakdown_ms: (if ($steps | length) == 0 then null else
     ["cli_to_virtiofsd_up", "virtiofsd_up_to_qemu_spawned", "qemu_spawned_to_kernel_start",
      "kernel_start_to_pid1_ready", "pid1_ready_to_container_created", "container_created_to_process_exit",
      "process_exit_to_vm_stopped"] as $names
     | [range(0; 7) as $i | {key: $names[$i], value: ([$steps[] | .[$i]] | med)}] | from_entries
     + {runs: ($steps | length)} end)}' >"$BENCH_OUT/coldstart.json"
note "cold start: done"
