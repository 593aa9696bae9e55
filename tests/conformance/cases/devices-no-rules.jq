# linux.devices without any device cgroup rule: runc's list still starts
# from "deny all" plus its standard nodes, so /dev/myconsole (5:1) exists
# but does not open.
.linux.devices = [{path: "/dev/myconsole", type: "c", major: 5, minor: 1, fileMode: 384}]
