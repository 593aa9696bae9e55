build2/host-obj/host/monitor/stdio_relay.o: host/monitor/stdio_relay.c \
 host/monitor/stdio_relay.h common/bytequeue.h
host/monitor/stdio_relay.h:
common/bytequeue.h:
