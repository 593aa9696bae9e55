# readonlyPaths: /proc entries and directories of the rootfs, made
# read-only by a bind mount of themselves.
.linux.readonlyPaths += ["/proc/sysrq-trigger", "/etc", "/var", "/no/such/path"]
