#!/usr/bin/env bash
# Builds the husk guest kernel (an uncompressed vmlinux booted through PVH)
# from Debian's linux-source-6.1 plus kernel-config/husk.config and the
# patches in kernel-config/patches/ (applied in name order).
#
# The result is cached outside the work tree, keyed by the hash of the
# fragment, the patches and the linux-source package version, so a rebuild
# happens only when one of them changes.  Usage: build-kernel.sh OUTPUT_LINK
#   HUSK_CACHE  cache root (default /var/cache/husk)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-kernel.sh OUTPUT_LINK}
cache=${HUSK_CACHE:-/var/cache/husk}
fragment=$top/kernel-config/husk.config
tarball=/usr/src/linux-source-6.1.tar.xz

[ -f "$tarball" ] || { echo "build-kernel: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
patches=$top/kernel-config/patches
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# the key: fragment, then each patch by name and content, then the source
key_of() { { cat "$1"; for p in "$2"/*.patch; do [ -e "$p" ] && { echo "patch ${p##*/}"; cat "$p"; }; done; echo "linux-source-6.1 $srcver"; } | sha256sum | cut -c1-16; }
key=$(key_of "$fragment" "$patches")
dest=$cache/kernel/$key

if [ -f "$dest/vmlinux" ]; then
  ln -sfn "$dest/vmlinux" "$out"
  exit 0
fi

mkdir -p "$cache/kernel"
# one build per key: a second `make` (another checkout, a parallel job) waits
# for the first and then links its result instead of building it again
exec 9>"$cache/kernel/$key.lock"
if ! flock -n 9; then
  echo "build-kernel: waiting for another build of guest kernel $key" >&2
  flock 9
fi
if [ -f "$dest/vmlinux" ]; then
  ln -sfn "$dest/vmlinux" "$out"
  exit 0
fi
work=$(mktemp -d "$cache/kernel/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# build from a snapshot: a fragment edited during the build must not end up
# cached under the key of the text it had when the build began
cp "$fragment" "$work/husk.config"
fragment=$work/husk.config
mkdir "$work/patches"
for p in "$patches"/*.patch; do [ -e "$p" ] && cp "$p" "$work/patches/"; done
patches=$work/patches
[ "$(key_of "$fragment" "$patches")" = "$key" ] ||
  { echo "build-kernel: kernel-config/ changed while starting; run again" >&2; exit 1; }
echo "build-kernel: building guest kernel $key (linux-source-6.1 $srcver), a few minutes" >&2
tar -C "$work" -xf "$tarball"
src=$work/linux-source-6.1
for p in "$patches"/*.patch; do
  [ -e "$p" ] || continue
  patch -d "$src" -p1 -s --no-backup-if-mismatch < "$p" || { echo "build-kernel: ${p##*/} does not apply" >&2; exit 1; }
done
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
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
cp "$src/vmlinux" "$dest.tmp/vmlinux"
cp "$src/.config" "$dest.tmp/config"
make -C "$src" -s kernelrelease > "$dest.tmp/release"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
ln -sfn "$dest/vmlinux" "$out"
echo "build-kernel: cached in $dest" >&2
