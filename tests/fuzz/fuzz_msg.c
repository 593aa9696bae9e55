/* Fuzzes the typed message decoders the guest runs on what the host sends
 * (CREATE with its container/security/resources/network parts and pod
 * fields, START, EXEC, UPDATE, the {[ctr]} of PAUSE/RESUME/PS/STATS, HELLO, SIGNAL, RESIZE, STDIO, STDIO_CLOSE) and the host
 * runs on what the guest sends (the HELLO, OK {pid}, ERROR, PS and STATS
 * replies, STDIO, STDIO_CLOSE, STDIN_ACK, EXIT, OOM, NOTIFY, ADOPT): none may crash, hang
 * or read out of bounds, whatever the bytes; what one accepts re-encodes
 * and decodes again. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/msg.h"
#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_notify.h"
#include "proto/msg_resources.h"
#include "proto/msg_security.h"
#include "proto/msg_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t arena_buf[4u << 20];
static uint8_t out[HUSK_FRAME_MAX];
static uint8_t arena2_buf[4u << 20];

/* the encoder's output decodes again (with the same decoder, by the caller) */
static const struct husk_cbor_item *reparse(const struct husk_cbor_enc *e)
{
	struct husk_arena a2;
	struct husk_err err = { 0 };
	const struct husk_cbor_item *root;
	husk_arena_init(&a2, arena2_buf, sizeof arena2_buf);
	if (e->overflow || husk_msg_parse(e->buf, e->len, &a2, &root, &err) < 0)
		__builtin_trap();
	return root;
}

#define MUST(x)                                                                                                        \
	do {                                                                                                           \
		if ((x) < 0)                                                                                           \
			__builtin_trap();                                                                              \
	} while (0)

/* the session messages: each decoder, and a re-encode of what it accepts */
static void session_messages(const struct husk_cbor_item *root, struct husk_arena *a)
{
	struct husk_err err = { 0 };
	struct husk_cbor_enc e;
	size_t mark = a->used;
	union {
		struct husk_hello_msg hello;
		struct husk_pid_reply_msg pid;
		struct husk_error_msg error;
		struct husk_signal_msg sig;
		struct husk_resize_msg resize;
		struct husk_stdio_msg stdio;
		struct husk_stdio_close_msg close;
		struct husk_stdin_ack_msg ack;
		struct husk_exit_msg exit;
		struct husk_oom_msg oom;
		struct husk_notify_msg notify;
		struct husk_adopt_msg adopt;
		struct husk_ps_reply_msg ps;
		struct husk_update_msg update;
		struct husk_stats_msg stats;
		struct husk_ctr_msg ctr;
	} m, m2;

#define ROUND(decode_call, encode_call, decode_again)                                                                  \
	do {                                                                                                           \
		husk_err_clear(&err);                                                                                  \
		a->used = mark;                                                                                        \
		if ((decode_call) == 0) {                                                                              \
			husk_cbor_enc_init(&e, out, sizeof out);                                                       \
			encode_call;                                                                                   \
			const struct husk_cbor_item *r2 = reparse(&e);                                                 \
			MUST(decode_again);                                                                            \
		}                                                                                                      \
	} while (0)

	ROUND(husk_msg_decode_hello(root, &m.hello, &err), husk_msg_encode_hello(&e, &m.hello),
	      husk_msg_decode_hello(r2, &m2.hello, &err));
	ROUND(husk_msg_decode_hello_reply(root, a, &m.hello, &err), husk_msg_encode_hello_reply(&e, &m.hello),
	      husk_msg_decode_hello_reply(r2, a, &m2.hello, &err));
	ROUND(husk_msg_decode_pid_reply(root, &m.pid, &err), husk_msg_encode_pid_reply(&e, &m.pid),
	      husk_msg_decode_pid_reply(r2, &m2.pid, &err));
	ROUND(husk_msg_decode_error(root, a, &m.error, &err), husk_msg_encode_error(&e, m.error.code, m.error.message),
	      husk_msg_decode_error(r2, a, &m2.error, &err));
	ROUND(husk_msg_decode_signal(root, &m.sig, &err), husk_msg_encode_signal(&e, m.sig.signal, m.sig.all),
	      husk_msg_decode_signal(r2, &m2.sig, &err));
	ROUND(husk_msg_decode_resize(root, &m.resize, &err), husk_msg_encode_resize(&e, &m.resize),
	      husk_msg_decode_resize(r2, &m2.resize, &err));
	ROUND(husk_msg_decode_stdio(root, &m.stdio, &err), husk_msg_encode_stdio(&e, &m.stdio),
	      husk_msg_decode_stdio(r2, &m2.stdio, &err));
	ROUND(husk_msg_decode_stdio_close(root, &m.close, &err), husk_msg_encode_stdio_close(&e, &m.close),
	      husk_msg_decode_stdio_close(r2, &m2.close, &err));
	ROUND(husk_msg_decode_stdin_ack(root, &m.ack, &err), husk_msg_encode_stdin_ack(&e, &m.ack),
	      husk_msg_decode_stdin_ack(r2, &m2.ack, &err));
	ROUND(husk_msg_decode_exit(root, &m.exit, &err), husk_msg_encode_exit(&e, &m.exit),
	      husk_msg_decode_exit(r2, &m2.exit, &err));
	ROUND(husk_msg_decode_oom(root, &m.oom, &err), husk_msg_encode_oom(&e, &m.oom),
	      husk_msg_decode_oom(r2, &m2.oom, &err));
	ROUND(husk_msg_decode_notify(root, a, &m.notify, &err), husk_msg_encode_notify(&e, &m.notify),
	      husk_msg_decode_notify(r2, a, &m2.notify, &err));
	ROUND(husk_msg_decode_adopt(root, a, &m.adopt, &err), husk_msg_encode_adopt(&e, &m.adopt),
	      husk_msg_decode_adopt(r2, a, &m2.adopt, &err));
	ROUND(husk_msg_decode_ps_reply(root, a, &m.ps, &err), husk_msg_encode_ps_reply(&e, &m.ps),
	      husk_msg_decode_ps_reply(r2, a, &m2.ps, &err));
	ROUND(husk_msg_decode_update(root, a, &m.update, &err), husk_msg_encode_update(&e, &m.update),
	      husk_msg_decode_update(r2, a, &m2.update, &err));
	ROUND(husk_msg_decode_stats(root, a, &m.stats, &err), husk_msg_encode_stats(&e, &m.stats),
	      husk_msg_decode_stats(r2, a, &m2.stats, &err));
	ROUND(husk_msg_decode_ctr(root, &m.ctr, &err), husk_msg_encode_ctr(&e, &m.ctr),
	      husk_msg_decode_ctr(r2, &m2.ctr, &err));
	husk_err_clear(&err);
	husk_msg_decode_empty(root, &err);
	a->used = mark;
#undef ROUND
}

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

	session_messages(root, &a);

	struct husk_create_msg create, create2;
	if (husk_msg_decode_create(root, &a, &create, &err) == 0) {
		/* a decoded CREATE must re-encode; its pod fields decode again alike */
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, out, sizeof out);
		if (husk_msg_encode_create(&e, &create) == 0) {
			MUST(husk_msg_decode_create(reparse(&e), &a, &create2, &err));
			if (create2.ctr != create.ctr || memcmp(&create2.join, &create.join, sizeof create.join))
				__builtin_trap();
		}
	}
	a.used = mark;
	husk_err_clear(&err);
	struct husk_exec_msg exec;
	if (husk_msg_decode_exec(root, &a, &exec, &err) == 0 && exec.ctr >= HUSK_POD_MAX)
		__builtin_trap();
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
	struct husk_start_msg start;
	if (husk_msg_decode_start(root, &a, &start, &err) == 0) {
		/* a decoded network is valid; START re-encodes and decodes again */
		struct husk_cbor_enc e;
		struct husk_start_msg start2;
		husk_cbor_enc_init(&e, out, sizeof out);
		husk_msg_encode_start(&e, &start);
		if (start.added && husk_network_validate(start.added, &err) < 0)
			__builtin_trap();
		if (husk_msg_decode_start(reparse(&e), &a, &start2, &err) < 0 || start2.has_ctr != start.has_ctr ||
		    start2.ctr != start.ctr)
			__builtin_trap();
	}
	return 0;
}
