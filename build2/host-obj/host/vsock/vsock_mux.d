build2/host-obj/host/vsock/vsock_mux.o: host/vsock/vsock_mux.c \
 host/vsock/vsock_mux.h common/err.h host/vsock/vsock_conn.h \
 common/watch.h host/vsock/virtq.h host/vsock/vsock_pkt.h common/clock.h
host/vsock/vsock_mux.h:
common/err.h:
host/vsock/vsock_conn.h:
common/watch.h:
host/vsock/virtq.h:
host/vsock/vsock_pkt.h:
common/clock.h:
