build2/host-obj/common/fs.o: common/fs.c common/fs.h common/err.h
common/fs.h:
common/err.h:
