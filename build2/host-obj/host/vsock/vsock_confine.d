build2/host-obj/host/vsock/vsock_confine.o: host/vsock/vsock_confine.c \
 host/vsock/vsock_confine.h common/err.h host/vmm/vmm_privs.h
host/vsock/vsock_confine.h:
common/err.h:
host/vmm/vmm_privs.h:
