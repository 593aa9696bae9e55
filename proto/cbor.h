/* A bounded CBOR (RFC 8949) codec shared by host and guest.
 *
 * Decoder: definite lengths only; major types 0-5 and the simple values
 * false/true/null; no tags, floats or indefinite lengths; text must be valid
 * UTF-8; trailing bytes are an error. It fills a caller-provided item array
 * in pre-order (an item's children follow it), bounded by the array size and
 * by HUSK_CBOR_MAX_DEPTH. Strings point into the input buffer: no allocation.
 *
 * Encoder: writes into a caller-provided buffer; an overflow is sticky and is
 * reported by husk_cbor_enc_finish(). Shortest-form heads are always used. */
#ifndef HUSK_PROTO_CBOR_H
#define HUSK_PROTO_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* At most this many containers nested in one another (the root counts, an
 * empty container counts). */
#define HUSK_CBOR_MAX_DEPTH 16

enum husk_cbor_type {
	HUSK_CBOR_UINT = 1, /* v.u */
	HUSK_CBOR_NINT,     /* v.i, always < 0; values below INT64_MIN are rejected */
	HUSK_CBOR_BYTES,    /* v.ptr, count = length */
	HUSK_CBOR_TEXT,     /* v.ptr (not NUL-terminated), count = length */
	HUSK_CBOR_ARRAY,    /* count = number of elements */
	HUSK_CBOR_MAP,      /* count = number of key/value pairs */
	HUSK_CBOR_BOOL,     /* v.b */
	HUSK_CBOR_NULL,
};

struct husk_cbor_item {
	uint8_t type;   /* enum husk_cbor_type */
	uint32_t count; /* see the enum */
	uint32_t span;  /* items in this subtree, this one included */
	union {
		uint64_t u;
		int64_t i;
		bool b;
		const uint8_t *ptr;
	} v;
};

/* Decodes exactly one item covering all of buf[0..len). On success returns 0
 * and sets *n_items (items[0] is the root). Errors: -EBADMSG (malformed,
 * unsupported, trailing bytes, invalid UTF-8), -E2BIG (more items than cap or
 * deeper than HUSK_CBOR_MAX_DEPTH). */
int husk_cbor_decode(const uint8_t *buf, size_t len, struct husk_cbor_item *items, uint32_t cap, uint32_t *n_items,
		     struct husk_err *err);

/* True if s[0..n) is strict UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF), the rule the decoder applies to text. Encoders can check
 * text with it first: the encoder itself copies text as given. */
bool husk_cbor_utf8_valid(const uint8_t *s, size_t n);

/* Navigation over a decoded array (items are contiguous, pre-order). */
static inline const struct husk_cbor_item *husk_cbor_next(const struct husk_cbor_item *it)
{
	return it + it->span;
}
/* First child of an array/map (for a map: the first key), or NULL if empty. */
const struct husk_cbor_item *husk_cbor_first(const struct husk_cbor_item *container);
/* Value for a text key in a map, or NULL (also NULL if map is not a map). */
const struct husk_cbor_item *husk_cbor_map_get(const struct husk_cbor_item *map, const char *key);
/* True if it is a text item equal to s. */
bool husk_cbor_text_eq(const struct husk_cbor_item *it, const char *s);

struct husk_cbor_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void husk_cbor_enc_init(struct husk_cbor_enc *e, uint8_t *buf, size_t cap);
void husk_cbor_put_uint(struct husk_cbor_enc *e, uint64_t v);
void husk_cbor_put_int(struct husk_cbor_enc *e, int64_t v);
void husk_cbor_put_bytes(struct husk_cbor_enc *e, const void *p, size_t n);
/* Only the head of a byte string of n bytes: the caller places the n bytes
 * right after what was encoded (a payload read in place, never copied). */
void husk_cbor_put_bytes_head(struct husk_cbor_enc *e, size_t n);
void husk_cbor_put_text(struct husk_cbor_enc *e, const char *s);
void husk_cbor_put_textn(struct husk_cbor_enc *e, const char *s, size_t n);
void husk_cbor_put_array(struct husk_cbor_enc *e, uint32_t n);
void husk_cbor_put_map(struct husk_cbor_enc *e, uint32_t n);
void husk_cbor_put_bool(struct husk_cbor_enc *e, bool b);
void husk_cbor_put_null(struct husk_cbor_enc *e);
/* 0, or -ENOSPC (err filled) if anything did not fit. */
int husk_cbor_enc_finish(const struct husk_cbor_enc *e, struct husk_err *err);

#endif
