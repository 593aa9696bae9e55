/* NOTIFY {message}: one sd_notify datagram that a container process sent
 * to its NOTIFY_SOCKET, relayed by husk-init to the container monitor,
 * which passes it on to the socket in husk's own NOTIFY_SOCKET (the
 * caller's: systemd, conmon). The message is the datagram as text: 1 to
 * HUSK_NOTIFY_MAX bytes of UTF-8 without NUL ("READY=1\nSTATUS=..."). The
 * guest drops a datagram that does not fit; the host checks it again. */
#ifndef HUSK_PROTO_MSG_NOTIFY_H
#define HUSK_PROTO_MSG_NOTIFY_H

#include "proto/msg.h"

#define HUSK_NOTIFY_MAX 4096u

struct husk_notify_msg {
	char *message; /* NUL-terminated */
};

/* 1..HUSK_NOTIFY_MAX bytes, valid UTF-8, no NUL */
bool husk_notify_text_valid(const char *s, size_t n);
void husk_msg_encode_notify(struct husk_cbor_enc *e, const struct husk_notify_msg *m);
int husk_msg_decode_notify(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_notify_msg *m,
			   struct husk_err *err);

#endif
