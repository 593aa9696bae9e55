/* Differential tests of proto/cbor.c against libcbor, the reference
 * implementation, with a fixed seed so every run checks the same inputs:
 * random valid trees written by our encoder and by libcbor's encoders side by
 * side (same bytes), then decoded by both (same values); mutations of those
 * encodings and random byte strings, where whenever we accept, libcbor must
 * accept the whole input with the same values. The converse is not checked:
 * libcbor accepts tags, floats and indefinite lengths, which we refuse on
 * purpose, and it does not validate UTF-8. */
#include <cbor.h> /* libcbor; ours is reached by relative path below */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cbor.h"
#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_resources.h"
#include "proto/msg_notify.h"
#include "proto/msg_session.h"
#include "tests/unit/cbor_ref.h"
#include "tests/unit/unit.h"

#define MAX_ITEMS 4096

static struct husk_cbor_item items[MAX_ITEMS];
static struct husk_cbor_item items2[MAX_ITEMS];
static uint8_t big[1 << 18];
static uint8_t big2[1 << 18];

/* Decodes into items; on failure checks the error contract (err filled with
 * the returned code, n = 0). */
static int decode(const uint8_t *buf, size_t len, uint32_t cap, uint32_t *n)
{
	struct husk_err err = { 0 };
	int r = husk_cbor_decode(buf, len, items, cap, n, &err);
	if (r < 0 && (err.code != -r || err.msg[0] == '\0' || *n != 0))
		return -9999;
	return r;
}

static const uint64_t uint_bounds[] = {
	0,
	1,
	23,
	24,
	25,
	255,
	256,
	65535,
	65536,
	UINT32_MAX,
	(uint64_t)UINT32_MAX + 1,
	INT64_MAX,
	(uint64_t)INT64_MAX + 1,
	UINT64_MAX - 1,
	UINT64_MAX,
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic across runs and platforms */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* One rnd() call per statement: the order in which operands of one
 * expression are evaluated is unspecified, and the sequence must not
 * depend on the compiler. */
static uint64_t rnd_value(void)
{
	uint64_t base, delta;
	switch (rnd_below(4)) {
	case 0:
		return rnd_below(24);
	case 1:
		return uint_bounds[rnd_below(ARRAY_SIZE(uint_bounds))];
	case 2:
		base = uint_bounds[rnd_below(ARRAY_SIZE(uint_bounds))];
		delta = rnd_below(3);
		return base + delta - 1;
	default:
		base = rnd();
		return base >> rnd_below(64);
	}
}

static size_t rnd_len(void)
{
	static const size_t lens[] = { 0, 1, 23, 24, 255, 256, 300 };
	return rnd_below(4) ? rnd_below(12) : lens[rnd_below(ARRAY_SIZE(lens))];
}

/* Our encoder and libcbor's head encoders, writing the same tree side by
 * side, so the bytes can be compared. */
struct gen {
	struct husk_cbor_enc e;
	uint8_t ref[1 << 16];
	size_t ref_len;
	bool ref_full;
	uint8_t tmp[1024];
	int budget; /* items left to generate */
};

static void ref_put(struct gen *g, size_t n)
{
	if (n == 0)
		g->ref_full = true;
	g->ref_len += n;
}

#define REF_ROOM(g) ((g)->ref + (g)->ref_len), (sizeof((g)->ref) - (g)->ref_len)

static void ref_body(struct gen *g, const void *p, size_t n)
{
	if (n > sizeof g->ref - g->ref_len) {
		g->ref_full = true;
		return;
	}
	memcpy(g->ref + g->ref_len, p, n);
	g->ref_len += n;
}

/* Random valid UTF-8 of at most max bytes, code points of 1 to 4 bytes. */
static size_t rnd_utf8(uint8_t *out, size_t max)
{
	size_t n = 0;
	while (n + 4 <= max && rnd_below(8)) {
		uint32_t cp;
		switch (rnd_below(4)) {
		case 0:
			cp = (uint32_t)rnd_below(0x80);
			break;
		case 1:
			cp = 0x80 + (uint32_t)rnd_below(0x800 - 0x80);
			break;
		case 2:
			cp = 0x800 + (uint32_t)rnd_below(0x10000 - 0x800);
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			break;
		default:
			cp = 0x10000 + (uint32_t)rnd_below(0x110000 - 0x10000);
			break;
		}
		if (cp < 0x80) {
			out[n++] = (uint8_t)cp;
		} else if (cp < 0x800) {
			out[n++] = (uint8_t)(0xc0 | cp >> 6);
			out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[n++] = (uint8_t)(0xe0 | cp >> 12);
			out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else {
			out[n++] = (uint8_t)(0xf0 | cp >> 18);
			out[n++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
			out[n++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			out[n++] = (uint8_t)(0x80 | (cp & 0x3f));
		}
	}
	return n;
}

static void gen_item(struct gen *g, int depth)
{
	g->budget--;
	unsigned kinds = depth < HUSK_CBOR_MAX_DEPTH && g->budget > 0 ? 8 : 6;
	switch (rnd_below(kinds)) {
	case 0: {
		uint64_t v = rnd_value();
		husk_cbor_put_uint(&g->e, v);
		ref_put(g, cbor_encode_uint(v, REF_ROOM(g)));
		break;
	}
	case 1: {
		uint64_t n = rnd_value() >> 1; /* -1 - n stays >= INT64_MIN */
		husk_cbor_put_int(&g->e, -1 - (int64_t)n);
		ref_put(g, cbor_encode_negint(n, REF_ROOM(g)));
		break;
	}
	case 2: {
		size_t n = rnd_len();
		for (size_t k = 0; k < n; k++)
			g->tmp[k] = (uint8_t)rnd();
		husk_cbor_put_bytes(&g->e, g->tmp, n);
		ref_put(g, cbor_encode_bytestring_start(n, REF_ROOM(g)));
		ref_body(g, g->tmp, n);
		break;
	}
	case 3: {
		size_t n = rnd_utf8(g->tmp, rnd_len() + 4);
		husk_cbor_put_textn(&g->e, (const char *)g->tmp, n);
		ref_put(g, cbor_encode_string_start(n, REF_ROOM(g)));
		ref_body(g, g->tmp, n);
		break;
	}
	case 4: {
		bool b = rnd_below(2);
		husk_cbor_put_bool(&g->e, b);
		ref_put(g, cbor_encode_bool(b, REF_ROOM(g)));
		break;
	}
	case 5:
		husk_cbor_put_null(&g->e);
		ref_put(g, cbor_encode_null(REF_ROOM(g)));
		break;
	case 6: {
		uint32_t n = (uint32_t)(rnd_below(8) ? rnd_below(5) : rnd_below(30));
		husk_cbor_put_array(&g->e, n);
		ref_put(g, cbor_encode_array_start(n, REF_ROOM(g)));
		for (uint32_t k = 0; k < n; k++)
			gen_item(g, depth + 1);
		break;
	}
	default: {
		uint32_t n = (uint32_t)rnd_below(6);
		husk_cbor_put_map(&g->e, n);
		ref_put(g, cbor_encode_map_start(n, REF_ROOM(g)));
		for (uint32_t k = 0; k < n; k++) {
			if (rnd_below(4)) { /* mostly text keys, as in our messages */
				size_t kl = rnd_utf8(g->tmp, 12);
				husk_cbor_put_textn(&g->e, (const char *)g->tmp, kl);
				ref_put(g, cbor_encode_string_start(kl, REF_ROOM(g)));
				ref_body(g, g->tmp, kl);
			} else {
				gen_item(g, depth + 1);
			}
			gen_item(g, depth + 1);
		}
		break;
	}
	}
}

static struct gen gen_state;

/* Generates one random valid tree into big; returns its length. */
static size_t gen_tree(void)
{
	struct gen *g = &gen_state;
	husk_cbor_enc_init(&g->e, big, sizeof big);
	g->ref_len = 0;
	g->ref_full = false;
	g->budget = 1 + (int)rnd_below(60);
	gen_item(g, 1);
	if (g->e.overflow || g->ref_full)
		return 0;
	return g->e.len;
}

/* Checks one accepted input: libcbor reads it all to the same values, spans
 * hold, and our re-encoding decodes to the same tree and is never longer. */
static int check_accepted(const uint8_t *buf, size_t len, uint32_t n)
{
	int rc = cbor_ref_check(buf, len, items);
	if (rc != 0)
		return 100 + rc;
	if (!cbor_tree_spans_ok(items, n))
		return 200;
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, big2, sizeof big2);
	cbor_tree_encode(&e, items, n);
	if (e.overflow || e.len > len)
		return 300;
	struct husk_err err = { 0 };
	uint32_t n2;
	if (husk_cbor_decode(big2, e.len, items2, MAX_ITEMS, &n2, &err) != 0)
		return 400;
	if (!cbor_tree_equal(items, n, items2, n2))
		return 500;
	return 0;
}

static void dump(const char *what, const uint8_t *buf, size_t len)
{
	printf("# %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len && i < 64; i++)
		printf(" %02x", buf[i]);
	printf("\n");
}

/* Encoder vs libcbor's encoders (same bytes), and decoder vs libcbor on the
 * result (same values). */
static enum test_result test_differential_valid_trees(void)
{
	uint32_t n;
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = gen_tree();
		CHECK(len > 0);
		CHECK_EQ_INT(gen_state.ref_len, len);
		if (memcmp(gen_state.ref, big, len) != 0) {
			dump("ours", big, len);
			dump("libcbor", gen_state.ref, len);
			return TEST_FAIL;
		}
		int r = decode(big, len, MAX_ITEMS, &n);
		if (r != 0) {
			dump("rejected", big, len);
			return TEST_FAIL;
		}
		int c = check_accepted(big, len, n);
		if (c != 0) {
			printf("# check %d\n", c);
			dump("input", big, len);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

static const uint8_t interesting[] = {
	0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x20, 0x37, 0x38, 0x3b, 0x40, 0x41, 0x58, 0x5b,
	0x60, 0x61, 0x62, 0x78, 0x7b, 0x80, 0x81, 0x82, 0x98, 0x9b, 0xa0, 0xa1, 0xa2, 0xb8,
	0xbb, 0xc0, 0xf4, 0xf5, 0xf6, 0xf7, 0xf9, 0xff, 0x7f, 0xc3, 0xed, 0xf4, 0x8f,
};

static uint8_t rnd_byte(void)
{
	return rnd_below(2) ? interesting[rnd_below(ARRAY_SIZE(interesting))] : (uint8_t)rnd();
}

/* Whenever we accept, libcbor must accept the same bytes with the same
 * values. The converse is not checked: libcbor accepts tags, floats and
 * indefinite lengths, which we refuse on purpose. */
static enum test_result test_differential_mutations(void)
{
	unsigned tried = 0, accepted = 0;
	uint32_t n;
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = gen_tree();
		CHECK(len > 0);
		for (int m = 0; m < 8; m++) {
			size_t l = len;
			memcpy(big2, big, len);
			int muts = 1 + (int)rnd_below(3);
			for (int k = 0; k < muts && l > 0; k++) {
				size_t at = rnd_below(l);
				switch (rnd_below(5)) {
				case 0:
					big2[at] ^= (uint8_t)(1u << rnd_below(8));
					break;
				case 1:
					big2[at] = rnd_byte();
					break;
				case 2:
					l = at + (at == 0);
					break; /* truncate */
				case 3:        /* delete a byte */
					memmove(big2 + at, big2 + at + 1, l - at - 1);
					l--;
					break;
				default: /* insert a byte */
					memmove(big2 + at + 1, big2 + at, l - at);
					big2[at] = rnd_byte();
					l++;
					break;
				}
			}
			tried++;
			/* big2 is also check_accepted's scratch: decode a copy */
			static uint8_t input[sizeof big2];
			memcpy(input, big2, l);
			if (decode(input, l, MAX_ITEMS, &n) != 0)
				continue;
			accepted++;
			int c = check_accepted(input, l, n);
			if (c != 0) {
				printf("# check %d\n", c);
				dump("input", input, l);
				return TEST_FAIL;
			}
		}
	}
	printf("# mutations: %u of %u accepted\n", accepted, tried);
	CHECK(accepted > tried / 20); /* the test would be empty otherwise */
	return TEST_PASS;
}

static enum test_result test_differential_random_bytes(void)
{
	unsigned accepted = 0, tried = 0;
	static uint8_t input[64];
	uint32_t n;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 1 + rnd_below(24);
		for (size_t k = 0; k < len; k++)
			input[k] = rnd_byte();
		tried++;
		int r = decode(input, len, MAX_ITEMS, &n);
		CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
		if (r != 0)
			continue;
		accepted++;
		int c = check_accepted(input, len, n);
		if (c != 0) {
			printf("# check %d\n", c);
			dump("input", input, len);
			return TEST_FAIL;
		}
	}
	printf("# random bytes: %u of %u accepted\n", accepted, tried);
	CHECK(accepted > 0);
	return TEST_PASS;
}

/* libcbor's head encoders: a text key */
static size_t ref_key(uint8_t *out, size_t cap, const char *k)
{
	size_t n = strlen(k), h = cbor_encode_string_start(n, out, cap);
	memcpy(out + h, k, n);
	return h + n;
}

/* The STDIO header our encoder writes for data placed in after it is the
 * head libcbor writes for the same map, for every length class. */
static enum test_result test_differential_stdio_head(void)
{
	for (int iter = 0; iter < 2000; iter++) {
		unsigned stream = (unsigned)rnd_below(3);
		uint64_t len = iter < 20 ? uint_bounds[iter % 11] : rnd_value() % ((uint64_t)UINT32_MAX + 2);
		uint8_t ours[HUSK_MSG_STDIO_HEAD_MAX], ref[64];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, ours, sizeof ours);
		husk_msg_stdio_head(&e, stream, (size_t)len);
		CHECK(!e.overflow);
		size_t n = cbor_encode_map_start(2, ref, sizeof ref);
		n += ref_key(ref + n, sizeof ref - n, "stream");
		n += cbor_encode_uint(stream, ref + n, sizeof ref - n);
		n += ref_key(ref + n, sizeof ref - n, "data");
		n += cbor_encode_bytestring_start((size_t)len, ref + n, sizeof ref - n);
		if (n != e.len || memcmp(ours, ref, n) != 0) {
			dump("ours", ours, e.len);
			dump("libcbor", ref, n);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

/* Each typed message encoder, with random values in range, writes what
 * libcbor reads as the same tree our decoder reads. */
static enum test_result test_differential_messages(void)
{
	static uint8_t data[300];
	static char text[1100];
	for (int iter = 0; iter < 300; iter++) {
		size_t tl = rnd_utf8((uint8_t *)text, 1 + rnd_below(sizeof text - 1));
		text[tl] = '\0';
		for (size_t k = 0; k < sizeof data; k++)
			data[k] = (uint8_t)rnd();
		struct husk_ps_entry procs[3];
		for (int k = 0; k < 3; k++)
			procs[k] = (struct husk_ps_entry){ .pid = (int32_t)(rnd() >> 33),
							   .ppid = (int32_t)(rnd() >> 33),
							   .uid = (uint32_t)rnd(),
							   .cmd = k == 1 ? "\xff" : text };
		struct husk_stat_counter kv[4] = {
			{ "anon", rnd_value() }, { "file", rnd_value() }, { text, rnd_value() }, { "?", 0 }
		};
		struct husk_stats_msg st = {
			.cpu_usage_ns = rnd_value(),
			.cpu_user_ns = rnd_value(),
			.cpu_system_ns = rnd_value(),
			.memory_usage = rnd_value(),
			.memory_limit = rnd_below(2) ? -1 : (int64_t)(rnd_value() >> 1),
			.swap_usage = rnd_value(),
			.pids_current = rnd_value(),
			.pids_limit = rnd_below(2) ? -1 : (int64_t)(rnd_value() >> 1),
			.io_read_bytes = rnd_value(),
			.io_write_bytes = rnd_value(),
			.io_reads = rnd_value(),
			.io_writes = rnd_value(),
			.oom_kills = rnd_value(),
			.memory_stat = kv,
			.n_memory_stat = 4,
			.time_ns = rnd_value(),
		};
		struct husk_hugetlb_limit huge[2] = { { .page_kb = 2048, .limit = rnd_value() >> 1 },
						      { .page_kb = 1u << 20, .limit = rnd_value() >> 1 } };
		struct husk_update_msg up = { .resources = { .has_memory_limit = true,
							     .memory_limit = -1,
							     .has_cpu_period = true,
							     .cpu_period = rnd_value(),
							     .has_hugetlb = true,
							     .hugetlb = huge,
							     .n_hugetlb = 2 } };
		/* pods: the new keys (ctr, join) next to the old ones */
		static char *argv[] = { "/bin/sh", NULL }, *envv[] = { NULL };
		struct husk_container_config cc = { .namespaces = HUSK_NS_MOUNT };
		uint32_t slot = (uint32_t)rnd_below(HUSK_POD_MAX);
		uint32_t jmask = rnd_below(2) ? HUSK_NS_PID | HUSK_NS_CGROUP : HUSK_NS_IPC;
		bool ctr_given = rnd_below(2);
		uint8_t jslot[HUSK_JOIN_KINDS];
		for (int k = 0; k < HUSK_JOIN_KINDS; k++)
			jslot[k] = (uint8_t)rnd_below(HUSK_POD_MAX);
		struct husk_create_msg cr = {
			.id = text,
			.rootfs_tag = "vfs",
			.process = { .args = argv, .n_args = 1, .env = envv, .cwd = "/" },
			.container = &cc,
			.ctr = slot,
			.join = { .mask = jmask },
		};
		memcpy(cr.join.slot, jslot, sizeof jslot);
		struct husk_exec_msg ex = { .process = cr.process, .ctr = slot };
		for (int kind = 0; kind < 20; kind++) {
			struct husk_cbor_enc e;
			husk_cbor_enc_init(&e, big, sizeof big);
			switch (kind) {
			case 0:
				husk_msg_encode_hello(&e, &(struct husk_hello_msg){ .version = (uint32_t)rnd() });
				break;
			case 1:
				husk_msg_encode_hello_reply(&e,
							    &(struct husk_hello_msg){ .version = 1, .kernel = text });
				break;
			case 2:
				husk_msg_encode_pid_reply(&e, &(struct husk_pid_reply_msg){ .pid = (int32_t)rnd() });
				break;
			case 3:
				husk_msg_encode_error(&e, (int)rnd_below(5000), text);
				break;
			case 4:
				husk_msg_encode_signal(&e, (int)rnd_below(65), rnd_below(2));
				break;
			case 5:
				husk_msg_encode_resize(&e, &(struct husk_resize_msg){ .rows = (uint16_t)rnd(),
										      .cols = (uint16_t)rnd() });
				break;
			case 6:
				husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = (unsigned)rnd_below(3),
										    .data = data,
										    .len = rnd_len() });
				break;
			case 7:
				husk_msg_encode_stdio_close(&e, &(struct husk_stdio_close_msg){ .stream = 2 });
				break;
			case 8:
				husk_msg_encode_stdin_ack(&e, &(struct husk_stdin_ack_msg){ .bytes = (uint32_t)rnd() });
				break;
			case 9:
				husk_msg_encode_exit(&e, &(struct husk_exit_msg){ .status = (int)rnd_below(256) });
				break;
			case 10:
				husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = rnd_value() });
				break;
			case 11:
				husk_msg_encode_ps_reply(&e,
							 &(struct husk_ps_reply_msg){ .procs = procs, .n_procs = 3 });
				break;
			case 12:
				husk_msg_encode_stats(&e, &st);
				break;
			case 13:
				husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = text });
				break;
			case 15:
				husk_msg_encode_ctr(&e, &(struct husk_ctr_msg){ .has_ctr = ctr_given, .ctr = slot });
				break;
			case 16:
				up.has_ctr = true;
				up.ctr = slot;
				husk_msg_encode_update(&e, &up);
				up.has_ctr = false;
				break;
			case 17:
				husk_msg_encode_start(&e, &(struct husk_start_msg){ .has_ctr = true, .ctr = slot });
				break;
			case 18:
				CHECK_EQ_INT(husk_msg_encode_create(&e, &cr), 0);
				break;
			case 19:
				CHECK_EQ_INT(husk_msg_encode_exec(&e, &ex), 0);
				break;
			default:
				husk_msg_encode_update(&e, &up);
				break;
			}
			CHECK(!e.overflow);
			uint32_t n;
			if (decode(big, e.len, MAX_ITEMS, &n) != 0) {
				printf("# message kind %d\n", kind);
				dump("rejected", big, e.len);
				return TEST_FAIL;
			}
			int c = check_accepted(big, e.len, n);
			if (c != 0) {
				printf("# message kind %d: check %d\n", kind, c);
				dump("input", big, e.len);
				return TEST_FAIL;
			}
		}
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "random trees: our encoder and libcbor's write the same bytes, both decoders agree",
		  test_differential_valid_trees },
		{ "mutated encodings we accept are read alike by libcbor", test_differential_mutations },
		{ "random bytes we accept are read alike by libcbor", test_differential_random_bytes },
		{ "the STDIO header encoder writes libcbor's head for the same map", test_differential_stdio_head },
		{ "every typed message encoder writes what libcbor reads alike", test_differential_messages },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
