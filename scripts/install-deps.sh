#!/usr/bin/env bash
# Installs the Debian 12 packages husk needs to build, run and test.
# Only what is missing is installed; safe to run again.
set -euo pipefail

packages=(
  # libclang-rt-14-dev: libFuzzer + sanitizer runtimes, only a Recommends of clang
  build-essential pkg-config make gcc clang libclang-rt-14-dev clang-format
  qemu-system-x86 qemu-utils
  musl-tools
  libseccomp-dev libjansson-dev libcbor-dev libmnl-dev libinih-dev libapparmor-dev libselinux1-dev
  linux-source-6.1 flex bison bc libelf-dev libssl-dev xz-utils kmod patch
  bats busybox-static cpio gzip
  iproute2 jq procps util-linux psmisc
  # husk sandbox run --net nat: its masquerade rule (iptables also works)
  nftables
  # make bench draws docs/performance.png
  gnuplot-nox
  # the OCI spec conformance tests compare husk with runc; the client tests
  # drive real engines
  runc podman docker.io containerd tmux
  # podman pod create (Podman 4.3) builds its infra image localhost/podman-pause
  # from the host's catatonit, offline
  catatonit
  # tests/clients/cri.bats: containerd's CRI plugin with CNI, driven by a
  # Python gRPC client whose stubs protoc makes at test time
  containernetworking-plugins python3-grpcio python3-protobuf protobuf-compiler
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

echo "husk: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
