# A cgroup mount (cgroup2 in husk's guest, cgroup v1 under runc on this
# host), read-only, in a cgroup namespace.
.linux.namespaces += [{type: "cgroup"}]
| .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
