build2/host-obj/proto/msg.o: proto/msg.c proto/msg.h common/arena.h \
 common/err.h proto/cbor.h proto/frame.h proto/proto.h \
 proto/msg_container.h proto/msg_network.h proto/msg_resources.h \
 proto/msg_security.h
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_container.h:
proto/msg_network.h:
proto/msg_resources.h:
proto/msg_security.h:
