/* Bounded CBOR codec (see cbor.h for the accepted subset).
 *
 * The decoder reads input that may come from a hostile guest, so every length
 * taken from the input is compared with what is left of the buffer before it
 * is used, always as "claimed > remaining" on 64-bit values so that nothing
 * can wrap (a 32-bit size_t included). It never recurses: open containers sit
 * on a fixed stack of HUSK_CBOR_MAX_DEPTH entries, and items go into the
 * caller's array in pre-order, so a container's span is known once its last
 * child is done. */
#include "proto/cbor.h"

#include <string.h>

/* Major types (RFC 8949 section 3.1). */
enum {
	MT_UINT = 0,
	MT_NINT = 1,
	MT_BYTES = 2,
	MT_TEXT = 3,
	MT_ARRAY = 4,
	MT_MAP = 5,
	MT_TAG = 6,
	MT_SIMPLE = 7,
};

/* Additional-information values of major type 7 that we accept. */
enum {
	SIMPLE_FALSE = 20,
	SIMPLE_TRUE = 21,
	SIMPLE_NULL = 22,
};

/* ------------------------------------------------------------------ */
/* UTF-8 */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF. The second byte's range depends on the lead byte;
 * that is where overlongs, surrogates and the upper bound are excluded. */
bool husk_cbor_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t more;
		uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			more = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0; /* below is an overlong 3-byte form */
			else if (c == 0xed)
				hi = 0x9f; /* above are the surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90; /* below is an overlong 4-byte form */
			else if (c == 0xf4)
				hi = 0x8f; /* above is past U+10FFFF */
		} else {
			/* 0x80..0xc1: continuation or overlong 2-byte lead;
			 * 0xf5..0xff: never valid. */
			return false;
		}
		if (n - i <= more)
			return false; /* truncated sequence */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		}
		i += more + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Decoder */

struct open_container {
	uint32_t idx;  /* index of the container's item */
	uint64_t left; /* children still to come (a map has two per pair) */
};

struct decoder {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	struct husk_err *err;
};

static size_t dec_remaining(const struct decoder *d)
{
	return d->len - d->pos;
}

/* Reads one head: the major type, the additional information and the
 * argument it carries. Reserved (28-30) and indefinite (31) additional
 * information are rejected here for every major type. */
static int dec_head(struct decoder *d, uint8_t *major, uint8_t *ai, uint64_t *arg)
{
	size_t at = d->pos;

	if (dec_remaining(d) < 1)
		return husk_err_set(d->err, EBADMSG, "cbor: truncated input at offset %zu", at);

	uint8_t ib = d->buf[d->pos++];
	*major = ib >> 5;
	*ai = ib & 0x1f;

	size_t extra;
	if (*ai < 24) {
		*arg = *ai;
		return 0;
	} else if (*ai <= 27) {
		extra = (size_t)1 << (*ai - 24); /* 1, 2, 4 or 8 bytes */
	} else if (*ai == 31) {
		return husk_err_set(d->err, EBADMSG, "cbor: indefinite length or break at offset %zu", at);
	} else {
		return husk_err_set(d->err, EBADMSG, "cbor: reserved additional information %u at offset %zu",
				    (unsigned)*ai, at);
	}

	if (dec_remaining(d) < extra)
		return husk_err_set(d->err, EBADMSG, "cbor: truncated head at offset %zu", at);
	uint64_t v = 0;
	for (size_t k = 0; k < extra; k++)
		v = (v << 8) | d->buf[d->pos + k];
	d->pos += extra;
	*arg = v;
	return 0;
}

/* Fills one item from the input; for a container it only records the count
 * (the caller walks the children). */
static int dec_item(struct decoder *d, struct husk_cbor_item *it, uint32_t items_left)
{
	size_t at = d->pos;
	uint8_t major = 0, ai = 0; /* set on success; the compiler cannot see that */
	uint64_t arg = 0;
	int r = dec_head(d, &major, &ai, &arg);
	if (r < 0)
		return r;

	memset(it, 0, sizeof *it);
	it->span = 1;

	switch (major) {
	case MT_UINT:
		it->type = HUSK_CBOR_UINT;
		it->v.u = arg;
		return 0;

	case MT_NINT:
		/* The value is -1 - arg; it fits in int64_t iff arg <= INT64_MAX. */
		if (arg > (uint64_t)INT64_MAX)
			return husk_err_set(d->err, EBADMSG, "cbor: negative integer below INT64_MIN at offset %zu",
					    at);
		it->type = HUSK_CBOR_NINT;
		it->v.i = -1 - (int64_t)arg;
		return 0;

	case MT_BYTES:
	case MT_TEXT:
		/* Compare in 64 bits: arg may be anything up to 2^64-1. */
		if (arg > (uint64_t)dec_remaining(d))
			return husk_err_set(d->err, EBADMSG,
					    "cbor: string at offset %zu declares %llu bytes, %zu remain", at,
					    (unsigned long long)arg, dec_remaining(d));
		if (arg > UINT32_MAX)
			return husk_err_set(d->err, E2BIG, "cbor: string at offset %zu is too long", at);
		it->type = major == MT_BYTES ? HUSK_CBOR_BYTES : HUSK_CBOR_TEXT;
		it->count = (uint32_t)arg;
		it->v.ptr = d->buf + d->pos;
		if (major == MT_TEXT && !husk_cbor_utf8_valid(it->v.ptr, it->count))
			return husk_err_set(d->err, EBADMSG, "cbor: invalid UTF-8 in text at offset %zu", at);
		d->pos += it->count;
		return 0;

	case MT_ARRAY:
	case MT_MAP: {
		/* Every child takes at least one byte and one item, so a count
		 * larger than either is rejected before it is used anywhere.
		 * For a map, arg pairs means 2*arg children; compare arg with
		 * half of the limits instead of doubling it (no overflow). */
		uint64_t per = major == MT_MAP ? 2 : 1;
		if (arg > (uint64_t)dec_remaining(d) / per)
			return husk_err_set(d->err, EBADMSG,
					    "cbor: container at offset %zu declares %llu entries, %zu bytes remain", at,
					    (unsigned long long)arg, dec_remaining(d));
		if (arg > (uint64_t)items_left / per)
			return husk_err_set(d->err, E2BIG, "cbor: container at offset %zu has too many items", at);
		it->type = major == MT_ARRAY ? HUSK_CBOR_ARRAY : HUSK_CBOR_MAP;
		it->count = (uint32_t)arg;
		return 0;
	}

	case MT_TAG:
		return husk_err_set(d->err, EBADMSG, "cbor: tag at offset %zu is not supported", at);

	default: /* MT_SIMPLE */
		if (ai == SIMPLE_FALSE || ai == SIMPLE_TRUE) {
			it->type = HUSK_CBOR_BOOL;
			it->v.b = ai == SIMPLE_TRUE;
			return 0;
		}
		if (ai == SIMPLE_NULL) {
			it->type = HUSK_CBOR_NULL;
			return 0;
		}
		if (ai >= 25 && ai <= 27)
			return husk_err_set(d->err, EBADMSG, "cbor: float at offset %zu is not supported", at);
		return husk_err_set(d->err, EBADMSG, "cbor: simple value at offset %zu is not supported", at);
	}
}

int husk_cbor_decode(const uint8_t *buf, size_t len, struct husk_cbor_item *items, uint32_t cap, uint32_t *n_items,
		     struct husk_err *err)
{
	struct decoder d = { .buf = buf, .len = len, .pos = 0, .err = err };
	struct open_container stack[HUSK_CBOR_MAX_DEPTH];
	unsigned depth = 0;
	uint32_t n = 0;

	if (n_items)
		*n_items = 0;
	if (!buf || len == 0)
		return husk_err_set(err, EBADMSG, "cbor: empty input");

	do {
		if (n >= cap)
			return husk_err_set(err, E2BIG, "cbor: more than %u items", (unsigned)cap);

		struct husk_cbor_item *it = &items[n];
		/* items after this one: cap - n - 1, the bound for its children */
		int r = dec_item(&d, it, cap - n - 1);
		if (r < 0)
			return r;
		n++;

		if (it->type == HUSK_CBOR_ARRAY || it->type == HUSK_CBOR_MAP) {
			/* An empty container still counts as a nesting level. */
			if (depth == HUSK_CBOR_MAX_DEPTH)
				return husk_err_set(err, E2BIG, "cbor: nested deeper than %d", HUSK_CBOR_MAX_DEPTH);
			uint64_t children = (uint64_t)it->count * (it->type == HUSK_CBOR_MAP ? 2 : 1);
			if (children > 0) {
				stack[depth].idx = n - 1;
				stack[depth].left = children;
				depth++;
				continue;
			}
		}

		/* A complete item: it is one child of the innermost open
		 * container; close every container it completes. */
		while (depth > 0) {
			struct open_container *top = &stack[depth - 1];
			if (--top->left > 0)
				break;
			items[top->idx].span = n - top->idx;
			depth--;
		}
	} while (depth > 0);

	if (d.pos != len)
		return husk_err_set(err, EBADMSG, "cbor: %zu trailing bytes after the item", len - d.pos);
	if (n_items)
		*n_items = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Navigation */

const struct husk_cbor_item *husk_cbor_first(const struct husk_cbor_item *container)
{
	if (!container || (container->type != HUSK_CBOR_ARRAY && container->type != HUSK_CBOR_MAP) ||
	    container->count == 0)
		return NULL;
	return container + 1;
}

bool husk_cbor_text_eq(const struct husk_cbor_item *it, const char *s)
{
	if (!it || !s || it->type != HUSK_CBOR_TEXT)
		return false;
	size_t n = strlen(s);
	if (n != it->count)
		return false;
	return n == 0 || memcmp(it->v.ptr, s, n) == 0;
}

const struct husk_cbor_item *husk_cbor_map_get(const struct husk_cbor_item *map, const char *key)
{
	if (!map || map->type != HUSK_CBOR_MAP)
		return NULL;
	/* First match wins; spans come from the decoder, so the walk stays
	 * inside the map's subtree. */
	const struct husk_cbor_item *k = husk_cbor_first(map);
	for (uint32_t i = 0; i < map->count; i++) {
		const struct husk_cbor_item *v = husk_cbor_next(k);
		if (husk_cbor_text_eq(k, key))
			return v;
		k = husk_cbor_next(v);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Encoder */

void husk_cbor_enc_init(struct husk_cbor_enc *e, uint8_t *buf, size_t cap)
{
	e->buf = buf;
	e->cap = buf ? cap : 0;
	e->len = 0;
	e->overflow = false;
}

/* Appends n bytes, or marks the encoder overflowed and writes nothing. Once
 * overflowed, nothing more is written, so a later small item cannot land
 * after a missing big one. */
static void enc_raw(struct husk_cbor_enc *e, const void *p, size_t n)
{
	if (e->overflow)
		return;
	if (n > e->cap - e->len) {
		e->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

/* Writes a head in its shortest form: the argument goes into the initial
 * byte below 24, otherwise into the smallest of 1, 2, 4 or 8 bytes. */
static void enc_head(struct husk_cbor_enc *e, uint8_t major, uint64_t arg)
{
	uint8_t h[9];
	size_t extra;
	uint8_t ai;

	if (arg < 24) {
		h[0] = (uint8_t)((unsigned)major << 5 | arg);
		enc_raw(e, h, 1);
		return;
	} else if (arg <= UINT8_MAX) {
		ai = 24, extra = 1;
	} else if (arg <= UINT16_MAX) {
		ai = 25, extra = 2;
	} else if (arg <= UINT32_MAX) {
		ai = 26, extra = 4;
	} else {
		ai = 27, extra = 8;
	}
	h[0] = (uint8_t)(major << 5 | ai);
	for (size_t k = 0; k < extra; k++)
		h[1 + k] = (uint8_t)(arg >> (8 * (extra - 1 - k)));
	enc_raw(e, h, 1 + extra);
}

void husk_cbor_put_uint(struct husk_cbor_enc *e, uint64_t v)
{
	enc_head(e, MT_UINT, v);
}

void husk_cbor_put_int(struct husk_cbor_enc *e, int64_t v)
{
	if (v >= 0)
		enc_head(e, MT_UINT, (uint64_t)v);
	else
		/* -1 - v, computed without overflow for INT64_MIN:
		 * ~v == -1 - v in two's complement. */
		enc_head(e, MT_NINT, (uint64_t)~v);
}

/* A string whose head and body do not both fit is dropped whole. */
static void enc_string(struct husk_cbor_enc *e, uint8_t major, const void *p, size_t n)
{
	size_t before = e->len;
	enc_head(e, major, n);
	if (!e->overflow && n > e->cap - e->len) {
		e->len = before;
		e->overflow = true;
		return;
	}
	enc_raw(e, p, n);
}

void husk_cbor_put_bytes(struct husk_cbor_enc *e, const void *p, size_t n)
{
	enc_string(e, MT_BYTES, p, n);
}

void husk_cbor_put_bytes_head(struct husk_cbor_enc *e, size_t n)
{
	enc_head(e, MT_BYTES, n);
}

void husk_cbor_put_text(struct husk_cbor_enc *e, const char *s)
{
	enc_string(e, MT_TEXT, s, s ? strlen(s) : 0);
}

void husk_cbor_put_textn(struct husk_cbor_enc *e, const char *s, size_t n)
{
	enc_string(e, MT_TEXT, s, n);
}

void husk_cbor_put_array(struct husk_cbor_enc *e, uint32_t n)
{
	enc_head(e, MT_ARRAY, n);
}

void husk_cbor_put_map(struct husk_cbor_enc *e, uint32_t n)
{
	enc_head(e, MT_MAP, n);
}

void husk_cbor_put_bool(struct husk_cbor_enc *e, bool b)
{
	uint8_t ib = (uint8_t)(MT_SIMPLE << 5 | (b ? SIMPLE_TRUE : SIMPLE_FALSE));
	enc_raw(e, &ib, 1);
}

void husk_cbor_put_null(struct husk_cbor_enc *e)
{
	uint8_t ib = (uint8_t)(MT_SIMPLE << 5 | SIMPLE_NULL);
	enc_raw(e, &ib, 1);
}

int husk_cbor_enc_finish(const struct husk_cbor_enc *e, struct husk_err *err)
{
	if (e->overflow)
		return husk_err_set(err, ENOSPC, "cbor: encoding does not fit in %zu bytes", e->cap);
	return 0;
}
