build2/host-obj/host/state/host_cgroup_path.o: \
 host/state/host_cgroup_path.c host/state/host_cgroup.h common/err.h \
 proto/msg_resources.h proto/msg.h common/arena.h proto/cbor.h \
 proto/frame.h proto/proto.h
host/state/host_cgroup.h:
common/err.h:
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
