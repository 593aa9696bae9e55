build2/host-obj/common/bytequeue.o: common/bytequeue.c common/bytequeue.h
common/bytequeue.h:
