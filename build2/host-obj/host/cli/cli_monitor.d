build2/host-obj/host/cli/cli_monitor.o: host/cli/cli_monitor.c \
 host/cli/cli.h common/err.h host/state/state.h host/state/fsutil.h \
 common/fs.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
host/state/fsutil.h:
common/fs.h:
