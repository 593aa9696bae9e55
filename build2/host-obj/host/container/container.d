build2/host-obj/host/container/container.o: host/container/container.c \
 host/container/container.h common/arena.h common/err.h \
 proto/msg_resources.h proto/msg.h proto/cbor.h proto/frame.h \
 proto/proto.h proto/msg_session.h host/spec/spec.h host/state/state.h \
 proto/msg_container.h host/container/pod.h host/monitor/ctl.h \
 host/monitor/monitor.h host/state/config.h host/net/net.h \
 proto/msg_network.h host/spec/hooks.h host/state/fsutil.h common/fs.h \
 host/state/host_cgroup.h host/state/log.h host/vsock/vsock.h
host/container/container.h:
common/arena.h:
common/err.h:
proto/msg_resources.h:
proto/msg.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_session.h:
host/spec/spec.h:
host/state/state.h:
proto/msg_container.h:
host/container/pod.h:
host/monitor/ctl.h:
host/monitor/monitor.h:
host/state/config.h:
host/net/net.h:
proto/msg_network.h:
host/spec/hooks.h:
host/state/fsutil.h:
common/fs.h:
host/state/host_cgroup.h:
host/state/log.h:
host/vsock/vsock.h:
