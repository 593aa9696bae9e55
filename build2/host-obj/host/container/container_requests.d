build2/host-obj/host/container/container_requests.o: \
 host/container/container_requests.c common/cleanup.h proto/frame.h \
 common/err.h proto/msg.h common/arena.h proto/cbor.h proto/proto.h \
 proto/msg_resources.h proto/msg_session.h host/container/container.h \
 host/spec/spec.h host/state/state.h host/monitor/ctl.h \
 host/state/host_cgroup.h
common/cleanup.h:
proto/frame.h:
common/err.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/proto.h:
proto/msg_resources.h:
proto/msg_session.h:
host/container/container.h:
host/spec/spec.h:
host/state/state.h:
host/monitor/ctl.h:
host/state/host_cgroup.h:
