/* CREATE and the small messages: encode, decode, and what the guest rejects. */
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[4u << 20];

static enum test_result test_create_round_trip(void)
{
	char *args[] = { "/bin/sh", "-c", "echo hi", NULL };
	char *env[] = { "PATH=/bin", "A=b", NULL };
	uint32_t gids[] = { 5, 7 };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "rootfs",
		.readonly = true,
		.hostname = "h",
		.stdin_open = true,
		.process = { .args = args,
			     .n_args = 3,
			     .env = env,
			     .n_env = 2,
			     .cwd = "/tmp",
			     .uid = 1,
			     .gid = 2,
			     .gids = gids,
			     .n_gids = 2,
			     .terminal = true,
			     .rows = 24,
			     .cols = 80 },
	};
	uint8_t buf[4096];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	husk_cbor_enc_init(&e, buf, sizeof buf);
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	struct husk_arena a;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	const struct husk_cbor_item *root;
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	struct husk_create_msg d;
	CHECK_EQ_INT(husk_msg_decode_create(root, &a, &d, &err), 0);
	CHECK_STR(d.id, "c1");
	CHECK_STR(d.rootfs_tag, "rootfs");
	CHECK(d.readonly);
	CHECK(d.stdin_open);
	CHECK_STR(d.hostname, "h");
	CHECK_EQ_INT(d.process.n_args, 3);
	CHECK_STR(d.process.args[2], "echo hi");
	CHECK(d.process.args[3] == NULL);
	CHECK_STR(d.process.env[1], "A=b");
	CHECK(d.process.env[2] == NULL);
	CHECK_STR(d.process.cwd, "/tmp");
	CHECK_EQ_INT(d.process.uid, 1);
	CHECK_EQ_INT(d.process.gids[1], 7);
	CHECK(d.process.terminal);
	CHECK_EQ_INT(d.process.rows, 24);
	CHECK_EQ_INT(d.process.cols, 80);
	return TEST_PASS;
}

/* builds a CREATE map with one field replaced by raw CBOR */
static size_t create_with(uint8_t *buf, size_t cap, const char *field, void (*put)(struct husk_cbor_enc *))
{
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, cap);
	husk_cbor_put_map(&e, 3);
	husk_cbor_put_text(&e, "id");
	if (!strcmp(field, "id"))
		put(&e);
	else
		husk_cbor_put_text(&e, "x");
	husk_cbor_put_text(&e, "rootfs_tag");
	husk_cbor_put_text(&e, "rootfs");
	husk_cbor_put_text(&e, "process");
	if (!strcmp(field, "process")) {
		put(&e);
	} else {
		husk_cbor_put_map(&e, 2);
		husk_cbor_put_text(&e, "args");
		husk_cbor_put_array(&e, 1);
		husk_cbor_put_text(&e, "/bin/true");
		husk_cbor_put_text(&e, "cwd");
		husk_cbor_put_text(&e, "/");
	}
	return e.len;
}

static void put_uint(struct husk_cbor_enc *e)
{
	husk_cbor_put_uint(e, 1);
}
static void put_nul_text(struct husk_cbor_enc *e)
{
	husk_cbor_put_textn(e, "a\0b", 3);
}
static void put_relative_cwd(struct husk_cbor_enc *e)
{
	husk_cbor_put_map(e, 2);
	husk_cbor_put_text(e, "args");
	husk_cbor_put_array(e, 1);
	husk_cbor_put_text(e, "x");
	husk_cbor_put_text(e, "cwd");
	husk_cbor_put_text(e, "rel");
}
static void put_empty_args(struct husk_cbor_enc *e)
{
	husk_cbor_put_map(e, 2);
	husk_cbor_put_text(e, "args");
	husk_cbor_put_array(e, 0);
	husk_cbor_put_text(e, "cwd");
	husk_cbor_put_text(e, "/");
}
static void put_big_uid(struct husk_cbor_enc *e)
{
	husk_cbor_put_map(e, 3);
	husk_cbor_put_text(e, "args");
	husk_cbor_put_array(e, 1);
	husk_cbor_put_text(e, "x");
	husk_cbor_put_text(e, "cwd");
	husk_cbor_put_text(e, "/");
	husk_cbor_put_text(e, "uid");
	husk_cbor_put_uint(e, 1ull << 40);
}
static void put_long_id(struct husk_cbor_enc *e)
{
	char s[HUSK_MAX_ID + 2];
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	husk_cbor_put_text(e, s);
}

static enum test_result test_create_rejections(void)
{
	static const struct {
		const char *field;
		void (*put)(struct husk_cbor_enc *);
	} cases[] = {
		{ "id", put_uint },
		{ "id", put_nul_text },
		{ "id", put_long_id },
		{ "process", put_relative_cwd },
		{ "process", put_empty_args },
		{ "process", put_big_uid },
		{ "process", put_uint },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t buf[1024];
		struct husk_err err = { 0 };
		struct husk_arena a;
		const struct husk_cbor_item *root;
		struct husk_create_msg d;
		size_t n = create_with(buf, sizeof buf, cases[i].field, cases[i].put);
		husk_arena_init(&a, arena_buf, sizeof arena_buf);
		CHECK_EQ_INT(husk_msg_parse(buf, n, &a, &root, &err), 0);
		int r = husk_msg_decode_create(root, &a, &d, &err);
		if (r >= 0) {
			printf("# case %zu accepted\n", i);
			return TEST_FAIL;
		}
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

/* a valid CREATE whose last key is overlay_mib, its value replaced: as
 * text when as_text, else the number mib; readonly as given */
static size_t create_overlay(uint8_t *buf, size_t cap, uint64_t mib, bool as_text, bool readonly)
{
	char *args[] = { "/bin/true", NULL };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "rootfs",
		.readonly = readonly,
		.process = { .args = args, .n_args = 1, .cwd = "/" },
		.overlay_mib = 256, /* 0x19 0x01 0x00 at the end */
	};
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, cap);
	husk_msg_encode_create(&e, &m);
	e.len -= 3;
	if (as_text)
		husk_cbor_put_text(&e, "256");
	else
		husk_cbor_put_uint(&e, mib);
	return e.len;
}

static int decode_overlay(const uint8_t *buf, size_t n, struct husk_create_msg *d, struct husk_err *err)
{
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	int r = husk_msg_parse(buf, n, &a, &root, err);
	return r < 0 ? r : husk_msg_decode_create(root, &a, d, err);
}

/* sandboxes: overlay_mib goes out only when set, 1 .. HUSK_OVERLAY_MAX_MIB,
 * also with readonly (the overlay then holds only mount points) */
static enum test_result test_create_overlay(void)
{
	char *args[] = { "/bin/true", NULL };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "rootfs",
		.process = { .args = args, .n_args = 1, .cwd = "/" },
		.overlay_mib = 256,
	};
	uint8_t buf[1024];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_create_msg d;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK_EQ_INT(decode_overlay(e.buf, e.len, &d, &err), 0);
	CHECK_EQ_INT(d.overlay_mib, 256);
	CHECK(!d.readonly);
	/* without an overlay the message has no such key (a CREATE as before) */
	m.overlay_mib = 0;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(memmem(e.buf, e.len, "overlay_mib", 11) == NULL);
	CHECK_EQ_INT(decode_overlay(e.buf, e.len, &d, &err), 0);
	CHECK_EQ_INT(d.overlay_mib, 0);
	size_t n = create_overlay(buf, sizeof buf, HUSK_OVERLAY_MAX_MIB, false, false);
	CHECK_EQ_INT(decode_overlay(buf, n, &d, &err), 0);
	CHECK_EQ_INT(d.overlay_mib, HUSK_OVERLAY_MAX_MIB);
	n = create_overlay(buf, sizeof buf, 1, false, true);
	CHECK_EQ_INT(decode_overlay(buf, n, &d, &err), 0);
	CHECK(d.readonly);
	CHECK_EQ_INT(d.overlay_mib, 1);
	static const struct {
		uint64_t mib;
		bool as_text, readonly;
	} bad[] = { { 0, false, false },
		    { HUSK_OVERLAY_MAX_MIB + 1, false, false },
		    { 1ull << 40, false, false },
		    { 256, true, false },
		    { 0, false, true } };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		n = create_overlay(buf, sizeof buf, bad[i].mib, bad[i].as_text, bad[i].readonly);
		if (decode_overlay(buf, n, &d, &err) >= 0) {
			printf("# overlay case %zu accepted\n", i);
			return TEST_FAIL;
		}
		CHECK(strstr(err.msg, "overlay_mib"));
	}
	return TEST_PASS;
}

/* a valid CREATE whose last key is hold (true: 0xf5 at the end), its value
 * replaced by kind: 0 the number 1, 1 the text "true", 2 an empty array,
 * 3 an empty map */
static size_t create_hold(uint8_t *buf, size_t cap, int kind)
{
	char *args[] = { "husk-hold", NULL };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "rootfs",
		.process = { .args = args, .n_args = 1, .cwd = "/" },
		.hold = true,
	};
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, cap);
	husk_msg_encode_create(&e, &m);
	e.len -= 1;
	if (kind == 0)
		husk_cbor_put_uint(&e, 1);
	else if (kind == 1)
		husk_cbor_put_text(&e, "true");
	else if (kind == 2)
		husk_cbor_put_array(&e, 0);
	else
		husk_cbor_put_map(&e, 0);
	return e.len;
}

/* sandbox start: hold goes out only when true (a CREATE without it is
 * byte for byte as before), and only a bool is taken */
static enum test_result test_create_hold(void)
{
	char *args[] = { "husk-hold", NULL };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "rootfs",
		.process = { .args = args, .n_args = 1, .cwd = "/" },
		.overlay_mib = 256,
		.hold = true,
	};
	uint8_t buf[1024], plain[1024];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_create_msg d;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(memmem(e.buf, e.len, "\x64hold", 5) != NULL);
	CHECK_EQ_INT(decode_overlay(e.buf, e.len, &d, &err), 0);
	CHECK(d.hold);
	CHECK_EQ_INT(d.overlay_mib, 256);
	CHECK_EQ_INT(d.process.n_args, 1);
	CHECK_STR(d.process.args[0], "husk-hold");
	size_t with = e.len;
	/* not held: no key, the same bytes as a CREATE that never knew it */
	m.hold = false;
	husk_cbor_enc_init(&e, plain, sizeof plain);
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(memmem(e.buf, e.len, "\x64hold", 5) == NULL);
	CHECK_EQ_INT(e.len, with - 6);            /* "hold" (5 bytes) and true (1) */
	CHECK(plain[0] == (uint8_t)(buf[0] - 1)); /* a map of one key fewer */
	CHECK(memcmp(plain + 1, buf + 1, e.len - 1) == 0);
	CHECK_EQ_INT(decode_overlay(e.buf, e.len, &d, &err), 0);
	CHECK(!d.hold);
	for (int kind = 0; kind < 4; kind++) {
		husk_err_clear(&err);
		size_t n = create_hold(buf, sizeof buf, kind);
		if (decode_overlay(buf, n, &d, &err) >= 0) {
			printf("# hold case %d accepted\n", kind);
			return TEST_FAIL;
		}
		CHECK_STR(err.msg, "field \"hold\" has the wrong type");
	}
	return TEST_PASS;
}

static enum test_result test_parse_needs_a_map(void)
{
	uint8_t buf[16];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_array(&e, 0);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK(husk_msg_parse(e.buf, e.len, &a, &root, &err) < 0);
	/* a tiny arena is an error, not an overflow */
	uint8_t small[64];
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 0);
	husk_arena_init(&a, small, sizeof small);
	husk_err_clear(&err);
	int r = husk_msg_parse(e.buf, e.len, &a, &root, &err);
	CHECK(r == 0 || r == -ENOMEM || r == -E2BIG);
	return TEST_PASS;
}

static enum test_result test_getters(void)
{
	uint8_t buf[128];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 3);
	husk_cbor_put_text(&e, "n");
	husk_cbor_put_uint(&e, 300);
	husk_cbor_put_text(&e, "b");
	husk_cbor_put_bool(&e, true);
	husk_cbor_put_text(&e, "d");
	husk_cbor_put_bytes(&e, "xyz", 3);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	uint64_t v;
	bool b;
	const uint8_t *d;
	size_t len;
	CHECK_EQ_INT(husk_msg_get_uint(root, "n", 1000, false, &v, &err), 0);
	CHECK_EQ_INT(v, 300);
	CHECK_EQ_INT(husk_msg_get_uint(root, "n", 255, false, &v, &err), -ERANGE);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_msg_get_uint(root, "b", 1, false, &v, &err), -EBADMSG);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_msg_get_uint(root, "missing", 1, false, &v, &err), -EBADMSG);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_msg_get_uint(root, "missing", 1, true, &v, &err), 0);
	CHECK_EQ_INT(husk_msg_get_bool(root, "b", false, &b, &err), 0);
	CHECK(b);
	CHECK_EQ_INT(husk_msg_get_bytes(root, "d", 3, &d, &len, &err), 0);
	CHECK_EQ_INT(len, 3);
	CHECK_EQ_INT(husk_msg_get_bytes(root, "d", 2, &d, &len, &err), -E2BIG);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "CREATE round trip", test_create_round_trip },
		{ "CREATE rejections", test_create_rejections },
		{ "CREATE overlay_mib (sandboxes)", test_create_overlay },
		{ "CREATE hold (sandbox start)", test_create_hold },
		{ "a message body must be a map", test_parse_needs_a_map },
		{ "field getters check type and range", test_getters },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
