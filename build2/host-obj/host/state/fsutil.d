build2/host-obj/host/state/fsutil.o: host/state/fsutil.c \
 host/state/fsutil.h common/err.h common/fs.h common/cleanup.h
host/state/fsutil.h:
common/err.h:
common/fs.h:
common/cleanup.h:
