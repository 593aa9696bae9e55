build2/host-obj/host/vsock/vsock_conn.o: host/vsock/vsock_conn.c \
 host/vsock/vsock_conn.h common/watch.h host/vsock/virtq.h \
 host/vsock/vsock_pkt.h host/vsock/vsock_mux.h common/err.h
host/vsock/vsock_conn.h:
common/watch.h:
host/vsock/virtq.h:
host/vsock/vsock_pkt.h:
host/vsock/vsock_mux.h:
common/err.h:
