# A user namespace with two uid/gid ranges and a non-root process user.
.linux.namespaces = [{type: "user"}, {type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"}, {type: "mount"}]
| .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 1000}, {containerID: 1000, hostID: 300000, size: 10}]
| .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 1000}, {containerID: 1000, hostID: 300000, size: 10}]
| .process.user = {uid: 1000, gid: 1000, additionalGids: [5]}
