#!/usr/bin/env bash
# virtio-fs against the host: tests/bench/fsbench.c, the same static binary,
# run inside a husk container (its rootfs is shared from the host disk by
# virtiofsd) and on the host in the same directory. Files the guest reads are
# written by the host first, so the guest's page cache is cold and the data
# crosses virtio-fs (the host reads them from its page cache).
source "$(dirname "$0")/lib.sh"
mib=${BENCH_FS_MIB:-256}
nrand=${BENCH_FS_RANDOM:-5000}
nfiles=${BENCH_FS_FILES:-10000}
bundle=$BENCH_OUT/bundle-fs
rootfs=$bundle/rootfs
fsb=$BENCH_OUT/fsbench
bench_root
trap 'bench_cleanup; rm -rf "$rootfs/bench"' EXIT
rm -rf "$rootfs/bench"
mkdir -p "$rootfs/bench/host-files" "$rootfs/bench/guest-files"

note "fs: host ($mib MiB sequential, $nrand random 4 KiB reads, $nfiles files)"
host_w=$("$fsb" seqw "$rootfs/bench/seq.dat" "$mib")
"$fsb" seqw "$rootfs/bench/rand.dat" "$mib" >/dev/null
host_r=$("$fsb" seqr "$rootfs/bench/seq.dat")
host_rr=$("$fsb" randr "$rootfs/bench/rand.dat" "$nrand")
host_f=$("$fsb" files "$rootfs/bench/host-files" "$nfiles")
rm -f "$rootfs/bench/host-w.dat"

note "fs: inside husk"
start_idle fs "$bundle" || { note "fs: the container did not start"; exit 1; }
g() { h exec fs /bin/fsbench "$@" </dev/null; }
guest_rr=$(g randr /bench/rand.dat "$nrand")
guest_r=$(g seqr /bench/seq.dat)
guest_w=$(g seqw /bench/guest-w.dat "$mib")
guest_f=$(g files /bench/guest-files "$nfiles")

jq -n --argjson hw "$host_w" --argjson hr "$host_r" --argjson hrr "$host_rr" --argjson hf "$host_f" \
  --argjson gw "$guest_w" --argjson gr "$guest_r" --argjson grr "$guest_rr" --argjson gf "$guest_f" \
  --argjson mib "$mib" --argjson nrand "$nrand" --argjson nfiles "$nfiles" '
  {mib: $mib, random_reads: $nrand, files: $nfiles,
   host: {seq_write: $hw, seq_read: $hr, rand_read: $hrr, files: $hf},
   husk: {seq_write: $gw, seq_read: $gr, rand_read: $grr, files: $gf}}' >"$BENCH_OUT/fs.json"
note "fs: done"
