# cpu shares, quota and period, and a cpuset, read back from the cgroup.
.linux.namespaces += [{type: "cgroup"}]
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
| .linux.resources.cpu = {shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0"}
