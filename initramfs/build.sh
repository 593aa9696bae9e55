#!/usr/bin/env bash
# Packs the guest initramfs: husk-init as /init plus the empty directories
# it mounts on. No device nodes are needed: husk-init mounts devtmpfs before
# it opens /dev/console. Usage: build.sh HUSK_INIT OUTPUT.cpio.gz
set -euo pipefail
init=${1:?usage: build.sh HUSK_INIT OUTPUT}
out=${2:?usage: build.sh HUSK_INIT OUTPUT}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{dev,proc,sys,run,tmp}
install -m 0755 "$init" "$stage/init"
# fixed owner and mtime so the same husk-init always packs to the same bytes
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet --reproducible) \
  | gzip -9 -n > "$out.tmp"
mv "$out.tmp" "$out"
