#!/usr/bin/env bash
# Exec round trip (`husk exec ID /bin/true`, against `runc exec` into a
# running runc container) and stdio throughput (the container writes 256 MiB
# to stdout, the host reads it into /dev/null; against the same dd piped on
# the host).
source "$(dirname "$0")/lib.sh"
n=$(runs 20)
mib=${BENCH_STDIO_MIB:-256}
bench_root
runc_root=$(mktemp -d /run/husk-bench-runc.XXXXXX)
trap 'bench_cleanup; for c in $(runc --root "$runc_root" list -q 2>/dev/null); do runc --root "$runc_root" delete --force "$c" >/dev/null 2>&1; done; rm -rf "$runc_root"' EXIT

note "exec: starting an idle husk container and an idle runc container"
start_idle ex "$bundle_idle" || { note "exec: the idle container did not start"; exit 1; }
runc --root "$runc_root" run --detach --bundle "$bundle_idle" rex </dev/null >/dev/null 2>&1 || note "runc run --detach failed"

note "exec: round trip x$n"
he=() re=()
for i in $(seq "$n"); do
  t0=$(now_ms)
  if h exec ex /bin/true </dev/null >/dev/null 2>&1; then he+=($(($(now_ms) - t0))); else note "husk exec $i failed"; fi
  t0=$(now_ms)
  if runc --root "$runc_root" exec rex /bin/true </dev/null >/dev/null 2>&1; then re+=($(($(now_ms) - t0))); else note "runc exec $i failed"; fi
done

reps=${BENCH_STDIO_RUNS:-2}
note "exec: stdio $mib MiB x$reps"
hs=() bs=()
for i in $(seq "$reps"); do
  t0=$(date +%s%N)
  if h exec ex dd if=/dev/zero bs=1M count="$mib" </dev/null >/dev/null 2>/dev/null; then
    hs+=($(awk -v m="$mib" -v ns=$(($(date +%s%N) - t0)) 'BEGIN {printf "%.1f", m / (ns / 1e9)}'))
  else
    note "husk exec dd $i failed"
  fi
  t0=$(date +%s%N)
  /bin/busybox dd if=/dev/zero bs=1M count="$mib" 2>/dev/null | cat >/dev/null
  bs+=($(awk -v m="$mib" -v ns=$(($(date +%s%N) - t0)) 'BEGIN {printf "%.1f", m / (ns / 1e9)}'))
done

jq -n --argjson he "$(nums "${he[@]}" | json_nums)" --argjson re "$(nums "${re[@]}" | json_nums)" \
  --argjson hem "$(nums "${he[@]}" | median)" --argjson hep "$(nums "${he[@]}" | p95)" \
  --argjson rem "$(nums "${re[@]}" | median)" \
  --argjson hs "$(nums "${hs[@]}" | json_nums)" --argjson bs "$(nums "${bs[@]}" | json_nums)" \
  --argjson hsm "$(nums "${hs[@]}" | median)" --argjson bsm "$(nums "${bs[@]}" | median)" --argjson mib "$mib" '
  {exec_ms: {median: $hem, p95: $hep, all: $he}, runc_exec_ms: {median: $rem, all: $re},
   stdio_mib_per_s: {median: $hsm, all: $hs, mib: $mib, note: "wall time of the whole husk exec, startup included"},
   host_pipe_mib_per_s: {median: $bsm, all: $bs}}' >"$BENCH_OUT/exec.json"
note "exec: done"
