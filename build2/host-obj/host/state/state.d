build2/host-obj/host/state/state.o: host/state/state.c host/state/state.h \
 common/err.h common/cleanup.h proto/proto.h host/state/fsutil.h \
 common/fs.h
host/state/state.h:
common/err.h:
common/cleanup.h:
proto/proto.h:
host/state/fsutil.h:
common/fs.h:
