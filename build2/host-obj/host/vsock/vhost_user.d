build2/host-obj/host/vsock/vhost_user.o: host/vsock/vhost_user.c \
 host/vsock/vhost_user.h common/err.h common/watch.h host/vsock/virtq.h \
 common/le.h host/vsock/vsock_pkt.h
host/vsock/vhost_user.h:
common/err.h:
common/watch.h:
host/vsock/virtq.h:
common/le.h:
host/vsock/vsock_pkt.h:
