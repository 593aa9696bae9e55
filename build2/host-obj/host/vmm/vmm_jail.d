build2/host-obj/host/vmm/vmm_jail.o: host/vmm/vmm_jail.c \
 host/vmm/vmm_jail.h common/err.h host/vmm/lsm.h host/vmm/vmm_privs.h \
 host/vmm/vmm_uid.h
host/vmm/vmm_jail.h:
common/err.h:
host/vmm/lsm.h:
host/vmm/vmm_privs.h:
host/vmm/vmm_uid.h:
