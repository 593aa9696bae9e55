build2/host-obj/proto/msg_container.o: proto/msg_container.c \
 proto/msg_container.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h
proto/msg_container.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
