/* Fuzzes the typed message decoders the guest runs on what the host sends
 * (CREATE with its container/security/resources/network parts, START,
 * EXEC, UPDATE) and
 * the host runs on what the guest sends: none may crash, hang or read out
 * of bounds, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_resources.h"
#include "proto/msg_security.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena_buf[4u << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_arena a;
	struct husk_err err = { 0 };
	const struct husk_cbor_item *root;
	if (size > HUSK_FRAME_MAX)
		return 0;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(data, size, &a, &root, &err) < 0)
		return 0;
	size_t mark = a.used;

	struct husk_create_msg create;
	if (husk_msg_decode_create(root, &a, &create, &err) == 0) {
		/* a decoded CREATE must re-encode */
		static uint8_t out[HUSK_FRAME_MAX];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, out, sizeof out);
		husk_msg_encode_create(&e, &create);
	}
	a.used = mark;
	husk_err_clear(&err);
	struct husk_exec_msg exec;
	husk_msg_decode_exec(root, &a, &exec, &err);
	a.used = mark;
	husk_err_clear(&err);
	struct husk_resources res;
	husk_msg_decode_resources(root, &a, &res, &err);
	a.used = mark;
	husk_err_clear(&err);
	struct husk_container_config cc;
	memset(&cc, 0, sizeof cc);
	husk_msg_decode_container(root, &a, &cc, &err);
	a.used = mark;
	husk_err_clear(&err);
	struct husk_process_security sec;
	memset(&sec, 0, sizeof sec);
	husk_msg_decode_security(root, &a, &sec, &err);
	a.used = mark;
	husk_err_clear(&err);
	struct husk_network *net;
	if (husk_msg_decode_start(root, &a, &net, &err) == 0 && net) {
		/* a decoded network is valid and re-encodes */
		static uint8_t out[HUSK_FRAME_MAX];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, out, sizeof out);
		husk_msg_encode_start(&e, net);
		if (husk_network_validate(net, &err) < 0)
			__builtin_trap();
	}
	return 0;
}
