/* Pods in the protocol (version 2): CREATE's "ctr" and "join", EXEC's
 * "ctr", the {[ctr]} body of PAUSE/RESUME/PS/STATS, UPDATE's and START's
 * "ctr". Round trips, the one-container bodies unchanged (no new key), and
 * every refusal of the decoders. */
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg.h"
#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[4u << 20];
static uint8_t buf[1u << 16];
static struct husk_arena arena;
static struct husk_err err;

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

#define CHECK_REFUSED(call, want)                                                                                      \
	do {                                                                                                           \
		husk_err_clear(&err);                                                                                  \
		CHECK_EQ_INT((call), -(want));                                                                         \
		CHECK_EQ_INT(err.code, (want));                                                                        \
		CHECK(err.msg[0] != '\0');                                                                             \
	} while (0)

static bool bytes_are(const struct husk_cbor_enc *e, const char *hex)
{
	char got[512] = "";
	for (size_t i = 0; i < e->len && 2 * i + 2 < sizeof got; i++)
		snprintf(got + 2 * i, 3, "%02x", e->buf[i]);
	if (!strcmp(got, hex))
		return true;
	printf("# bytes %s, expected %s\n", got, hex);
	return false;
}

static char *args[] = { "/bin/sh", NULL };
static char *env[] = { NULL };

static struct husk_create_msg base_create(struct husk_container_config *cc)
{
	memset(cc, 0, sizeof *cc);
	cc->namespaces = HUSK_NS_MOUNT;
	return (struct husk_create_msg){
		.id = "m1",
		.rootfs_tag = "vfs",
		.process = { .args = args, .n_args = 1, .env = env, .cwd = "/" },
		.container = cc,
	};
}

/* an encoded body has this key at its top level */
static bool has_key(const struct husk_cbor_enc *e, const char *key)
{
	const struct husk_cbor_item *root = parsed(e);
	return root && husk_cbor_map_get(root, key) != NULL;
}

static enum test_result test_create_pod_round_trip(void)
{
	struct husk_container_config cc;
	struct husk_create_msg m = base_create(&cc), d;
	m.ctr = 3;
	m.join = (struct husk_ns_join){
		.mask = HUSK_NS_PID | HUSK_NS_IPC | HUSK_NS_UTS | HUSK_NS_CGROUP,
		.slot = { [HUSK_JOIN_PID] = 0, [HUSK_JOIN_IPC] = 1, [HUSK_JOIN_UTS] = 15, [HUSK_JOIN_CGROUP] = 2 }
	};
	struct husk_cbor_enc e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_create(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.ctr, 3);
	CHECK_EQ_INT(d.join.mask, m.join.mask);
	for (int k = 0; k < HUSK_JOIN_KINDS; k++)
		CHECK_EQ_INT(d.join.slot[k], m.join.slot[k]);
	/* one kind: the map holds that one key only */
	m.join = (struct husk_ns_join){ .mask = HUSK_NS_IPC, .slot = { [HUSK_JOIN_IPC] = 0 } };
	e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK((root = parsed(&e)));
	const struct husk_cbor_item *j = husk_cbor_map_get(root, "join");
	CHECK(j && j->type == HUSK_CBOR_MAP && j->count == 1 && husk_cbor_map_get(j, "ipc"));
	CHECK_EQ_INT(husk_msg_decode_create(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.join.mask, HUSK_NS_IPC);
	return TEST_PASS;
}

/* slot 0 without joins: today's CREATE, no new key, the same bytes */
static enum test_result test_create_one_container_unchanged(void)
{
	struct husk_container_config cc;
	struct husk_create_msg m = base_create(&cc), d;
	struct husk_cbor_enc e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(!has_key(&e, "ctr") && !has_key(&e, "join"));
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root && root->count == 7); /* id, rootfs_tag, readonly, hostname, stdin, process, container */
	CHECK_EQ_INT(husk_msg_decode_create(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.ctr, 0);
	CHECK_EQ_INT(d.join.mask, 0);
	/* a join mask of 0 writes nothing even with slots filled in */
	uint8_t first[4096];
	size_t n = e.len;
	memcpy(first, buf, n);
	m.join.slot[HUSK_JOIN_PID] = 9;
	e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(e.len == n && !memcmp(first, buf, n));
	return TEST_PASS;
}

/* a CREATE with ctr and a join map spelled by hand */
static int decode_create_with(uint64_t ctr, int n_join, const char *const *keys, const uint64_t *slots,
			      uint32_t namespaces, bool network)
{
	struct husk_container_config cc;
	struct husk_create_msg m = base_create(&cc), d;
	static struct husk_network net = { .n_ifaces = 1,
					   .ifaces = { { .name = "eth0",
							 .dev_mac = { 0x52, 0x54, 0, 0, 0, 1 },
							 .mac = { 0x02, 0x42, 0xac, 0x11, 0, 2 },
							 .mtu = 1500 } } };
	cc.namespaces = namespaces;
	m.network = network ? &net : NULL;
	struct husk_cbor_enc e = enc();
	/* the body without its own ctr/join, then ours appended to the map */
	husk_msg_encode_create(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	if (!root)
		return -999;
	uint32_t count = root->count + 1 + (n_join >= 0);
	struct husk_cbor_enc e2;
	static uint8_t buf2[sizeof buf];
	husk_cbor_enc_init(&e2, buf2, sizeof buf2);
	husk_cbor_put_map(&e2, count);
	/* the original pairs: skip the map head (one byte below 24 entries) */
	memcpy(buf2 + e2.len, buf + 1, e.len - 1);
	e2.len += e.len - 1;
	husk_cbor_put_text(&e2, "ctr");
	husk_cbor_put_uint(&e2, ctr);
	if (n_join >= 0) {
		husk_cbor_put_text(&e2, "join");
		husk_cbor_put_map(&e2, (uint64_t)n_join);
		for (int i = 0; i < n_join; i++) {
			husk_cbor_put_text(&e2, keys[i]);
			husk_cbor_put_uint(&e2, slots[i]);
		}
	}
	root = parsed(&e2);
	if (!root)
		return -998;
	return husk_msg_decode_create(root, &arena, &d, &err);
}

static enum test_result test_create_pod_refusals(void)
{
	static const char *const kinds[] = { "pid", "ipc", "uts", "cgroup", "pid" };
	static const char *const mount[] = { "mnt" };
	static const char *const user[] = { "user" };
	static const uint64_t zeros[5] = { 0 };
	static const uint64_t sixteen[1] = { 16 };
	static const uint64_t two[1] = { 2 };
	uint32_t mnt = HUSK_NS_MOUNT;
	/* good, to show the cases below fail for their own reason */
	CHECK_EQ_INT(decode_create_with(2, 4, kinds, zeros, mnt, false), 0);
	CHECK_EQ_INT(decode_create_with(15, -1, NULL, NULL, HUSK_NS_DEFAULT, false), 0);
	CHECK_REFUSED(decode_create_with(16, -1, NULL, NULL, mnt, false), ERANGE);
	CHECK_REFUSED(decode_create_with(2, 1, kinds, two, mnt, false), EINVAL); /* its own slot */
	CHECK_REFUSED(decode_create_with(0, 1, kinds, zeros, mnt, false), EINVAL);
	CHECK_REFUSED(decode_create_with(2, 1, kinds, sixteen, mnt, false), ERANGE);
	CHECK_REFUSED(decode_create_with(2, 5, kinds, zeros, mnt, false), E2BIG);
	CHECK_REFUSED(decode_create_with(2, 4, (const char *const[]){ "pid", "ipc", "pid", "uts" }, zeros, mnt, false),
		      EINVAL);
	CHECK_REFUSED(decode_create_with(2, 1, mount, zeros, mnt, false), EINVAL);
	CHECK_REFUSED(decode_create_with(2, 1, user, zeros, mnt, false), EINVAL);
	/* a joined kind also created: pid with HUSK_NS_PID, and the default set */
	CHECK_REFUSED(decode_create_with(2, 1, kinds, zeros, mnt | HUSK_NS_PID, false), EINVAL);
	CHECK_REFUSED(decode_create_with(2, 1, kinds + 2, zeros, HUSK_NS_DEFAULT, false), EINVAL);
	/* a user namespace of its own cannot join */
	CHECK_REFUSED(decode_create_with(2, 1, kinds + 1, zeros, mnt | HUSK_NS_USER, false), EINVAL);
	/* only the first container carries the network */
	CHECK_REFUSED(decode_create_with(1, -1, NULL, NULL, mnt, true), EINVAL);
	CHECK_EQ_INT(decode_create_with(0, -1, NULL, NULL, mnt, true), 0);
	return TEST_PASS;
}

static enum test_result test_create_pod_wrong_types(void)
{
	struct husk_container_config cc;
	struct husk_create_msg m = base_create(&cc), d;
	struct husk_cbor_enc e = enc();
	husk_msg_encode_create(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	uint32_t count = root->count; /* root lives in the arena the next parse reuses */
	/* "ctr": text, "join": an array, a join slot of text */
	for (int variant = 0; variant < 3; variant++) {
		static uint8_t b2[sizeof buf];
		struct husk_cbor_enc e2;
		husk_cbor_enc_init(&e2, b2, sizeof b2);
		husk_cbor_put_map(&e2, count + 1);
		memcpy(b2 + e2.len, buf + 1, e.len - 1);
		e2.len += e.len - 1;
		husk_cbor_put_text(&e2, variant == 0 ? "ctr" : "join");
		if (variant == 0)
			husk_cbor_put_text(&e2, "1");
		else if (variant == 1)
			husk_cbor_put_array(&e2, 0);
		else {
			husk_cbor_put_map(&e2, 1);
			husk_cbor_put_text(&e2, "ipc");
			husk_cbor_put_text(&e2, "0");
		}
		const struct husk_cbor_item *r2 = parsed(&e2);
		CHECK(r2);
		husk_err_clear(&err);
		CHECK(husk_msg_decode_create(r2, &arena, &d, &err) < 0);
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

/* pools: "tree" round trips, is written only when true, and must be a bool */
static enum test_result test_create_tree(void)
{
	struct husk_container_config cc;
	struct husk_create_msg m = base_create(&cc), d;
	struct husk_cbor_enc e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	CHECK(!has_key(&e, "tree"));
	m.tree = true;
	e = enc();
	CHECK_EQ_INT(husk_msg_encode_create(&e, &m), 0);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root && root->count == 8);
	const struct husk_cbor_item *t = husk_cbor_map_get(root, "tree");
	CHECK(t && t->type == HUSK_CBOR_BOOL && t->v.b);
	CHECK_EQ_INT(husk_msg_decode_create(root, &arena, &d, &err), 0);
	CHECK(d.tree && d.ctr == 0);
	/* "tree": false reads as absent; "tree": 1 is refused */
	m.tree = false;
	e = enc();
	husk_msg_encode_create(&e, &m);
	CHECK((root = parsed(&e)));
	uint32_t count = root->count;
	for (int variant = 0; variant < 2; variant++) {
		static uint8_t b2[sizeof buf];
		struct husk_cbor_enc e2;
		husk_cbor_enc_init(&e2, b2, sizeof b2);
		husk_cbor_put_map(&e2, count + 1);
		memcpy(b2 + e2.len, buf + 1, e.len - 1);
		e2.len += e.len - 1;
		husk_cbor_put_text(&e2, "tree");
		if (variant == 0)
			husk_cbor_put_bool(&e2, false);
		else
			husk_cbor_put_uint(&e2, 1);
		const struct husk_cbor_item *r2 = parsed(&e2);
		CHECK(r2);
		husk_err_clear(&err);
		if (variant == 0) {
			CHECK_EQ_INT(husk_msg_decode_create(r2, &arena, &d, &err), 0);
			CHECK(!d.tree);
		} else {
			CHECK_REFUSED(husk_msg_decode_create(r2, &arena, &d, &err), EBADMSG);
		}
	}
	return TEST_PASS;
}

static enum test_result test_join_problem(void)
{
	struct husk_ns_join j = { .mask = HUSK_NS_UTS, .slot = { [HUSK_JOIN_UTS] = 4 } };
	CHECK(husk_join_problem(1, &j, HUSK_NS_MOUNT) == NULL);
	CHECK(husk_join_problem(4, &j, HUSK_NS_MOUNT) != NULL);
	CHECK(husk_join_problem(HUSK_POD_MAX, &(struct husk_ns_join){ 0 }, HUSK_NS_MOUNT) != NULL);
	CHECK(husk_join_problem(1, &(struct husk_ns_join){ .mask = HUSK_NS_MOUNT }, HUSK_NS_MOUNT) != NULL);
	CHECK(husk_join_problem(1, &(struct husk_ns_join){ .mask = HUSK_NS_TIME }, HUSK_NS_MOUNT) != NULL);
	j.slot[HUSK_JOIN_UTS] = HUSK_POD_MAX;
	CHECK(husk_join_problem(1, &j, HUSK_NS_MOUNT) != NULL);
	CHECK(husk_join_problem(1, &(struct husk_ns_join){ 0 }, HUSK_NS_ALL) == NULL);
	CHECK_STR(husk_join_key(HUSK_JOIN_CGROUP), "cgroup");
	CHECK_EQ_INT(husk_join_ns(HUSK_JOIN_PID), HUSK_NS_PID);
	return TEST_PASS;
}

static enum test_result test_exec_ctr(void)
{
	struct husk_exec_msg m = { .process = { .args = args, .n_args = 1, .env = env, .cwd = "/" } }, d;
	struct husk_cbor_enc e = enc();
	CHECK_EQ_INT(husk_msg_encode_exec(&e, &m), 0);
	CHECK(!has_key(&e, "ctr"));
	CHECK_EQ_INT(parsed(&e)->count, 2);
	m.ctr = 15;
	e = enc();
	CHECK_EQ_INT(husk_msg_encode_exec(&e, &m), 0);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_exec(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(d.ctr, 15);
	m.ctr = 16; /* the encoder writes what it is given; the decoder refuses */
	e = enc();
	CHECK_EQ_INT(husk_msg_encode_exec(&e, &m), 0);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_exec(root, &arena, &d, &err), ERANGE);
	return TEST_PASS;
}

static enum test_result test_ctr_body(void)
{
	struct husk_ctr_msg d;
	struct husk_cbor_enc e = enc();
	husk_msg_encode_ctr(&e, &(struct husk_ctr_msg){ .has_ctr = false, .ctr = 7 });
	CHECK(bytes_are(&e, "a0")); /* {}: today's PAUSE, RESUME, PS, STATS */
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_ctr(root, &d, &err), 0);
	CHECK(!d.has_ctr);
	CHECK_EQ_INT(d.ctr, 0);
	e = enc();
	husk_msg_encode_ctr(&e, &(struct husk_ctr_msg){ .has_ctr = true, .ctr = 0 });
	CHECK(bytes_are(&e, "a163637472"
			    "00")); /* {"ctr": 0} */
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_ctr(root, &d, &err), 0);
	CHECK(d.has_ctr);
	CHECK_EQ_INT(d.ctr, 0);
	e = enc();
	husk_msg_encode_ctr(&e, &(struct husk_ctr_msg){ .has_ctr = true, .ctr = HUSK_POD_MAX });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ctr(root, &d, &err), ERANGE);
	e = enc();
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "ctr");
	husk_cbor_put_bool(&e, true);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_ctr(root, &d, &err), EBADMSG);
	/* null reads as absent, as every optional field */
	e = enc();
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "ctr");
	husk_cbor_put_null(&e);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_ctr(root, &d, &err), 0);
	CHECK(!d.has_ctr);
	struct husk_cbor_item not_map = { .type = HUSK_CBOR_ARRAY };
	CHECK_REFUSED(husk_msg_decode_ctr(&not_map, &d, &err), EBADMSG);
	return TEST_PASS;
}

static enum test_result test_update_ctr(void)
{
	struct husk_update_msg m = { .resources = { .has_pids_limit = true, .pids_limit = 10 } }, d;
	struct husk_cbor_enc e = enc();
	husk_msg_encode_update(&e, &m);
	CHECK(!has_key(&e, "ctr"));
	m.has_ctr = true;
	m.ctr = 4;
	e = enc();
	husk_msg_encode_update(&e, &m);
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_update(root, &arena, &d, &err), 0);
	CHECK(d.has_ctr);
	CHECK_EQ_INT(d.ctr, 4);
	CHECK_EQ_INT(d.resources.pids_limit, 10);
	m.ctr = 99;
	e = enc();
	husk_msg_encode_update(&e, &m);
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_update(root, &arena, &d, &err), ERANGE);
	return TEST_PASS;
}

static enum test_result test_start_ctr(void)
{
	struct husk_start_msg d;
	struct husk_network none = { 0 };
	struct husk_cbor_enc e = enc();
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .added = &none });
	CHECK(bytes_are(&e, "a0")); /* today's START without new interfaces */
	e = enc();
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .has_ctr = true, .ctr = 1 });
	CHECK(bytes_are(&e, "a163637472"
			    "01"));
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_start(root, &arena, &d, &err), 0);
	CHECK(d.has_ctr && d.ctr == 1 && d.added == NULL);
	e = enc();
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .has_ctr = true, .ctr = 16 });
	CHECK((root = parsed(&e)));
	CHECK_REFUSED(husk_msg_decode_start(root, &arena, &d, &err), ERANGE);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "CREATE with ctr and join: round trip", test_create_pod_round_trip },
		{ "CREATE of slot 0 without joins: no new key, same bytes", test_create_one_container_unchanged },
		{ "CREATE refuses ctr 16, joins to itself, 5 joins, unknown kinds, created+joined, network on a member",
		  test_create_pod_refusals },
		{ "CREATE refuses ctr and join of the wrong type", test_create_pod_wrong_types },
		{ "CREATE tree: written only when true, round trip, a bool", test_create_tree },
		{ "husk_join_problem names each wrong join", test_join_problem },
		{ "EXEC ctr: written only when not 0, 16 refused", test_exec_ctr },
		{ "PAUSE/RESUME/PS/STATS body {[ctr]}: {} unchanged, bounds, types", test_ctr_body },
		{ "UPDATE ctr: written only when asked, bounds", test_update_ctr },
		{ "START ctr: {} unchanged, round trip, bounds", test_start_ctr },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
