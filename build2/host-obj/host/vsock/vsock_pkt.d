build2/host-obj/host/vsock/vsock_pkt.o: host/vsock/vsock_pkt.c \
 host/vsock/vsock_pkt.h common/le.h host/state/log.h
host/vsock/vsock_pkt.h:
common/le.h:
host/state/log.h:
