#include "proto/msg_notify.h"

#include <string.h>

bool husk_notify_text_valid(const char *s, size_t n)
{
	return n >= 1 && n <= HUSK_NOTIFY_MAX && !memchr(s, '\0', n) && husk_cbor_utf8_valid((const uint8_t *)s, n);
}

void husk_msg_encode_notify(struct husk_cbor_enc *e, const struct husk_notify_msg *m)
{
	const char *s = m->message ? m->message : "";
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, "message");
	husk_cbor_put_textn(e, s, strnlen(s, HUSK_NOTIFY_MAX + 1));
}

int husk_msg_decode_notify(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_notify_msg *m,
			   struct husk_err *err)
{
	memset(m, 0, sizeof *m);
	int r = husk_msg_get_text(root, "message", HUSK_NOTIFY_MAX, false, a, &m->message, err);
	if (r < 0)
		return r;
	if (!m->message[0])
		return husk_err_set(err, EINVAL, "field \"message\" is empty");
	return 0;
}
