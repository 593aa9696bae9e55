build2/host-obj/host/monitor/ctl.o: host/monitor/ctl.c host/monitor/ctl.h \
 common/err.h proto/cbor.h proto/frame.h host/state/state.h \
 common/arena.h common/cleanup.h common/clock.h common/escape.h \
 proto/msg.h proto/proto.h proto/msg_network.h proto/msg_session.h \
 host/net/net.h
host/monitor/ctl.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
host/state/state.h:
common/arena.h:
common/cleanup.h:
common/clock.h:
common/escape.h:
proto/msg.h:
proto/proto.h:
proto/msg_network.h:
proto/msg_session.h:
host/net/net.h:
