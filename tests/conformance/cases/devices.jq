# linux.devices (char nodes with modes and owners, one in a subdirectory,
# a fifo) and a device cgroup list: deny all, then the console (5:1)
# read-only, on top of which runc always allows its standard nodes (null,
# zero, full, random, urandom, tty, ptmx, pts, tun) and mknod. The probe
# opens every node read-only: /dev/myconsole opens, /dev/myconsole-w is
# the same device (so it opens too), /dev/kmsg2 (1:11) is denied.
.linux.devices = [
  {path: "/dev/mynull", type: "c", major: 1, minor: 3, fileMode: 432, uid: 0, gid: 5},
  {path: "/dev/sub/myzero", type: "c", major: 1, minor: 5, fileMode: 384, uid: 1000, gid: 1000},
  {path: "/dev/myconsole", type: "c", major: 5, minor: 1, fileMode: 384},
  {path: "/dev/kmsg2", type: "c", major: 1, minor: 11, fileMode: 420},
  {path: "/dev/myfifo", type: "p", fileMode: 420}
]
| .linux.resources.devices = [
  {allow: false, access: "rwm"},
  {allow: true, type: "c", major: 5, minor: 1, access: "r"}
]
