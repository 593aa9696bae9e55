build2/host-obj/host/net/net_nl.o: host/net/net_nl.c common/cleanup.h \
 host/net/net.h common/err.h proto/msg_network.h proto/msg.h \
 common/arena.h proto/cbor.h proto/frame.h proto/proto.h
common/cleanup.h:
host/net/net.h:
common/err.h:
proto/msg_network.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
