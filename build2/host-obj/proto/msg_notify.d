build2/host-obj/proto/msg_notify.o: proto/msg_notify.c proto/msg_notify.h \
 proto/msg.h common/arena.h common/err.h proto/cbor.h proto/frame.h \
 proto/proto.h
proto/msg_notify.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
