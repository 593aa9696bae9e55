build2/host-obj/host/net/net_scan.o: host/net/net_scan.c host/net/net.h \
 common/err.h proto/msg_network.h proto/msg.h common/arena.h proto/cbor.h \
 proto/frame.h proto/proto.h
host/net/net.h:
common/err.h:
proto/msg_network.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
