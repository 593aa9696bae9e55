build2/host-obj/host/vsock/virtq.o: host/vsock/virtq.c host/vsock/virtq.h
host/vsock/virtq.h:
