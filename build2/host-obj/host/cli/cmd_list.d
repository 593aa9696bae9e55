build2/host-obj/host/cli/cmd_list.o: host/cli/cmd_list.c host/cli/cli.h \
 common/err.h host/state/state.h
host/cli/cli.h:
common/err.h:
host/state/state.h:
