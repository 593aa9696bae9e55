build2/host-obj/proto/msg_security.o: proto/msg_security.c \
 proto/msg_security.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h
proto/msg_security.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
