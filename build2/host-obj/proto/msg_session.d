build2/host-obj/proto/msg_session.o: proto/msg_session.c \
 proto/msg_session.h proto/msg.h common/arena.h common/err.h proto/cbor.h \
 proto/frame.h proto/proto.h
proto/msg_session.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
