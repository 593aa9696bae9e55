build2/host-obj/host/vmm/lsm.o: host/vmm/lsm.c host/vmm/lsm.h \
 common/err.h host/state/log.h
host/vmm/lsm.h:
common/err.h:
host/state/log.h:
