build2/host-obj/host/vmm/argv.o: host/vmm/argv.c host/vmm/argv.h \
 common/err.h
host/vmm/argv.h:
common/err.h:
