build2/host-obj/host/cli/cmd_update.o: host/cli/cmd_update.c \
 proto/msg_resources.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/cli/cli.h \
 host/state/state.h host/container/container.h proto/msg_session.h \
 host/spec/spec.h host/state/fsutil.h common/fs.h \
 host/state/host_cgroup.h
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/cli/cli.h:
host/state/state.h:
host/container/container.h:
proto/msg_session.h:
host/spec/spec.h:
host/state/fsutil.h:
common/fs.h:
host/state/host_cgroup.h:
