build2/host-obj/host/vsock/vsock.o: host/vsock/vsock.c host/vsock/vsock.h \
 common/err.h common/cleanup.h common/clock.h host/state/log.h \
 host/vmm/spawn.h host/state/state.h host/state/unixsock.h \
 host/vsock/vsock_confine.h host/vsock/vsock_user.h
host/vsock/vsock.h:
common/err.h:
common/cleanup.h:
common/clock.h:
host/state/log.h:
host/vmm/spawn.h:
host/state/state.h:
host/state/unixsock.h:
host/vsock/vsock_confine.h:
host/vsock/vsock_user.h:
