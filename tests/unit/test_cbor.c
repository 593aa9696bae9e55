/* Unit tests for proto/cbor.c: round trips at every head-size boundary,
 * navigation, one rejection case per malformed class, UTF-8 validation,
 * encoder overflow. Heads are compared byte for byte with libcbor's encoders.
 * The randomized differential tests against libcbor are in test_cbor_diff.c. */
#include <cbor.h> /* libcbor; ours is reached by relative path below */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cbor.h"
#include "tests/unit/cbor_ref.h"
#include "tests/unit/unit.h"

#define MAX_ITEMS 4096

static struct husk_cbor_item items[MAX_ITEMS];
static uint8_t big[1 << 18];
static uint8_t big2[1 << 18];

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		sscanf(p, "%2x", &v);
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

/* Decodes, and on failure checks the error contract: err filled, n = 0. */
static int decode(const uint8_t *buf, size_t len, uint32_t cap, uint32_t *n)
{
	struct husk_err err = { 0 };
	*n = 12345;
	int r = husk_cbor_decode(buf, len, items, cap, n, &err);
	if (r < 0 && (err.code != -r || err.msg[0] == '\0' || *n != 0))
		return -9999; /* contract broken */
	if (r == 0 && err.code != 0)
		return -9998;
	return r;
}

/* Encodes one value with fn-style code, returns its length. */
#define ENCODE(buf, cap, stmt)                                                                                         \
	({                                                                                                             \
		struct husk_cbor_enc e_;                                                                               \
		husk_cbor_enc_init(&e_, (buf), (cap));                                                                 \
		struct husk_cbor_enc *e = &e_;                                                                         \
		stmt;                                                                                                  \
		e_.overflow ? (size_t)-1 : e_.len;                                                                     \
	})

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

static size_t head_size(uint64_t arg)
{
	return arg < 24 ? 1 : arg <= 0xff ? 2 : arg <= 0xffff ? 3 : arg <= 0xffffffff ? 5 : 9;
}

static enum test_result test_uint_round_trip(void)
{
	uint8_t buf[16], ref[16];
	uint32_t n;
	for (size_t i = 0; i < ARRAY_SIZE(uint_bounds); i++) {
		uint64_t v = uint_bounds[i];
		size_t len = ENCODE(buf, sizeof buf, husk_cbor_put_uint(e, v));
		CHECK_EQ_INT(len, head_size(v));
		/* the same bytes as libcbor's shortest-form encoder */
		CHECK_EQ_INT(cbor_encode_uint(v, ref, sizeof ref), len);
		CHECK(memcmp(buf, ref, len) == 0);
		CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
		CHECK_EQ_INT(n, 1);
		CHECK_EQ_INT(items[0].type, HUSK_CBOR_UINT);
		CHECK(items[0].v.u == v);
		CHECK_EQ_INT(items[0].span, 1);
		/* every shorter buffer overflows */
		for (size_t cap = 0; cap < len; cap++)
			CHECK(ENCODE(buf, cap, husk_cbor_put_uint(e, v)) == (size_t)-1);
	}
	return TEST_PASS;
}

static enum test_result test_int_round_trip(void)
{
	static const int64_t vals[] = {
		0,
		1,
		23,
		24,
		-1,
		-23,
		-24,
		-25,
		-26,
		-255,
		-256,
		-257,
		-65536,
		-65537,
		-(int64_t)UINT32_MAX - 1,
		-(int64_t)UINT32_MAX - 2,
		INT64_MAX,
		INT64_MIN + 1,
		INT64_MIN,
	};
	uint8_t buf[16], ref[16];
	uint32_t n;
	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		int64_t v = vals[i];
		size_t len = ENCODE(buf, sizeof buf, husk_cbor_put_int(e, v));
		size_t rlen = v >= 0 ? cbor_encode_uint((uint64_t)v, ref, sizeof ref)
				     : cbor_encode_negint(~(uint64_t)v, ref, sizeof ref);
		CHECK_EQ_INT(len, rlen);
		CHECK(memcmp(buf, ref, len) == 0);
		CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
		if (v >= 0) {
			CHECK_EQ_INT(items[0].type, HUSK_CBOR_UINT);
			CHECK(items[0].v.u == (uint64_t)v);
		} else {
			CHECK_EQ_INT(items[0].type, HUSK_CBOR_NINT);
			CHECK(items[0].v.i == v);
		}
	}
	/* -1 - INT64_MAX == INT64_MIN is the lowest NINT accepted */
	size_t len = unhex("3b 7fffffffffffffff", buf);
	CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
	CHECK(items[0].type == HUSK_CBOR_NINT && items[0].v.i == INT64_MIN);
	return TEST_PASS;
}

static enum test_result test_string_round_trip(void)
{
	static const size_t lens[] = { 0, 1, 23, 24, 255, 256, 65535, 65536, 100000 };
	uint8_t ref[16];
	uint32_t n;
	for (int text = 0; text <= 1; text++) {
		for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
			size_t sl = lens[i];
			memset(big2, 0, sl + 1);
			for (size_t k = 0; k < sl; k++)
				big2[k] = (uint8_t)(text ? 'a' + k % 26 : k * 7);
			size_t len = text ? ENCODE(big, sizeof big, husk_cbor_put_text(e, (const char *)big2))
					  : ENCODE(big, sizeof big, husk_cbor_put_bytes(e, big2, sl));
			CHECK_EQ_INT(len, head_size(sl) + sl);
			size_t h = text ? cbor_encode_string_start(sl, ref, sizeof ref)
					: cbor_encode_bytestring_start(sl, ref, sizeof ref);
			CHECK(h == head_size(sl) && memcmp(big, ref, h) == 0);
			CHECK_EQ_INT(decode(big, len, MAX_ITEMS, &n), 0);
			CHECK_EQ_INT(n, 1);
			CHECK_EQ_INT(items[0].type, text ? HUSK_CBOR_TEXT : HUSK_CBOR_BYTES);
			CHECK_EQ_INT(items[0].count, sl);
			CHECK(items[0].v.ptr == big + h);
			CHECK(memcmp(items[0].v.ptr, big2, sl) == 0);
			CHECK_EQ_INT(cbor_ref_check(big, len, items), 0);
		}
	}
	return TEST_PASS;
}

/* Vectors from RFC 8949 Appendix A (the subset we support). */
static enum test_result test_rfc_vectors(void)
{
	uint8_t buf[64], want[64];
	size_t len;
#define VEC(hex, stmt)                                                                                                 \
	do {                                                                                                           \
		size_t wl_ = unhex(hex, want);                                                                         \
		len = ENCODE(buf, sizeof buf, stmt);                                                                   \
		CHECK_EQ_INT(len, wl_);                                                                                \
		CHECK(memcmp(buf, want, len) == 0);                                                                    \
	} while (0)
	VEC("00", husk_cbor_put_uint(e, 0));
	VEC("17", husk_cbor_put_uint(e, 23));
	VEC("1818", husk_cbor_put_uint(e, 24));
	VEC("1864", husk_cbor_put_uint(e, 100));
	VEC("1903e8", husk_cbor_put_uint(e, 1000));
	VEC("1a000f4240", husk_cbor_put_uint(e, 1000000));
	VEC("1b000000e8d4a51000", husk_cbor_put_uint(e, 1000000000000ull));
	VEC("1bffffffffffffffff", husk_cbor_put_uint(e, UINT64_MAX));
	VEC("20", husk_cbor_put_int(e, -1));
	VEC("29", husk_cbor_put_int(e, -10));
	VEC("3863", husk_cbor_put_int(e, -100));
	VEC("3903e7", husk_cbor_put_int(e, -1000));
	VEC("3b7fffffffffffffff", husk_cbor_put_int(e, INT64_MIN));
	VEC("f4", husk_cbor_put_bool(e, false));
	VEC("f5", husk_cbor_put_bool(e, true));
	VEC("f6", husk_cbor_put_null(e));
	VEC("40", husk_cbor_put_bytes(e, NULL, 0));
	VEC("4401020304", husk_cbor_put_bytes(e, "\x01\x02\x03\x04", 4));
	VEC("60", husk_cbor_put_text(e, ""));
	VEC("60", husk_cbor_put_text(e, NULL));
	VEC("6161", husk_cbor_put_text(e, "a"));
	VEC("6449455446", husk_cbor_put_text(e, "IETF"));
	VEC("62c3bc", husk_cbor_put_text(e, "\xc3\xbc"));
	VEC("63e6b0b4", husk_cbor_put_text(e, "\xe6\xb0\xb4"));
	VEC("64f0908591", husk_cbor_put_text(e, "\xf0\x90\x85\x91"));
	VEC("6100", husk_cbor_put_textn(e, "\0", 1));
	VEC("80", husk_cbor_put_array(e, 0));
	VEC("83010203",
	    (husk_cbor_put_array(e, 3), husk_cbor_put_uint(e, 1), husk_cbor_put_uint(e, 2), husk_cbor_put_uint(e, 3)));
	VEC("a0", husk_cbor_put_map(e, 0));
	VEC("a26161016162820203",
	    (husk_cbor_put_map(e, 2), husk_cbor_put_text(e, "a"), husk_cbor_put_uint(e, 1), husk_cbor_put_text(e, "b"),
	     husk_cbor_put_array(e, 2), husk_cbor_put_uint(e, 2), husk_cbor_put_uint(e, 3)));
	VEC("9a00010000", husk_cbor_put_array(e, 65536));
	VEC("baffffffff", husk_cbor_put_map(e, UINT32_MAX));
#undef VEC
	return TEST_PASS;
}

/* ["x", {"a": 1, "bb": [true, null], 5: "num", "c": {"d": -2}, "": h'', "a": 2}, []] */
static enum test_result test_nested_and_navigation(void)
{
	uint8_t buf[128];
	uint32_t n;
	size_t len = ENCODE(buf, sizeof buf, ({
				    husk_cbor_put_array(e, 3);
				    husk_cbor_put_text(e, "x");
				    husk_cbor_put_map(e, 6);
				    husk_cbor_put_text(e, "a");
				    husk_cbor_put_uint(e, 1);
				    husk_cbor_put_text(e, "bb");
				    husk_cbor_put_array(e, 2);
				    husk_cbor_put_bool(e, true);
				    husk_cbor_put_null(e);
				    husk_cbor_put_uint(e, 5);
				    husk_cbor_put_text(e, "num");
				    husk_cbor_put_text(e, "c");
				    husk_cbor_put_map(e, 1);
				    husk_cbor_put_text(e, "d");
				    husk_cbor_put_int(e, -2);
				    husk_cbor_put_text(e, "");
				    husk_cbor_put_bytes(e, "", 0);
				    husk_cbor_put_text(e, "a");
				    husk_cbor_put_uint(e, 2);
				    husk_cbor_put_array(e, 0);
			    }));
	CHECK(len != (size_t)-1);
	CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
	CHECK_EQ_INT(n, 20);
	CHECK(cbor_tree_spans_ok(items, n));
	CHECK_EQ_INT(cbor_ref_check(buf, len, items), 0);

	const struct husk_cbor_item *root = items;
	CHECK_EQ_INT(root->type, HUSK_CBOR_ARRAY);
	CHECK_EQ_INT(root->span, 20);
	const struct husk_cbor_item *x = husk_cbor_first(root);
	CHECK(husk_cbor_text_eq(x, "x"));
	CHECK(!husk_cbor_text_eq(x, "xy") && !husk_cbor_text_eq(x, ""));
	const struct husk_cbor_item *m = husk_cbor_next(x);
	CHECK_EQ_INT(m->type, HUSK_CBOR_MAP);
	CHECK_EQ_INT(m->count, 6);
	CHECK_EQ_INT(m->span, 17);
	const struct husk_cbor_item *last = husk_cbor_next(m);
	CHECK_EQ_INT(last->type, HUSK_CBOR_ARRAY);
	CHECK(husk_cbor_first(last) == NULL);
	CHECK(husk_cbor_next(last) == items + n);

	const struct husk_cbor_item *v = husk_cbor_map_get(m, "a");
	CHECK(v && v->type == HUSK_CBOR_UINT && v->v.u == 1); /* the first of duplicates */
	v = husk_cbor_map_get(m, "bb");
	CHECK(v && v->type == HUSK_CBOR_ARRAY && v->count == 2 && v->span == 3);
	CHECK(husk_cbor_first(v)->type == HUSK_CBOR_BOOL && husk_cbor_first(v)->v.b);
	CHECK(husk_cbor_next(husk_cbor_first(v))->type == HUSK_CBOR_NULL);
	v = husk_cbor_map_get(husk_cbor_map_get(m, "c"), "d");
	CHECK(v && v->type == HUSK_CBOR_NINT && v->v.i == -2);
	v = husk_cbor_map_get(m, "");
	CHECK(v && v->type == HUSK_CBOR_BYTES && v->count == 0);
	CHECK(husk_cbor_map_get(m, "num") == NULL); /* "num" is a value, not a key */
	CHECK(husk_cbor_map_get(m, "b") == NULL);
	CHECK(husk_cbor_map_get(m, "d") == NULL);    /* not searched recursively */
	CHECK(husk_cbor_map_get(root, "a") == NULL); /* not a map */
	CHECK(husk_cbor_map_get(NULL, "a") == NULL);
	CHECK(husk_cbor_first(x) == NULL);
	CHECK(!husk_cbor_text_eq(husk_cbor_map_get(m, ""), "")); /* bytes, not text */
	return TEST_PASS;
}

static enum test_result test_depth_limit(void)
{
	uint8_t buf[64];
	uint32_t n;
	for (int d = 1; d <= HUSK_CBOR_MAX_DEPTH + 2; d++) {
		int want = d <= HUSK_CBOR_MAX_DEPTH ? 0 : -E2BIG;
		/* d nested arrays, the innermost empty */
		memset(buf, 0x81, (size_t)d - 1);
		buf[d - 1] = 0x80;
		CHECK_EQ_INT(decode(buf, (size_t)d, MAX_ITEMS, &n), want);
		if (want == 0)
			CHECK(n == (uint32_t)d && cbor_tree_spans_ok(items, n));
		/* d nested arrays around a scalar */
		memset(buf, 0x81, (size_t)d);
		buf[d] = 0x00;
		CHECK_EQ_INT(decode(buf, (size_t)d + 1, MAX_ITEMS, &n), want);
		/* d nested maps {0: {0: ... {}}} */
		for (int k = 0; k < d - 1; k++)
			buf[2 * k] = 0xa1, buf[2 * k + 1] = 0x00;
		buf[2 * (d - 1)] = 0xa0;
		CHECK_EQ_INT(decode(buf, 2 * (size_t)d - 1, MAX_ITEMS, &n), want);
		if (want == 0)
			CHECK_EQ_INT(cbor_ref_check(buf, 2 * (size_t)d - 1, items), 0);
	}
	/* siblings do not add depth: [[x15 nested], [x15 nested]] is 16 deep */
	size_t len = 0;
	buf[len++] = 0x82;
	for (int s = 0; s < 2; s++) {
		memset(buf + len, 0x81, HUSK_CBOR_MAX_DEPTH - 2);
		len += HUSK_CBOR_MAX_DEPTH - 2;
		buf[len++] = 0x80;
	}
	CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
	CHECK(cbor_tree_spans_ok(items, n));
	return TEST_PASS;
}

static enum test_result test_item_cap(void)
{
	uint8_t buf[2048];
	uint32_t n;
	size_t len = unhex("83 01 02 03", buf);
	CHECK_EQ_INT(decode(buf, len, 4, &n), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(decode(buf, len, 3, &n), -E2BIG);
	CHECK_EQ_INT(decode(buf, len, 1, &n), -E2BIG);
	CHECK_EQ_INT(decode(buf, len, 0, &n), -E2BIG);
	/* a scalar needs one item */
	CHECK_EQ_INT(decode(buf + 1, 1, 1, &n), 0);
	/* {1: 2, 3: 4} needs 5 */
	len = unhex("a2 01 02 03 04", buf);
	CHECK_EQ_INT(decode(buf, len, 5, &n), 0);
	CHECK_EQ_INT(decode(buf, len, 4, &n), -E2BIG);
	/* a declared count above the cap is refused before any child is read */
	len = ENCODE(buf, sizeof buf, husk_cbor_put_array(e, 1000));
	memset(buf + len, 0, 1000);
	CHECK_EQ_INT(decode(buf, len + 1000, 1001, &n), 0);
	CHECK_EQ_INT(decode(buf, len + 1000, 1000, &n), -E2BIG);
	return TEST_PASS;
}

static enum test_result test_rejections(void)
{
	static const struct {
		const char *hex;
		int err;
		const char *what;
	} cases[] = {
		{ "18", EBADMSG, "truncated 1-byte argument" },
		{ "19 00", EBADMSG, "truncated 2-byte argument" },
		{ "3a 00 00 00", EBADMSG, "truncated 4-byte argument" },
		{ "1b 00 00 00 00 00 00 00", EBADMSG, "truncated 8-byte argument" },
		{ "98", EBADMSG, "truncated array head" },
		{ "1c", EBADMSG, "reserved ai 28" },
		{ "3d", EBADMSG, "reserved ai 29" },
		{ "5e", EBADMSG, "reserved ai 30" },
		{ "9c 00", EBADMSG, "reserved ai 28 on array" },
		{ "fe", EBADMSG, "reserved ai 30 on simple" },
		{ "1f", EBADMSG, "ai 31 on uint" },
		{ "3f", EBADMSG, "ai 31 on nint" },
		{ "5f 41 00 ff", EBADMSG, "indefinite bytes" },
		{ "7f 61 61 ff", EBADMSG, "indefinite text" },
		{ "9f ff", EBADMSG, "indefinite array" },
		{ "bf ff", EBADMSG, "indefinite map" },
		{ "ff", EBADMSG, "lone break" },
		{ "81 ff", EBADMSG, "break inside a definite array" },
		{ "c0 60", EBADMSG, "tag 0" },
		{ "c2 41 01", EBADMSG, "tag 2 (bignum)" },
		{ "d8 20 60", EBADMSG, "1-byte tag" },
		{ "81 c1 00", EBADMSG, "nested tag" },
		{ "f9 3c 00", EBADMSG, "half float" },
		{ "fa 3f 80 00 00", EBADMSG, "single float" },
		{ "fb 3f f0 00 00 00 00 00 00", EBADMSG, "double float" },
		{ "f7", EBADMSG, "undefined" },
		{ "e0", EBADMSG, "simple 0" },
		{ "f3", EBADMSG, "simple 19" },
		{ "f8 20", EBADMSG, "1-byte simple" },
		{ "f8 14", EBADMSG, "false in a 1-byte simple (invalid in RFC 8949)" },
		{ "41", EBADMSG, "truncated bytes body" },
		{ "43 01 02", EBADMSG, "short bytes body" },
		{ "62 61", EBADMSG, "short text body" },
		{ "81", EBADMSG, "array missing its element" },
		{ "82 00", EBADMSG, "array missing one element" },
		{ "a1 00", EBADMSG, "map missing a value" },
		{ "a2 00 00", EBADMSG, "map missing a pair" },
		{ "5b ff ff ff ff ff ff ff ff", EBADMSG, "bytes of 2^64-1" },
		{ "7b 80 00 00 00 00 00 00 00 61", EBADMSG, "text of 2^63" },
		{ "5a ff ff ff ff 00", EBADMSG, "bytes of 2^32-1" },
		{ "9b ff ff ff ff ff ff ff ff 00", EBADMSG, "array of 2^64-1" },
		{ "9a ff ff ff ff 00", EBADMSG, "array of 2^32-1" },
		{ "bb 80 00 00 00 00 00 00 00 00 00", EBADMSG, "map of 2^63 (2n wraps to 0)" },
		{ "bb 7f ff ff ff ff ff ff ff 00 00", EBADMSG, "map of 2^63-1" },
		{ "bb ff ff ff ff ff ff ff ff 00 00", EBADMSG, "map of 2^64-1 (2n wraps)" },
		{ "a2 00 00 00", EBADMSG, "map of 2 with 3 bytes" },
		{ "3b 80 00 00 00 00 00 00 00", EBADMSG, "nint -2^63-1" },
		{ "3b ff ff ff ff ff ff ff ff", EBADMSG, "nint -2^64" },
		{ "81 3b 80 00 00 00 00 00 00 00", EBADMSG, "nested nint overflow" },
		{ "00 00", EBADMSG, "trailing byte after uint" },
		{ "80 00", EBADMSG, "trailing byte after array" },
		{ "a0 ff", EBADMSG, "trailing break after map" },
		{ "61 80", EBADMSG, "lone continuation byte" },
		{ "62 c0 80", EBADMSG, "overlong NUL" },
		{ "62 c1 bf", EBADMSG, "overlong 2-byte" },
		{ "63 e0 9f bf", EBADMSG, "overlong 3-byte" },
		{ "64 f0 8f bf bf", EBADMSG, "overlong 4-byte" },
		{ "63 ed a0 80", EBADMSG, "high surrogate" },
		{ "63 ed bf bf", EBADMSG, "low surrogate" },
		{ "64 f4 90 80 80", EBADMSG, "above U+10FFFF" },
		{ "64 f5 80 80 80", EBADMSG, "lead byte f5" },
		{ "61 ff", EBADMSG, "byte ff" },
		{ "61 c3", EBADMSG, "sequence cut by the string end" },
		{ "62 e2 82 ac", EBADMSG, "sequence cut, rest outside the string" },
		{ "62 c3 41", EBADMSG, "bad continuation" },
		{ "a1 62 c3 28 00", EBADMSG, "bad UTF-8 in a map key" },
	};
	uint8_t buf[64];
	uint32_t n;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = unhex(cases[i].hex, buf);
		int r = decode(buf, len, MAX_ITEMS, &n);
		if (r != -cases[i].err) {
			printf("# case %zu (%s): got %d\n", i, cases[i].what, r);
			return TEST_FAIL;
		}
	}
	CHECK_EQ_INT(decode(buf, 0, MAX_ITEMS, &n), -EBADMSG);
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_cbor_decode(NULL, 0, items, MAX_ITEMS, NULL, &err), -EBADMSG);
	return TEST_PASS;
}

/* Non-shortest heads are allowed by the brief (RFC 8949 does not require
 * preferred serialization for well-formedness). */
static enum test_result test_non_shortest_accepted(void)
{
	uint8_t buf[32];
	uint32_t n;
	size_t len = unhex("1b 00 00 00 00 00 00 00 05", buf);
	CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
	CHECK(items[0].v.u == 5);
	len = unhex("99 00 01 78 00", buf);
	CHECK_EQ_INT(decode(buf, len, MAX_ITEMS, &n), 0);
	CHECK(items[0].count == 1 && items[1].type == HUSK_CBOR_TEXT && items[1].count == 0);
	CHECK_EQ_INT(cbor_ref_check(buf, len, items), 0);
	return TEST_PASS;
}

/* An independent, bit-level reading of one UTF-8 sequence: the code point
 * and its length, then the three rules (shortest form, no surrogate, at most
 * U+10FFFF). Used to check husk_cbor_utf8_valid exhaustively. */
static bool ref_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t more;
		if ((s[i] & 0x80) == 0)
			cp = s[i], more = 0;
		else if ((s[i] & 0xe0) == 0xc0)
			cp = s[i] & 0x1f, more = 1;
		else if ((s[i] & 0xf0) == 0xe0)
			cp = s[i] & 0x0f, more = 2;
		else if ((s[i] & 0xf8) == 0xf0)
			cp = s[i] & 0x07, more = 3;
		else
			return false;
		if (n - i - 1 < more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const uint32_t min_cp[] = { 0, 0x80, 0x800, 0x10000 };
		if (cp < min_cp[more] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += more + 1;
	}
	return true;
}

static enum test_result test_utf8_exhaustive(void)
{
	uint8_t s[4];
	/* every 1-, 2- and 3-byte string */
	for (uint32_t v = 0; v < (1u << 24); v++) {
		s[0] = (uint8_t)(v >> 16), s[1] = (uint8_t)(v >> 8), s[2] = (uint8_t)v;
		for (size_t len = 1; len <= 3; len++) {
			if (len < 3 && (v & ((1u << (8 * (3 - len))) - 1)) != 0)
				continue; /* shorter strings once each */
			if (husk_cbor_utf8_valid(s, len) != ref_utf8_valid(s, len)) {
				printf("# mismatch on %zu bytes %02x %02x %02x\n", len, s[0], s[1], s[2]);
				return TEST_FAIL;
			}
		}
	}
	/* 4-byte strings: every lead byte from 0xf0 and every second byte,
	 * with the last two bytes over a spread of values */
	static const uint8_t tails[] = { 0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff };
	for (unsigned a = 0xe0; a <= 0xff; a++)
		for (unsigned b = 0; b <= 0xff; b++)
			for (size_t c = 0; c < ARRAY_SIZE(tails); c++)
				for (size_t d = 0; d < ARRAY_SIZE(tails); d++) {
					s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = tails[c], s[3] = tails[d];
					CHECK(husk_cbor_utf8_valid(s, 4) == ref_utf8_valid(s, 4));
				}
	CHECK(husk_cbor_utf8_valid((const uint8_t *)"", 0));
	CHECK(husk_cbor_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4));
	CHECK(!husk_cbor_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));
	return TEST_PASS;
}

static enum test_result test_encoder_overflow(void)
{
	uint8_t buf[16];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };

	husk_cbor_enc_init(&e, buf, 0);
	husk_cbor_put_null(&e);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), -ENOSPC);
	CHECK(err.code == ENOSPC && err.msg[0]);

	/* exact fit */
	husk_cbor_enc_init(&e, buf, 3);
	husk_cbor_put_uint(&e, 1000);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
	CHECK_EQ_INT(e.len, 3);
	CHECK_EQ_INT(err.code, 0);

	/* sticky: once something did not fit, nothing more is written */
	husk_cbor_enc_init(&e, buf, 4);
	husk_cbor_put_uint(&e, 1);
	husk_cbor_put_uint(&e, 100000); /* 5 bytes, does not fit */
	husk_cbor_put_null(&e);         /* would fit, must not be written */
	CHECK_EQ_INT(e.len, 1);
	CHECK(e.overflow);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), -ENOSPC);

	/* a string whose head fits but whose body does not leaves nothing */
	husk_cbor_enc_init(&e, buf, 8);
	husk_cbor_put_text(&e, "0123456789");
	CHECK_EQ_INT(e.len, 0);
	CHECK(e.overflow);
	husk_cbor_enc_init(&e, buf, 8);
	husk_cbor_put_bytes(&e, "abcdefg", 7); /* 1 + 7: exact fit */
	CHECK(!e.overflow && e.len == 8);
	husk_cbor_put_bytes(&e, "", 0);
	CHECK(e.overflow && e.len == 8);

	/* a NULL buffer only ever overflows */
	husk_cbor_enc_init(&e, NULL, 100);
	husk_cbor_put_array(&e, 0);
	CHECK(e.overflow && e.len == 0);
	return TEST_PASS;
}

/* A byte-string head followed by bytes the caller placed encodes exactly
 * as put_bytes, at every head size. */
static enum test_result test_bytes_head_in_place(void)
{
	static uint8_t a[70000 + 16], b[70000 + 16];
	static const size_t sizes[] = { 0, 1, 23, 24, 255, 256, 65535, 65536, 70000 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];
		struct husk_cbor_enc ea, eb;
		husk_cbor_enc_init(&ea, a, sizeof a);
		husk_cbor_enc_init(&eb, b, sizeof b);
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
		uint8_t *payload = b + 16; /* any bytes, the same in both */
		for (size_t k = 0; k < n; k++)
			payload[k] = (uint8_t)(k * 7);
		husk_cbor_put_bytes(&ea, payload, n);
		husk_cbor_put_bytes_head(&eb, n);
		CHECK(!eb.overflow);
		memmove(b + eb.len, payload, n);
		CHECK_EQ_INT(ea.len, eb.len + n);
		CHECK(memcmp(a, b, ea.len) == 0);
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "uint round trip at every head boundary", test_uint_round_trip },
		{ "negative int round trip, INT64_MIN included", test_int_round_trip },
		{ "bytes and text round trip, empty to 100000 bytes", test_string_round_trip },
		{ "a byte-string head for bytes placed in place", test_bytes_head_in_place },
		{ "RFC 8949 appendix A vectors", test_rfc_vectors },
		{ "nested containers, spans, first/next/map_get/text_eq", test_nested_and_navigation },
		{ "depth limit", test_depth_limit },
		{ "item cap", test_item_cap },
		{ "every malformed or unsupported class is rejected", test_rejections },
		{ "non-shortest heads are accepted", test_non_shortest_accepted },
		{ "UTF-8 validation matches a reference, exhaustively to 3 bytes", test_utf8_exhaustive },
		{ "encoder overflow is sticky and reported as ENOSPC", test_encoder_overflow },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
