build2/tests/pod-session: tests/tools/pod-session.c proto/msg_container.h \
 proto/msg.h common/arena.h common/err.h proto/cbor.h proto/frame.h \
 proto/proto.h proto/msg_network.h proto/msg_session.h host/monitor/ctl.h \
 host/spec/spec.h host/state/state.h host/vsock/vsock.h
proto/msg_container.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_network.h:
proto/msg_session.h:
host/monitor/ctl.h:
host/spec/spec.h:
host/state/state.h:
host/vsock/vsock.h:
