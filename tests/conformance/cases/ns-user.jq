# A user namespace with uid and gid mappings (container 0 is id 100000 on
# the host), with its own pid, ipc, uts, mount and network namespaces.
.linux.namespaces = [{type: "user"}, {type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
| .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
| .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
