# An exec'd process joins a user namespace with mappings (and the pid,
# ipc, uts, mount and cgroup namespaces it owns).
.linux.namespaces = [{type: "user"}, {type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}, {type: "cgroup"}]
| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
