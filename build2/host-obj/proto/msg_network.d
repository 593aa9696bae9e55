build2/host-obj/proto/msg_network.o: proto/msg_network.c \
 proto/msg_network.h proto/msg.h common/arena.h common/err.h proto/cbor.h \
 proto/frame.h proto/proto.h
proto/msg_network.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
