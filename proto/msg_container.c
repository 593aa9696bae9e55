#include "msg_container.h"

void husk_msg_encode_container(struct husk_cbor_enc *e, const struct husk_container_config *c)
{
	husk_cbor_put_map(e, 0);
}

int husk_msg_decode_container(const struct husk_cbor_item *map, struct husk_arena *a,
			      struct husk_container_config *out, struct husk_err *err)
{
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "container is not a map");
	return 0;
}
