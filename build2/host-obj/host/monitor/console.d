build2/host-obj/host/monitor/console.o: host/monitor/console.c \
 host/monitor/console.h common/err.h common/cleanup.h common/pty.h
host/monitor/console.h:
common/err.h:
common/cleanup.h:
common/pty.h:
