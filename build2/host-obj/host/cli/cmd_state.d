build2/host-obj/host/cli/cmd_state.o: host/cli/cmd_state.c host/cli/cli.h \
 common/err.h host/state/state.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
