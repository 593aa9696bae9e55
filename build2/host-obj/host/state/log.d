build2/host-obj/host/state/log.o: host/state/log.c host/state/log.h \
 common/escape.h
host/state/log.h:
common/escape.h:
