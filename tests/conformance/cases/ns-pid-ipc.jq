# pid and ipc namespaces without uts: the container is PID 1 and has its
# own System V IPC, but the machine's host name.
.linux.namespaces = [{type: "pid"}, {type: "ipc"}, {type: "mount"}] | del(.hostname)
