build2/host-obj/host/monitor/vfs_mount.o: host/monitor/vfs_mount.c \
 host/monitor/vfs_mount.h common/err.h common/cleanup.h
host/monitor/vfs_mount.h:
common/err.h:
common/cleanup.h:
