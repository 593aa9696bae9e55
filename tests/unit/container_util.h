/* Shared by the unit tests of the container config: encode, parse and
 * decode one struct husk_container_config, as CREATE carries it. */
#ifndef HUSK_TESTS_CONTAINER_UTIL_H
#define HUSK_TESTS_CONTAINER_UTIL_H

#include "proto/msg_container.h"

static inline int container_round_trip(const struct husk_container_config *in, struct husk_container_config *out,
				       struct husk_err *err)
{
	static uint8_t enc_buf[1 << 20];
	static uint8_t arena_buf[4 << 20];
	struct husk_cbor_enc e;
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_container(&e, in);
	if (husk_cbor_enc_finish(&e, err) < 0)
		return -1;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	husk_err_clear(err);
	if (husk_msg_parse(e.buf, e.len, &a, &root, err) < 0)
		return -1;
	return husk_msg_decode_container(root, &a, out, err);
}

#endif
