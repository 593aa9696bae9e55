build2/host-obj/host/vmm/spawn.o: host/vmm/spawn.c host/vmm/spawn.h \
 common/err.h common/cleanup.h
host/vmm/spawn.h:
common/err.h:
common/cleanup.h:
