# /proc and /sys with other options: proc read-write with nosuid/nodev/
# noexec, sysfs read-write.
.mounts |= map(if .destination == "/proc" then .options = ["nosuid", "nodev", "noexec"]
               elif .destination == "/sys" then .options = ["nosuid", "nodev", "noexec", "rw"] else . end)
