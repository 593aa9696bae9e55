build2/host-obj/host/cli/cmd_ps.o: host/cli/cmd_ps.c common/arena.h \
 common/escape.h host/cli/cli.h common/err.h host/state/state.h \
 host/container/container.h proto/msg_resources.h proto/msg.h \
 proto/cbor.h proto/frame.h proto/proto.h proto/msg_session.h \
 host/spec/spec.h
common/arena.h:
common/escape.h:
host/cli/cli.h:
common/err.h:
host/state/state.h:
host/container/container.h:
proto/msg_resources.h:
proto/msg.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_session.h:
host/spec/spec.h:
