build2/host-obj/host/cli/cmd_features.o: host/cli/cmd_features.c \
 host/cli/cli.h common/err.h host/state/state.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
