build2/host-obj/host/cli/cmd_spec.o: host/cli/cmd_spec.c host/cli/cli.h \
 common/err.h host/state/state.h host/state/fsutil.h common/fs.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
host/state/fsutil.h:
common/fs.h:
