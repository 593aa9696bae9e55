build2/host-obj/proto/cbor.o: proto/cbor.c proto/cbor.h common/err.h
proto/cbor.h:
common/err.h:
