build2/host-obj/host/net/net.o: host/net/net.c host/net/net.h \
 common/err.h proto/msg_network.h proto/msg.h common/arena.h proto/cbor.h \
 proto/frame.h proto/proto.h common/cleanup.h host/state/fsutil.h \
 common/fs.h host/state/log.h host/state/state.h
host/net/net.h:
common/err.h:
proto/msg_network.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
common/cleanup.h:
host/state/fsutil.h:
common/fs.h:
host/state/log.h:
host/state/state.h:
