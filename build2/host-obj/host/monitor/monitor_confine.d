build2/host-obj/host/monitor/monitor_confine.o: \
 host/monitor/monitor_confine.c host/monitor/monitor_confine.h \
 common/err.h host/vmm/vmm_privs.h
host/monitor/monitor_confine.h:
common/err.h:
host/vmm/vmm_privs.h:
