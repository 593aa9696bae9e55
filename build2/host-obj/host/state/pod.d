build2/host-obj/host/state/pod.o: host/state/pod.c host/state/pod.h \
 common/err.h proto/proto.h common/cleanup.h host/state/fsutil.h \
 common/fs.h host/state/state.h
host/state/pod.h:
common/err.h:
proto/proto.h:
common/cleanup.h:
host/state/fsutil.h:
common/fs.h:
host/state/state.h:
