build2/host-obj/host/spec/spec.o: host/spec/spec.c host/spec/spec.h \
 common/err.h proto/msg.h common/arena.h proto/cbor.h proto/frame.h \
 proto/proto.h host/state/fsutil.h common/fs.h
host/spec/spec.h:
common/err.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/state/fsutil.h:
common/fs.h:
