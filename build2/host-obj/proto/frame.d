build2/host-obj/proto/frame.o: proto/frame.c proto/frame.h common/err.h \
 common/le.h
proto/frame.h:
common/err.h:
common/le.h:
