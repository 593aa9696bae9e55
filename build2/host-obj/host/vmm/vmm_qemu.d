build2/host-obj/host/vmm/vmm_qemu.o: host/vmm/vmm_qemu.c \
 host/vmm/vmm_qemu.h common/err.h host/vmm/argv.h common/cleanup.h
host/vmm/vmm_qemu.h:
common/err.h:
host/vmm/argv.h:
common/cleanup.h:
