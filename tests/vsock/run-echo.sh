#!/usr/bin/env bash
# End-to-end check of the built-in vhost-user-vsock back-end with a real VM:
# boots build/vmlinux (PVH) on QEMU microvm with vhost-user-vsock-device
# served by husk_vuvsock_serve(), and echoes random data through the guest
# (tests/vsock/echo-init.c as PID 1) in both directions:
#   host -> guest  CONNECT 1024 on the hybrid socket (husk_hybrid_connect)
#   guest -> host  the guest connects to CID 2 port 1234 = <hybrid>_1234
#   parallel       8 host connections to the guest at once (HUSK_VSOCK_PAR)
# Usage: tests/vsock/run-echo.sh [BYTES...]   (default: 1 MiB and 4 MiB)
# Needs build/libhusk.a and build/vmlinux (make), qemu-system-x86_64, musl-gcc.
# Exits 77 (skip) when a prerequisite is missing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1048576 4194304)
accel=${HUSK_ACCEL:-tcg}

for need in qemu-system-x86_64 musl-gcc cpio gzip; do
  command -v "$need" >/dev/null || { echo "SKIP: $need not installed"; exit 77; }
done
for f in "$top/build/libhusk.a" "$top/build/vmlinux"; do
  [ -e "$f" ] || { echo "SKIP: $f missing (run make)"; exit 77; }
done

work=$(mktemp -d /tmp/husk-vsock-echo.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

# musl has no linux/ headers of its own: use the ones make prepared, else the host's
inc=()
if [ -d "$top/build/musl-include" ]; then inc=(-I"$top/build/musl-include"); fi
musl-gcc -static -O2 -iquote "$top" "${inc[@]}" -o "$work/init" "$top/tests/vsock/echo-init.c" || exit 1
cc -std=gnu11 -O2 -D_GNU_SOURCE -iquote "$top" -o "$work/vsock-echo" "$top/tests/vsock/vsock-echo.c" "$top/build/libhusk.a" || exit 1
mkdir -p "$work/root/dev" "$work/root/proc"
cp "$work/init" "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null) | gzip > "$work/initrd.gz"

fail=0
run() { # guest-mode peer-mode bytes [connections]
  local vu=$work/vu.sock hy=$work/hv.sock conns=${4:-1}
  rm -f "$vu" "$hy" "${hy}_1234" "$work"/peer.*.log
  "$work/vsock-echo" serve "$vu" "$hy" 3 2> "$work/backend.log" &
  local be=$!
  for _ in $(seq 50); do [ -S "$vu" ] && [ -S "$hy" ] && break; sleep 0.1; done
  local pids=()
  for i in $(seq "$conns"); do
    "$work/vsock-echo" peer "$2" "$hy" "$3" > "$work/peer.$i.log" 2>&1 &
    pids+=($!)
  done
  timeout 180 qemu-system-x86_64 -M microvm,accel="$accel",acpi=off,memory-backend=mem \
    -object memory-backend-memfd,id=mem,size=256M,share=on -m 256M \
    -global virtio-mmio.force-legacy=false -nodefaults -no-user-config -nographic -no-reboot \
    -serial stdio -chardev socket,id=vsk,path="$vu" -device vhost-user-vsock-device,chardev=vsk \
    -kernel "$top/build/vmlinux" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 reboot=t panic=-1 quiet no_timer_check vsock.mode=$1 vsock.conns=$conns" > "$work/guest.log" 2>&1
  local qrc=$? prc=0
  for p in "${pids[@]}"; do wait "$p" || prc=1; done
  wait $be; local brc=$?
  local what="guest $1, $conns x $3 bytes"
  if [ $qrc -eq 0 ] && [ $prc -eq 0 ] && [ $brc -eq 0 ]; then
    if [ "$conns" -eq 1 ]; then
      echo "ok - $what: $(grep -h 'MATCH' "$work"/peer.*.log)"
    else
      echo "ok - $what: all MATCH; slowest $(grep -ho '[0-9.]*s [0-9.]* MiB/s' "$work"/peer.*.log | sort -n | tail -1)"
    fi
  else
    echo "not ok - $what (qemu $qrc, peer $prc, back-end $brc)"
    sed 's/^/#   /' "$work"/peer.*.log "$work/backend.log"; grep '\[guest\]' "$work/guest.log" | sed 's/^/#   /'
    fail=1
  fi
}

for n in "${sizes[@]}"; do
  run listen connect "$n"
  run connect listen "$n"
done
run listen connect "${sizes[-1]}" "${HUSK_VSOCK_PAR:-8}"
exit $fail
