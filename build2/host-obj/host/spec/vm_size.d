build2/host-obj/host/spec/vm_size.o: host/spec/vm_size.c \
 proto/msg_resources.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/spec/spec.h \
 host/state/config.h
proto/msg_resources.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/spec/spec.h:
host/state/config.h:
