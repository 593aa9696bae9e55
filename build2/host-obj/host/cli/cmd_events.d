build2/host-obj/host/cli/cmd_events.o: host/cli/cmd_events.c \
 common/arena.h proto/msg.h common/err.h proto/cbor.h proto/frame.h \
 proto/proto.h proto/msg_resources.h proto/msg_session.h host/cli/cli.h \
 host/state/state.h host/container/container.h host/spec/spec.h
common/arena.h:
proto/msg.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_resources.h:
proto/msg_session.h:
host/cli/cli.h:
host/state/state.h:
host/container/container.h:
host/spec/spec.h:
