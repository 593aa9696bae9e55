build2/host-obj/host/vsock/vsock_user.o: host/vsock/vsock_user.c \
 host/vsock/vsock_user.h common/err.h common/cleanup.h common/clock.h \
 common/watch.h host/vsock/vhost_user.h host/vsock/virtq.h \
 host/vsock/vsock_mux.h host/vsock/vsock_conn.h host/vsock/vsock_pkt.h \
 host/vsock/vsock_queue.h
host/vsock/vsock_user.h:
common/err.h:
common/cleanup.h:
common/clock.h:
common/watch.h:
host/vsock/vhost_user.h:
host/vsock/virtq.h:
host/vsock/vsock_mux.h:
host/vsock/vsock_conn.h:
host/vsock/vsock_pkt.h:
host/vsock/vsock_queue.h:
