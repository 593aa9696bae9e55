build2/host-obj/host/state/config.o: host/state/config.c \
 host/state/config.h common/err.h host/state/fsutil.h common/fs.h
host/state/config.h:
common/err.h:
host/state/fsutil.h:
common/fs.h:
