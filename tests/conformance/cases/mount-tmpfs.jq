# tmpfs mounts with size, mode, nr_inodes and the nosuid/nodev/noexec and
# atime options.
.mounts += [
  {destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "size=5m", "mode=700"]},
  {destination: "/run/small", type: "tmpfs", source: "small", options: ["ro", "noatime", "size=1m", "nr_inodes=100", "mode=0751"]}
]
