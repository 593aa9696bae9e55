build2/host-obj/host/cli/cli.o: host/cli/cli.c host/cli/cli.h \
 common/err.h host/state/state.h host/container/container.h \
 common/arena.h proto/msg_resources.h proto/msg.h proto/cbor.h \
 proto/frame.h proto/proto.h proto/msg_session.h host/spec/spec.h \
 host/state/log.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
host/container/container.h:
common/arena.h:
proto/msg_resources.h:
proto/msg.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_session.h:
host/spec/spec.h:
host/state/log.h:
