# A memory limit with memory+swap (runc's "swap" is memory + swap).
.linux.namespaces += [{type: "cgroup"}]
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
| .linux.resources.memory = {limit: 100663296, swap: 201326592}
