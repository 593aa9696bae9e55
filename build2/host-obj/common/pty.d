build2/host-obj/common/pty.o: common/pty.c common/pty.h common/err.h
common/pty.h:
common/err.h:
