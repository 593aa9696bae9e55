build2/host-obj/host/monitor/vfs_slot.o: host/monitor/vfs_slot.c \
 common/cleanup.h proto/msg_container.h proto/msg.h common/arena.h \
 common/err.h proto/cbor.h proto/frame.h proto/proto.h \
 host/monitor/vfs_mount.h host/monitor/vfs_slot.h host/spec/spec.h \
 host/state/state.h
common/cleanup.h:
proto/msg_container.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/monitor/vfs_mount.h:
host/monitor/vfs_slot.h:
host/spec/spec.h:
host/state/state.h:
