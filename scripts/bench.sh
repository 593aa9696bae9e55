#!/usr/bin/env bash
# `make bench`: measures, never asserts. Writes build/bench/report.md.
#  - wall time of `husk run BUNDLE /bin/true`, median of N (default 10)
#  - the floor: a bare QEMU microvm boot of the same kernel with an init
#    that reboots at once, same machine, same run
#  - PSS of monitor + qemu + virtiofsd + vsock backend for one idle container
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${BENCH_RUNS:-10}
out=$top/build/bench
mkdir -p "$out"
husk=$top/build/husk
root=$(mktemp -d /run/husk-bench.XXXXXX)
trap 'for c in $(ls "$root" 2>/dev/null); do "$husk" --root "$root" delete --force "$c" >/dev/null 2>&1 || true; done; rm -rf "$root"' EXIT

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# the floor
musl-gcc -static -Os -o "$out/reboot-init" "$top/tests/bench/reboot-init.c"
"$top/initramfs/build.sh" "$out/reboot-init" "$out/floor.cpio.gz"
accel=$("$husk" config | sed -n 's/^# accel resolves to \([a-z]*\).*/\1/p')
floor=()
for i in $(seq "$n"); do
  t0=$(ms)
  qemu-system-x86_64 -M microvm,accel="$accel",acpi=off,memory-backend=mem -cpu max -m 256M \
    -object memory-backend-memfd,id=mem,size=256M,share=on -nodefaults -no-user-config -nographic -no-reboot \
    -serial null -kernel "$top/build/vmlinux" -initrd "$out/floor.cpio.gz" \
    -append "console=ttyS0 reboot=t panic=-1 quiet" >/dev/null 2>&1
  floor+=($(( $(ms) - t0 )))
done

# husk run /bin/true
bundle=$out/bundle
rm -rf "$bundle"
"$top/scripts/make-bundle.sh" "$bundle" /bin/true
runs=()
for i in $(seq "$n"); do
  t0=$(ms)
  "$husk" --root "$root" run --bundle "$bundle" "bench$i" </dev/null >/dev/null
  runs+=($(( $(ms) - t0 )))
done

# memory of one idle container
jq '.process.args = ["/bin/sleep", "1000"]' "$bundle/config.json" > "$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
"$husk" --root "$root" create --bundle "$bundle" idle </dev/null >/dev/null 2>&1
"$husk" --root "$root" start idle
sleep 3
state=$root/idle/state.json
pss_of() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
total=0
detail=""
for role in monitor qemu virtiofsd vsock_backend; do
  pid=$(jq ".$role.pid" "$state")
  [ "$pid" -gt 0 ] || continue
  # virtiofsd forks a sandboxed child that does the work: count it too
  pids=$pid
  if [ "$role" = virtiofsd ]; then pids="$pid $(pgrep -P "$pid" || true)"; fi
  kb=0
  for p in $pids; do kb=$((kb + $(pss_of "$p"))); done
  total=$((total + kb))
  detail="$detail| $role | $kb |\n"
done
"$husk" --root "$root" delete --force idle

fm=$(printf '%s\n' "${floor[@]}" | median)
rm_=$(printf '%s\n' "${runs[@]}" | median)
{
  echo "# husk benchmark report"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, accel $accel, kernel $(cat "$(dirname "$(readlink -f "$top/build/vmlinux")")/release"), $n runs each"
  echo
  echo "| measure | median (ms) | all runs (ms) |"
  echo "|---|---|---|"
  echo "| bare QEMU boot, init reboots at once (floor) | $fm | ${floor[*]} |"
  echo "| husk run BUNDLE /bin/true | $rm_ | ${runs[*]} |"
  echo
  echo "PSS of one idle container's host processes (KiB): total $total"
  echo
  echo "| process | PSS (KiB) |"
  echo "|---|---|"
  printf "$detail"
} > "$out/report.md"
cat "$out/report.md"
