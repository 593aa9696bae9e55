build2/host-obj/host/spec/hooks.o: host/spec/hooks.c host/spec/hooks.h \
 common/err.h common/cleanup.h common/clock.h host/state/log.h \
 host/state/state.h host/vmm/spawn.h
host/spec/hooks.h:
common/err.h:
common/cleanup.h:
common/clock.h:
host/state/log.h:
host/state/state.h:
host/vmm/spawn.h:
