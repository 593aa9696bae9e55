build2/host-obj/host/container/pod.o: host/container/pod.c \
 host/container/pod.h common/err.h host/spec/spec.h proto/msg.h \
 common/arena.h proto/cbor.h proto/frame.h proto/proto.h \
 proto/msg_container.h host/state/state.h
host/container/pod.h:
common/err.h:
host/spec/spec.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_container.h:
host/state/state.h:
