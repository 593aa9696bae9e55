#!/usr/bin/env bash
# Builds the husk guest kernel (an uncompressed vmlinux booted through PVH)
# from Debian's linux-source-6.1 plus kernel-config/husk.config.
#
# The result is cached outside the work tree, keyed by the fragment's hash and
# the linux-source package version, so a rebuild happens only when either
# changes.  Usage: build-kernel.sh OUTPUT_LINK
#   HUSK_CACHE  cache root (default /var/cache/husk)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-kernel.sh OUTPUT_LINK}
cache=${HUSK_CACHE:-/var/cache/husk}
fragment=$top/kernel-config/husk.config
tarball=/usr/src/linux-source-6.1.tar.xz

[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( { cat "$fragment"; echo "linux-source-6.1 $srcver"; } | sha256sum | cut -c1-16)
dest=$cache/kernel/$key

if [ -f "$dest/vmlinux" ]; then
  ln -sfn "$dest/vmlinux" "$out"
  exit 0
fi

mkdir -p "$cache/kernel"
work=$(mktemp -d "$cache/kernel/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# build from a snapshot: a fragment edited during the build must not end up
# cached under the key of the text it had when the build began
cp "$fragment" "$work/husk.config"
fragment=$work/husk.config
[ "$( { cat "$fragment"; echo "linux-source-6.1 $srcver"; } | sha256sum | cut -c1-16)" = "$key" ] ||
  { echo "build-kernel: $top/kernel-config/husk.config changed while starting; run again" >&2; exit 1; }
echo "build-kernel: building guest kernel $key (linux-source-6.1 $srcver), a few minutes" >&2
tar -C "$work" -xf "$tarball"
src=$work/linux-source-6.1
make -C "$src" -s tinyconfig
KCONFIG_CONFIG=$src/.config "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment" >/dev/null
make -C "$src" -s olddefconfig

# every line of the fragment must have survived: a missing dependency would
# otherwise silently drop a feature
bad=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*)
      grep -qxF "$line" "$src/.config" || { echo "build-kernel: not in final config: $line" >&2; bad=1; } ;;
    "# CONFIG_"*" is not set")
      opt=${line#\# }; opt=${opt%% *}
      if grep -q "^$opt=" "$src/.config"; then echo "build-kernel: should be unset: $opt" >&2; bad=1; fi ;;
  esac
done < "$fragment"
[ "$bad" -eq 0 ] || exit 1

make -C "$src" -s -j"$(nproc)" vmlinux
mkdir -p "$dest.tmp"
cp "$src/vmlinux" "$dest.tmp/vmlinux"
cp "$src/.config" "$dest.tmp/config"
make -C "$src" -s kernelrelease > "$dest.tmp/release"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
ln -sfn "$dest/vmlinux" "$out"
echo "build-kernel: cached in $dest" >&2
