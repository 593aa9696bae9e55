build2/host-obj/host/monitor/console_log.o: host/monitor/console_log.c \
 host/monitor/console_log.h common/err.h
host/monitor/console_log.h:
common/err.h:
