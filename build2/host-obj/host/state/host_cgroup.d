build2/host-obj/host/state/host_cgroup.o: host/state/host_cgroup.c \
 host/state/host_cgroup.h common/err.h proto/msg_resources.h proto/msg.h \
 common/arena.h proto/cbor.h proto/frame.h proto/proto.h common/cleanup.h \
 host/state/fsutil.h common/fs.h host/state/log.h
host/state/host_cgroup.h:
common/err.h:
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
common/cleanup.h:
host/state/fsutil.h:
common/fs.h:
host/state/log.h:
