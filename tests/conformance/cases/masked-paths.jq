# maskedPaths: files (bound over by /dev/null) and directories (an empty
# read-only tmpfs), plus one that does not exist (skipped).
.linux.maskedPaths += ["/proc/loadavg", "/proc/version", "/proc/sys/vm", "/proc/driver", "/no/such/path"]
