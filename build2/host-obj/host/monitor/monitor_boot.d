build2/host-obj/host/monitor/monitor_boot.o: host/monitor/monitor_boot.c \
 common/cleanup.h common/clock.h common/escape.h proto/msg.h \
 common/arena.h common/err.h proto/cbor.h proto/frame.h proto/proto.h \
 proto/msg_container.h proto/msg_session.h host/monitor/ctl.h \
 host/state/log.h host/vmm/lsm.h host/net/net.h proto/msg_network.h \
 host/monitor/monitor_priv.h common/watch.h host/monitor/console_log.h \
 host/monitor/monitor.h host/state/config.h host/spec/spec.h \
 host/state/state.h host/monitor/monitor_notify.h \
 host/monitor/stdio_relay.h common/bytequeue.h host/spec/hooks.h \
 host/vmm/vmm_uid.h host/vsock/vsock.h host/vmm/spawn.h \
 host/state/unixsock.h host/vmm/vmm_privs.h host/vmm/virtiofsd.h \
 host/vmm/argv.h host/monitor/monitor_confine.h host/vmm/vmm_jail.h \
 host/vmm/vmm_qemu.h
common/cleanup.h:
common/clock.h:
common/escape.h:
proto/msg.h:
common/arena.h:
common/err.h:
proto/cbor.h:
proto/frame.h:
proto/proto.h:
proto/msg_container.h:
proto/msg_session.h:
host/monitor/ctl.h:
host/state/log.h:
host/vmm/lsm.h:
host/net/net.h:
proto/msg_network.h:
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
host/vmm/spawn.h:
host/state/unixsock.h:
host/vmm/vmm_privs.h:
host/vmm/virtiofsd.h:
host/vmm/argv.h:
host/monitor/monitor_confine.h:
host/vmm/vmm_jail.h:
host/vmm/vmm_qemu.h:
