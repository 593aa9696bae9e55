build2/host-obj/host/vmm/virtiofsd.o: host/vmm/virtiofsd.c \
 host/vmm/virtiofsd.h common/err.h host/vmm/argv.h
host/vmm/virtiofsd.h:
common/err.h:
host/vmm/argv.h:
