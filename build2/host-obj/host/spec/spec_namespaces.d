build2/host-obj/host/spec/spec_namespaces.o: host/spec/spec_namespaces.c \
 proto/msg_container.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/spec/spec.h
proto/msg_container.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/spec/spec.h:
