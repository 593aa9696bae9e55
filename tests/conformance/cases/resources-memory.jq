# Memory limit and reservation, read back from the container's cgroup.
.linux.namespaces += [{type: "cgroup"}]
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
| .linux.resources.memory = {limit: 134217728, reservation: 67108864}
