build2/host-obj/host/vsock/vsock_queue.o: host/vsock/vsock_queue.c \
 host/vsock/vsock_queue.h host/vsock/virtq.h host/vsock/vsock_mux.h \
 common/err.h host/vsock/vsock_conn.h common/watch.h \
 host/vsock/vsock_pkt.h
host/vsock/vsock_queue.h:
host/vsock/virtq.h:
host/vsock/vsock_mux.h:
common/err.h:
host/vsock/vsock_conn.h:
common/watch.h:
host/vsock/vsock_pkt.h:
