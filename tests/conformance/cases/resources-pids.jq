# A pids limit, read back from the cgroup.
.linux.namespaces += [{type: "cgroup"}]
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
| .linux.resources.pids = {limit: 64}
