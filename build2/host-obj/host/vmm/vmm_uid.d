build2/host-obj/host/vmm/vmm_uid.o: host/vmm/vmm_uid.c host/vmm/vmm_uid.h \
 common/err.h
host/vmm/vmm_uid.h:
common/err.h:
