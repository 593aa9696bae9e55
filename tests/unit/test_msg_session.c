/* The session messages (proto/msg_session.h) and UPDATE / the STATS reply
 * (proto/msg_resources.h): encode -> decode -> equal for each, the bytes of
 * the ones both sides spelled by hand before, and what each decoder refuses. */
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[4u << 20];
static uint8_t buf[1u << 20];
static struct husk_arena arena;
static struct husk_err err;

/* the encoded body, parsed: what a receiver gets */
static const struct husk_cbor_item *parsed(const struct husk_cbor_enc *e)
{
	const struct husk_cbor_item *root = NULL;
	husk_err_clear(&err);
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	if (husk_cbor_enc_finish(e, &err) < 0 || husk_msg_parse(e->buf, e->len, &arena, &root, &err) < 0)
		return NULL;
	husk_err_clear(&err);
	return root;
}

static struct husk_cbor_enc enc(void)
{
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	return e;
}

/* the decoder failed with this code and filled err */
#define CHECK_REFUSED(call, want)                                                                                      \
	do {                                                                                                           \
		husk_err_clear(&err);                                                                                  \
		CHECK_EQ_INT((call), -(want));                                                                         \
		CHECK_EQ_INT(err.code, (want));                                                                        \
		CHECK(err.msg[0] != '\0');                                                                             \
	} while (0)

static bool bytes_are(const struct husk_cbor_enc *e, const char *hex)
{
	char got[256] = "";
	for (size_t i = 0; i < e->len && 2 * i + 2 < sizeof got; i++)
		snprintf(got + 2 * i, 3, "%02x", e->buf[i]);
	if (strcmp(got, hex) == 0)
		return true;
	printf("# bytes %s, expected %s\n", got, hex);
	return false;
}

static enum test_result test_hello(void)
{
	struct husk_cbor_enc e = enc();
	struct husk_hello_msg m = { .version = HUSK_PROTO_VERSION }, d;
	husk_msg_encode_hello(&e, &m);
	CHECK(bytes_are(&e, "a16776657273696f6e02")); /* {"version": 2}: pods */
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_hello(root, &d, &err), 0);
	CHECK_EQ_INT(d.version, HUSK_PROTO_VERSION);

	e = enc();
	m.kernel = "6.1.0-husk";
	husk_msg_encode_hello_reply(&e, &m);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_hello_reply(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.version, HUSK_PROTO_VERSION);
	CHECK_STR(d.kernel, "6.1.0-husk");

	/* a release longer than utsname holds, a version past 32 bits, none */
	char long_release[HUSK_MAX_KERNEL_RELEASE + 2];
	memset(long_release, 'x', sizeof long_release - 1);
	long_release[sizeof long_release - 1] = '\0';
	e = enc();
	husk_msg_encode_hello_reply(&e, &(struct husk_hello_msg){ .version = 1, .kernel = long_release });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_hello_reply(root, &arena, &d, &err), E2BIG);
	e = enc();
	husk_msg_encode_one_uint(&e, "version", (uint64_t)UINT32_MAX + 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_hello(root, &d, &err), ERANGE);
	e = enc();
	husk_msg_encode_empty(&e);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_hello(root, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_pid_reply(void)
{
	struct husk_cbor_enc e = enc();
	struct husk_pid_reply_msg d;
	husk_msg_encode_pid_reply(&e, &(struct husk_pid_reply_msg){ .pid = 4242 });
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_pid_reply(root, &d, &err), 0);
	CHECK_EQ_INT(d.pid, 4242);
	/* the same bytes as the one-key map the guest wrote before */
	struct husk_cbor_enc o = enc();
	uint8_t obuf[64];
	husk_cbor_enc_init(&o, obuf, sizeof obuf);
	husk_msg_encode_one_uint(&o, "pid", 4242);
	CHECK_EQ_INT(o.len, e.len);
	CHECK(memcmp(o.buf, e.buf, e.len) == 0);
	e = enc();
	husk_msg_encode_one_uint(&e, "pid", (uint64_t)INT32_MAX + 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_pid_reply(root, &d, &err), ERANGE);
	e = enc();
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "pid");
	husk_cbor_put_text(&e, "1");
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_pid_reply(root, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_error(void)
{
	struct husk_cbor_enc e = enc();
	struct husk_error_msg d;
	husk_msg_encode_error(&e, ENOENT, "no such file \xe2\x98\x83");
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_error(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.code, ENOENT);
	CHECK_STR(d.message, "no such file \xe2\x98\x83");

	/* code 0 goes out as EIO; a code past errno's range too */
	e = enc();
	husk_msg_encode_error(&e, 0, "x");
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_error(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.code, EIO);
	e = enc();
	husk_msg_encode_error(&e, 5000, "x");
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_error(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.code, EIO);

	/* a long message is cut to 1024 bytes at a character boundary */
	static char big[2000];
	memset(big, 'a', sizeof big - 1);
	memcpy(big + 1022, "\xe2\x98\x83", 3); /* a snowman across byte 1024 */
	e = enc();
	husk_msg_encode_error(&e, EINVAL, big);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_error(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(strlen(d.message), 1022);

	/* refused: a code past 4095, a message past 1024 bytes, a NUL in it */
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "code");
	husk_cbor_put_uint(&e, 4096);
	husk_cbor_put_text(&e, "message");
	husk_cbor_put_text(&e, "x");
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_error(root, &arena, &d, &err), ERANGE);
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "code");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "message");
	husk_cbor_put_textn(&e, big, 1025);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_error(root, &arena, &d, &err), E2BIG);
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "code");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "message");
	husk_cbor_put_textn(&e, "a\0b", 3);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_error(root, &arena, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_signal(void)
{
	struct husk_cbor_enc e = enc();
	struct husk_signal_msg d;
	husk_msg_encode_signal(&e, 9, true);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_signal(root, &d, &err), 0);
	CHECK_EQ_INT(d.signal, 9);
	CHECK(d.all);
	/* all is optional */
	e = enc();
	husk_msg_encode_one_uint(&e, "signal", 64);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_signal(root, &d, &err), 0);
	CHECK_EQ_INT(d.signal, 64);
	CHECK(!d.all);
	e = enc();
	husk_msg_encode_signal(&e, 0, false);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_signal(root, &d, &err), EINVAL);
	e = enc();
	husk_msg_encode_signal(&e, 65, false);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_signal(root, &d, &err), ERANGE);
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "signal");
	husk_cbor_put_uint(&e, 15);
	husk_cbor_put_text(&e, "all");
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_signal(root, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_resize(void)
{
	struct husk_cbor_enc e = enc();
	struct husk_resize_msg d;
	husk_msg_encode_resize(&e, &(struct husk_resize_msg){ .rows = 50, .cols = 65535 });
	/* {"rows": 50, "cols": 65535}, as the monitor wrote it */
	CHECK(bytes_are(&e, "a264726f7773183264636f6c7319ffff"));
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_resize(root, &d, &err), 0);
	CHECK_EQ_INT(d.rows, 50);
	CHECK_EQ_INT(d.cols, 65535);
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "rows");
	husk_cbor_put_uint(&e, 65536);
	husk_cbor_put_text(&e, "cols");
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_resize(root, &d, &err), ERANGE);
	e = enc();
	husk_msg_encode_one_uint(&e, "rows", 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_resize(root, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_stdio(void)
{
	static uint8_t data[HUSK_STDIO_CHUNK + 1];
	memset(data, 0xa5, sizeof data);
	struct husk_cbor_enc e = enc();
	struct husk_stdio_msg d;
	husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = 2, .data = data, .len = 5 });
	/* {"stream": 2, "data": h'a5a5a5a5a5'} */
	CHECK(bytes_are(&e, "a26673747265616d02646461746145a5a5a5a5a5"));
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_stdio(root, &d, &err), 0);
	CHECK_EQ_INT(d.stream, 2);
	CHECK_EQ_INT(d.len, 5);
	CHECK(d.data >= buf && d.data < buf + e.len); /* points into the payload */

	/* the header encoder + data in place is the same message, for every head size */
	static const size_t lens[] = { 0, 23, 24, 255, 256, 65535, 65536, HUSK_STDIO_CHUNK };
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		uint8_t head[HUSK_MSG_STDIO_HEAD_MAX];
		struct husk_cbor_enc h;
		husk_cbor_enc_init(&h, head, sizeof head);
		husk_msg_stdio_head(&h, 1, lens[i]);
		CHECK(!h.overflow);
		e = enc();
		husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = 1, .data = data, .len = lens[i] });
		CHECK_EQ_INT(h.len + lens[i], e.len);
		CHECK(memcmp(head, e.buf, h.len) == 0);
		CHECK((root = parsed(&e)));
		CHECK_EQ_INT(husk_msg_decode_stdio(root, &d, &err), 0);
		CHECK_EQ_INT(d.len, lens[i]);
	}
	/* the head fits HUSK_MSG_STDIO_HEAD_MAX even for the largest length */
	uint8_t head[HUSK_MSG_STDIO_HEAD_MAX];
	struct husk_cbor_enc h;
	husk_cbor_enc_init(&h, head, sizeof head);
	husk_msg_stdio_head(&h, 2, SIZE_MAX);
	CHECK(!h.overflow);

	/* refused: a chunk too large, stream 3, no data, data as text */
	e = enc();
	husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = 1, .data = data, .len = HUSK_STDIO_CHUNK + 1 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdio(root, &d, &err), E2BIG);
	e = enc();
	husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = 3, .data = data, .len = 1 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdio(root, &d, &err), ERANGE);
	e = enc();
	husk_msg_encode_one_uint(&e, "stream", 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdio(root, &d, &err), EBADMSG);
	e = enc();
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "stream");
	husk_cbor_put_uint(&e, 0);
	husk_cbor_put_text(&e, "data");
	husk_cbor_put_text(&e, "abc");
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdio(root, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_stdio_close_ack_exit_oom(void)
{
	struct husk_cbor_enc e = enc();
	const struct husk_cbor_item *root;
	struct husk_stdio_close_msg c;
	husk_msg_encode_stdio_close(&e, &(struct husk_stdio_close_msg){ .stream = 1 });
	CHECK(bytes_are(&e, "a16673747265616d01")); /* {"stream": 1} */
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_stdio_close(root, &c, &err), 0);
	CHECK_EQ_INT(c.stream, 1);
	e = enc();
	husk_msg_encode_stdio_close(&e, &(struct husk_stdio_close_msg){ .stream = 3 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdio_close(root, &c, &err), ERANGE);

	struct husk_stdin_ack_msg a;
	e = enc();
	husk_msg_encode_stdin_ack(&e, &(struct husk_stdin_ack_msg){ .bytes = HUSK_STDIN_WINDOW });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_stdin_ack(root, &a, &err), 0);
	CHECK_EQ_INT(a.bytes, HUSK_STDIN_WINDOW);
	e = enc();
	husk_msg_encode_stdin_ack(&e, &(struct husk_stdin_ack_msg){ .bytes = HUSK_STDIN_WINDOW + 1 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stdin_ack(root, &a, &err), ERANGE);

	struct husk_exit_msg x;
	e = enc();
	husk_msg_encode_exit(&e, &(struct husk_exit_msg){ .status = 137 });
	CHECK(bytes_are(&e, "a1667374617475731889")); /* {"status": 137} */
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_exit(root, &x, &err), 0);
	CHECK_EQ_INT(x.status, 137);
	e = enc();
	husk_msg_encode_exit(&e, &(struct husk_exit_msg){ .status = 256 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_exit(root, &x, &err), ERANGE);
	e = enc();
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "status");
	husk_cbor_put_int(&e, -1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_exit(root, &x, &err), EBADMSG);

	struct husk_oom_msg o;
	e = enc();
	husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = 3 });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_oom(root, &o, &err), 0);
	CHECK_EQ_INT(o.oom_kills, 3);
	e = enc();
	husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = (uint64_t)UINT32_MAX + 1 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_oom(root, &o, &err), ERANGE);
	return TEST_PASS;
}

static enum test_result test_ps_reply(void)
{
	struct husk_ps_entry procs[] = {
		{ .pid = 1, .ppid = 0, .uid = 0, .cmd = "sleep 100" },
		{ .pid = INT32_MAX, .ppid = 1, .uid = UINT32_MAX, .cmd = "" },
		{ .pid = 7, .ppid = 1, .uid = 1000, .cmd = "bad \xff utf-8" },
	};
	struct husk_ps_reply_msg m = { .procs = procs, .n_procs = 3 }, d;
	struct husk_cbor_enc e = enc();
	husk_msg_encode_ps_reply(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_ps_reply(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.n_procs, 3);
	for (uint32_t i = 0; i < 3; i++) {
		CHECK_EQ_INT(d.procs[i].pid, procs[i].pid);
		CHECK_EQ_INT(d.procs[i].ppid, procs[i].ppid);
		CHECK_EQ_INT(d.procs[i].uid, procs[i].uid);
	}
	CHECK_STR(d.procs[0].cmd, "sleep 100");
	CHECK_STR(d.procs[1].cmd, "");
	CHECK_STR(d.procs[2].cmd, "?"); /* not UTF-8: the encoder says so */

	/* streamed: the same bytes */
	static uint8_t other[4096];
	struct husk_cbor_enc s;
	husk_cbor_enc_init(&s, other, sizeof other);
	husk_msg_encode_ps_head(&s, 3);
	for (int i = 0; i < 3; i++)
		husk_msg_encode_ps_entry(&s, &procs[i]);
	CHECK_EQ_INT(s.len, e.len);
	CHECK(memcmp(s.buf, e.buf, e.len) == 0);

	/* empty list */
	e = enc();
	husk_msg_encode_ps_reply(&e, &(struct husk_ps_reply_msg){ 0 });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_ps_reply(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.n_procs, 0);

	/* refused: too many entries, a pid past INT32_MAX, no cmd, an entry not a map, no list */
	e = enc();
	husk_msg_encode_ps_head(&e, HUSK_PS_MAX + 1);
	for (uint32_t i = 0; i < HUSK_PS_MAX + 1; i++)
		husk_msg_encode_ps_entry(&e, &procs[0]);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ps_reply(root, &arena, &d, &err), E2BIG);
	e = enc();
	husk_msg_encode_ps_head(&e, 1);
	husk_cbor_put_map(&e, 4);
	husk_cbor_put_text(&e, "pid");
	husk_cbor_put_uint(&e, (uint64_t)INT32_MAX + 1);
	husk_cbor_put_text(&e, "ppid");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "uid");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "cmd");
	husk_cbor_put_text(&e, "x");
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ps_reply(root, &arena, &d, &err), ERANGE);
	e = enc();
	husk_msg_encode_ps_head(&e, 1);
	husk_cbor_put_map(&e, 3);
	husk_cbor_put_text(&e, "pid");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "ppid");
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_text(&e, "uid");
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ps_reply(root, &arena, &d, &err), EBADMSG);
	e = enc();
	husk_msg_encode_ps_head(&e, 1);
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ps_reply(root, &arena, &d, &err), EBADMSG);
	e = enc();
	husk_msg_encode_empty(&e);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ps_reply(root, &arena, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_empty(void)
{
	struct husk_cbor_enc e = enc();
	husk_msg_encode_empty(&e);
	CHECK(bytes_are(&e, "a0"));
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_empty(root, &err), 0);
	/* keys are ignored, as by every decoder */
	e = enc();
	husk_msg_encode_one_uint(&e, "x", 1);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_empty(root, &err), 0);
	/* an item that is not a map (the fuzzer hands decoders any root) */
	struct husk_cbor_item not_map = { .type = HUSK_CBOR_UINT, .span = 1 };
	CHECK_REFUSED(husk_msg_decode_empty(&not_map, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_update(void)
{
	struct husk_update_msg m = { .resources = { .has_memory_limit = true,
						    .memory_limit = 1 << 30,
						    .has_pids_limit = true,
						    .pids_limit = -1,
						    .cpuset_cpus = "0-1" } },
			       d;
	struct husk_cbor_enc e = enc();
	husk_msg_encode_update(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_update(root, &arena, &d, &err), 0);
	CHECK(d.resources.has_memory_limit);
	CHECK_EQ_INT(d.resources.memory_limit, 1 << 30);
	CHECK(d.resources.has_pids_limit);
	CHECK_EQ_INT(d.resources.pids_limit, -1);
	CHECK_STR(d.resources.cpuset_cpus, "0-1");
	CHECK(!d.resources.has_cpu_shares);
	/* the bytes the update verb wrote by hand: {"resources": <resources>} */
	static uint8_t other[4096];
	struct husk_cbor_enc o;
	husk_cbor_enc_init(&o, other, sizeof other);
	husk_cbor_put_map(&o, 1);
	husk_cbor_put_text(&o, "resources");
	husk_msg_encode_resources(&o, &m.resources);
	CHECK_EQ_INT(o.len, e.len);
	CHECK(memcmp(o.buf, e.buf, e.len) == 0);

	e = enc();
	husk_msg_encode_empty(&e);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_update(root, &arena, &d, &err), EBADMSG);
	e = enc();
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "resources");
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_update(root, &arena, &d, &err), EBADMSG);
	e = enc();
	husk_msg_encode_update(&e,
			       &(struct husk_update_msg){ .resources = { .has_cpu_shares = true, .cpu_shares = 1 } });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_update(root, &arena, &d, &err), ERANGE);
	return TEST_PASS;
}

static void sample_stats(struct husk_stats_msg *m, struct husk_stat_counter *kv, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		static char keys[HUSK_STATS_MEMORY_MAX + 8][16];
		snprintf(keys[i], sizeof keys[i], "k%u", i);
		kv[i] = (struct husk_stat_counter){ .key = keys[i], .value = (uint64_t)i * 4096 };
	}
	*m = (struct husk_stats_msg){
		.cpu_usage_ns = 1,
		.cpu_user_ns = 2,
		.cpu_system_ns = 3,
		.memory_usage = 4,
		.memory_limit = -1,
		.swap_usage = 6,
		.pids_current = 7,
		.pids_limit = 8,
		.io_read_bytes = 9,
		.io_write_bytes = 10,
		.io_reads = 11,
		.io_writes = 12,
		.oom_kills = 13,
		.memory_stat = kv,
		.n_memory_stat = n,
		.time_ns = UINT64_MAX,
	};
}

static enum test_result test_stats(void)
{
	struct husk_stat_counter kv[HUSK_STATS_MEMORY_MAX + 8];
	struct husk_stats_msg m, d;
	sample_stats(&m, kv, 3);
	struct husk_cbor_enc e = enc();
	husk_msg_encode_stats(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(root->count, 15);
	CHECK_EQ_INT(husk_msg_decode_stats(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.cpu_usage_ns, 1);
	CHECK_EQ_INT(d.cpu_user_ns, 2);
	CHECK_EQ_INT(d.cpu_system_ns, 3);
	CHECK_EQ_INT(d.memory_usage, 4);
	CHECK_EQ_INT(d.memory_limit, -1);
	CHECK_EQ_INT(d.swap_usage, 6);
	CHECK_EQ_INT(d.pids_current, 7);
	CHECK_EQ_INT(d.pids_limit, 8);
	CHECK_EQ_INT(d.io_read_bytes, 9);
	CHECK_EQ_INT(d.io_write_bytes, 10);
	CHECK_EQ_INT(d.io_reads, 11);
	CHECK_EQ_INT(d.io_writes, 12);
	CHECK_EQ_INT(d.oom_kills, 13);
	CHECK(d.time_ns == UINT64_MAX);
	CHECK_EQ_INT(d.n_memory_stat, 3);
	CHECK_STR(d.memory_stat[2].key, "k2");
	CHECK_EQ_INT(d.memory_stat[2].value, 8192);

	/* the encoder caps the counters and writes "?" for a key the decoder would refuse */
	sample_stats(&m, kv, HUSK_STATS_MEMORY_MAX + 8);
	kv[0].key = "a_key_that_is_longer_than_sixty_three_bytes_which_no_kernel_writes_";
	kv[1].key = "\xff";
	e = enc();
	husk_msg_encode_stats(&e, &m);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_stats(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.n_memory_stat, HUSK_STATS_MEMORY_MAX);
	CHECK_STR(d.memory_stat[0].key, "?");
	CHECK_STR(d.memory_stat[1].key, "?");

	/* refused: a key missing, a limit below -1, too many counters, a key too long, a text value */
	static const char *const keys[] = { "cpu_usage_ns", "memory_limit", "pids_limit", "memory_stat", "time_ns" };
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		struct husk_cbor_item *items = (struct husk_cbor_item *)parsed(&e);
		CHECK(items);
		/* rename the key in place: same length, unknown */
		const struct husk_cbor_item *it = husk_cbor_first(items);
		for (uint32_t i = 0; i < items->count; i++, it = husk_cbor_next(husk_cbor_next(it)))
			if (husk_cbor_text_eq(it, keys[k]))
				((uint8_t *)it->v.ptr)[0] = 'Z';
		CHECK_REFUSED(husk_msg_decode_stats(items, &arena, &d, &err), EBADMSG);
		e = enc();
		husk_msg_encode_stats(&e, &m);
	}
	sample_stats(&m, kv, 1);
	m.memory_limit = 5;
	e = enc();
	husk_msg_encode_stats(&e, &m);
	/* memory_limit -2: patch the encoded 5 (0x05) to a negative integer -2 (0x21) */
	uint8_t *five = memmem(buf, e.len, "memory_limit\x05", 13);
	CHECK(five);
	five[12] = 0x21;
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stats(root, &arena, &d, &err), ERANGE);

	e = enc();
	husk_cbor_put_map(&e, 15);
	static const char *const counters[] = { "cpu_usage_ns", "cpu_user_ns",  "cpu_system_ns", "memory_usage",
						"swap_usage",   "pids_current", "io_read_bytes", "io_write_bytes",
						"io_reads",     "io_writes",    "oom_kills",     "time_ns" };
	for (size_t i = 0; i < ARRAY_SIZE(counters); i++) {
		husk_cbor_put_text(&e, counters[i]);
		husk_cbor_put_uint(&e, 0);
	}
	husk_cbor_put_text(&e, "memory_limit");
	husk_cbor_put_int(&e, -1);
	husk_cbor_put_text(&e, "pids_limit");
	husk_cbor_put_int(&e, -1);
	husk_cbor_put_text(&e, "memory_stat");
	size_t at = e.len;
	husk_cbor_put_map(&e, HUSK_STATS_MEMORY_MAX + 1);
	for (uint32_t i = 0; i < HUSK_STATS_MEMORY_MAX + 1; i++) {
		husk_cbor_put_text(&e, "k");
		husk_cbor_put_uint(&e, i);
	}
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stats(root, &arena, &d, &err), E2BIG);
	/* one counter, its key too long, then its value as text */
	e.len = at;
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "0123456789012345678901234567890123456789012345678901234567890123");
	husk_cbor_put_uint(&e, 1);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stats(root, &arena, &d, &err), EBADMSG);
	e.len = at;
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "anon");
	husk_cbor_put_text(&e, "1");
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_stats(root, &arena, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_adopt(void)
{
	struct husk_cbor_enc e = enc();
	husk_msg_encode_adopt(&e, &(struct husk_adopt_msg){ .id = "ctr-1" });
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	struct husk_adopt_msg m;
	CHECK_EQ_INT(husk_msg_decode_adopt(root, &arena, &m, &err), 0);
	CHECK_STR(m.id, "ctr-1");
	e = enc();
	husk_msg_encode_adopt(&e, &(struct husk_adopt_msg){ .id = "" });
	root = parsed(&e);
	CHECK(root);
	CHECK_REFUSED(husk_msg_decode_adopt(root, &arena, &m, &err), EINVAL);
	e = enc();
	husk_msg_encode_resize(&e, &(struct husk_resize_msg){ .rows = 1, .cols = 2 });
	root = parsed(&e);
	CHECK(root);
	husk_err_clear(&err);
	CHECK(husk_msg_decode_adopt(root, &arena, &m, &err) < 0);
	CHECK_STR(husk_msg_type_name(HUSK_MSG_ADOPT), "ADOPT");
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "HELLO and its reply", test_hello },
		{ "OK {pid}", test_pid_reply },
		{ "ERROR", test_error },
		{ "SIGNAL", test_signal },
		{ "RESIZE", test_resize },
		{ "STDIO and its header encoder", test_stdio },
		{ "STDIO_CLOSE, STDIN_ACK, EXIT, OOM", test_stdio_close_ack_exit_oom },
		{ "PS reply", test_ps_reply },
		{ "empty bodies", test_empty },
		{ "UPDATE", test_update },
		{ "STATS reply", test_stats },
		{ "ADOPT", test_adopt },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
