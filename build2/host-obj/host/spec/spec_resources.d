build2/host-obj/host/spec/spec_resources.o: host/spec/spec_resources.c \
 proto/msg_resources.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/spec/spec.h
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/spec/spec.h:
