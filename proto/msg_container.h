/* Container-wide configuration carried in CREATE: mounts, masked and
 * read-only paths, propagation, sysctl, devices, domainname. */
#ifndef HUSK_PROTO_MSG_CONTAINER_H
#define HUSK_PROTO_MSG_CONTAINER_H

#include "msg.h"

struct husk_container_config {
	int placeholder; /* filled in by the mounts work */
};

void husk_msg_encode_container(struct husk_cbor_enc *e, const struct husk_container_config *c);
int husk_msg_decode_container(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_container_config *out,
			      struct husk_err *err);

#endif
