build2/host-obj/host/spec/seccomp_enosys.o: host/spec/seccomp_enosys.c \
 host/spec/seccomp.h common/err.h proto/msg_security.h proto/msg.h \
 common/arena.h proto/cbor.h proto/frame.h proto/proto.h
host/spec/seccomp.h:
common/err.h:
proto/msg_security.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
