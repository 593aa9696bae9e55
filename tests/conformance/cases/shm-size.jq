# /dev/shm as a spec tmpfs with size= (what podman's --shm-size makes).
.mounts |= map(if .destination == "/dev/shm" then .options = ["nosuid", "nodev", "noexec", "mode=1777", "size=32m"] else . end)
