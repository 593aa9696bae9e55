# Every namespace runc knows on this host: pid, network, ipc, uts, mount
# and cgroup (a cgroup namespace makes /proc/self/cgroup read "/").
.linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}]
