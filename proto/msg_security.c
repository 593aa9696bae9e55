#include "msg_security.h"

void husk_msg_encode_security(struct husk_cbor_enc *e, const struct husk_process_security *s)
{
	husk_cbor_put_map(e, 0);
}

int husk_msg_decode_security(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_process_security *out,
			     struct husk_err *err)
{
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "security is not a map");
	return 0;
}
