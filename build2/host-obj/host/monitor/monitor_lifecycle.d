build2/host-obj/host/monitor/monitor_lifecycle.o: \
 host/monitor/monitor_lifecycle.c proto/msg.h common/arena.h common/err.h \
 proto/cbor.h proto/frame.h proto/proto.h host/monitor/console.h \
 host/monitor/monitor_confine.h host/monitor/monitor_priv.h \
 common/watch.h host/monitor/console_log.h host/monitor/monitor.h \
 host/state/config.h host/spec/spec.h host/state/state.h \
 host/monitor/monitor_notify.h host/monitor/stdio_relay.h \
 common/bytequeue.h host/spec/hooks.h host/vmm/vmm_uid.h \
 host/vsock/vsock.h host/state/log.h
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
host/monitor/console.h:
host/monitor/monitor_confine.h:
host/monitor/monitor_priv.h:
common/watch.h:
host/monitor/console_log.h:
host/monitor/monitor.h:
host/state/config.h:
host/spec/spec.h:
host/state/state.h:
host/monitor/monitor_notify.h:
host/monitor/stdio_relay.h:
common/bytequeue.h:
host/spec/hooks.h:
host/vmm/vmm_uid.h:
host/vsock/vsock.h:
host/state/log.h:
