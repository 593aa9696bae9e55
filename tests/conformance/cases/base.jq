# The base config of scripts/make-bundle.sh as it is: pid, network, ipc,
# uts and mount namespaces, the usual /proc, /dev, /dev/pts, /dev/shm,
# /dev/mqueue and /sys mounts, Docker's masked and read-only paths.
.
