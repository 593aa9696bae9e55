build2/host-obj/host/vmm/vmm_privs.o: host/vmm/vmm_privs.c \
 host/vmm/vmm_privs.h common/err.h
host/vmm/vmm_privs.h:
common/err.h:
