build2/host-obj/host/spec/spec_security.o: host/spec/spec_security.c \
 proto/msg_security.h proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/spec/seccomp.h \
 host/spec/spec.h host/spec/spec_security.h
proto/msg_security.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/spec/seccomp.h:
host/spec/spec.h:
host/spec/spec_security.h:
