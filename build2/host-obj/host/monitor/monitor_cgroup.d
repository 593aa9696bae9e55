build2/host-obj/host/monitor/monitor_cgroup.o: \
 host/monitor/monitor_cgroup.c host/monitor/monitor_priv.h common/err.h \
 common/watch.h proto/frame.h host/monitor/console_log.h \
 host/monitor/monitor.h host/state/config.h host/spec/spec.h proto/msg.h \
 common/arena.h proto/cbor.h proto/proto.h host/state/state.h \
 host/monitor/monitor_notify.h host/monitor/stdio_relay.h \
 common/bytequeue.h host/spec/hooks.h host/vmm/vmm_uid.h \
 host/vsock/vsock.h host/state/host_cgroup.h proto/msg_resources.h \
 host/state/log.h
host/monitor/monitor_priv.h:
common/err.h:
common/watch.h:
proto/frame.h:
host/monitor/console_log.h:
host/monitor/monitor.h:
host/state/config.h:
host/spec/spec.h:
proto/msg.h:
common/arena.h:
proto/cbor.h:
proto/proto.h:
host/state/state.h:
host/monitor/monitor_notify.h:
host/monitor/stdio_relay.h:
common/bytequeue.h:
host/spec/hooks.h:
host/vmm/vmm_uid.h:
host/vsock/vsock.h:
host/state/host_cgroup.h:
proto/msg_resources.h:
host/state/log.h:
