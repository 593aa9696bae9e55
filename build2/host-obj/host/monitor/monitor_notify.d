build2/host-obj/host/monitor/monitor_notify.o: \
 host/monitor/monitor_notify.c host/monitor/monitor_notify.h common/err.h \
 proto/cbor.h common/arena.h common/cleanup.h proto/msg_notify.h \
 proto/msg.h proto/frame.h proto/proto.h host/monitor/monitor_priv.h \
 common/watch.h host/monitor/console_log.h host/monitor/monitor.h \
 host/state/config.h host/spec/spec.h host/state/state.h \
 host/monitor/stdio_relay.h common/bytequeue.h host/spec/hooks.h \
 host/vmm/vmm_uid.h host/vsock/vsock.h host/state/log.h
host/monitor/monitor_notify.h:
common/err.h:
proto/cbor.h:
common/arena.h:
common/cleanup.h:
proto/msg_notify.h:
proto/msg.h:
proto/frame.h:
proto/proto.h:
host/monitor/monitor_priv.h:
common/watch.h:
host/monitor/console_log.h:
host/monitor/monitor.h:
host/state/config.h:
host/spec/spec.h:
host/state/state.h:
host/monitor/stdio_relay.h:
common/bytequeue.h:
host/spec/hooks.h:
host/vmm/vmm_uid.h:
host/vsock/vsock.h:
host/state/log.h:
