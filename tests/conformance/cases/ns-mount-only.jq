# Only a mount namespace: pid, ipc, uts and cgroup are the machine's (the
# host's under runc, the VM's under husk); no hostname (it needs uts).
.linux.namespaces = [{type: "mount"}] | del(.hostname)
