build2/host-obj/host/state/unixsock.o: host/state/unixsock.c \
 host/state/unixsock.h common/err.h
host/state/unixsock.h:
common/err.h:
