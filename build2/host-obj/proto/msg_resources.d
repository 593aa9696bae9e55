build2/host-obj/proto/msg_resources.o: proto/msg_resources.c \
 proto/msg_resources.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
