/* Helpers shared by tests/unit/test_cbor.c and tests/fuzz/fuzz_cbor.c:
 * comparing a decoded husk tree with libcbor's reading of the same bytes (the
 * differential check), comparing two husk trees, re-encoding a husk tree and
 * checking its spans. Include after proto/cbor.h and <cbor.h>. */
#ifndef HUSK_TESTS_CBOR_REF_H
#define HUSK_TESTS_CBOR_REF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* True if libcbor's item ref holds the same value as our subtree at it
 * (types, counts, integer values, string bytes, order of array elements and
 * map pairs). Recursion depth is bounded by HUSK_CBOR_MAX_DEPTH. */
static inline bool cbor_ref_equal(const struct husk_cbor_item *it, const cbor_item_t *ref)
{
	switch (it->type) {
	case HUSK_CBOR_UINT:
		return cbor_isa_uint(ref) && cbor_get_int(ref) == it->v.u;
	case HUSK_CBOR_NINT:
		/* libcbor stores n for the value -1 - n; ~v == -1 - v, with
		 * no overflow at INT64_MIN. */
		return cbor_isa_negint(ref) && cbor_get_int(ref) == ~(uint64_t)it->v.i;
	case HUSK_CBOR_BYTES:
		return cbor_isa_bytestring(ref) && cbor_bytestring_is_definite(ref) &&
		       cbor_bytestring_length(ref) == it->count &&
		       (it->count == 0 || memcmp(cbor_bytestring_handle(ref), it->v.ptr, it->count) == 0);
	case HUSK_CBOR_TEXT:
		return cbor_isa_string(ref) && cbor_string_is_definite(ref) && cbor_string_length(ref) == it->count &&
		       (it->count == 0 || memcmp(cbor_string_handle(ref), it->v.ptr, it->count) == 0);
	case HUSK_CBOR_ARRAY: {
		if (!cbor_isa_array(ref) || !cbor_array_is_definite(ref) || cbor_array_size(ref) != it->count)
			return false;
		cbor_item_t **kids = cbor_array_handle(ref);
		const struct husk_cbor_item *c = it + 1;
		for (uint32_t i = 0; i < it->count; i++, c = husk_cbor_next(c)) {
			if (!cbor_ref_equal(c, kids[i]))
				return false;
		}
		return true;
	}
	case HUSK_CBOR_MAP: {
		if (!cbor_isa_map(ref) || !cbor_map_is_definite(ref) || cbor_map_size(ref) != it->count)
			return false;
		struct cbor_pair *pairs = cbor_map_handle(ref);
		const struct husk_cbor_item *c = it + 1;
		for (uint32_t i = 0; i < it->count; i++) {
			if (!cbor_ref_equal(c, pairs[i].key))
				return false;
			c = husk_cbor_next(c);
			if (!cbor_ref_equal(c, pairs[i].value))
				return false;
			c = husk_cbor_next(c);
		}
		return true;
	}
	case HUSK_CBOR_BOOL:
		return cbor_isa_float_ctrl(ref) && cbor_is_bool(ref) && cbor_get_bool(ref) == it->v.b;
	case HUSK_CBOR_NULL:
		return cbor_isa_float_ctrl(ref) && cbor_is_null(ref);
	default:
		return false;
	}
}

/* Loads buf with libcbor and compares; requires libcbor to accept the whole
 * buffer. Returns 0 if equal, 1 if libcbor rejects, 2 if it reads fewer bytes,
 * 3 if the values differ. */
static inline int cbor_ref_check(const uint8_t *buf, size_t len, const struct husk_cbor_item *root)
{
	struct cbor_load_result res;
	cbor_item_t *ref = cbor_load(buf, len, &res);
	int rc = 0;

	if (!ref || res.error.code != CBOR_ERR_NONE)
		rc = 1;
	else if (res.read != len)
		rc = 2;
	else if (!cbor_ref_equal(root, ref))
		rc = 3;
	if (ref)
		cbor_decref(&ref);
	return rc;
}

/* True if every container's span is 1 + the spans of its children and the
 * root spans all n items: the invariant navigation relies on. */
static inline bool cbor_tree_spans_ok(const struct husk_cbor_item *items, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct husk_cbor_item *it = &items[i];
		if (it->span == 0 || it->span > n - i)
			return false;
		uint64_t kids = 0;
		if (it->type == HUSK_CBOR_ARRAY)
			kids = it->count;
		else if (it->type == HUSK_CBOR_MAP)
			kids = (uint64_t)it->count * 2;
		else if (it->span != 1)
			return false;
		uint64_t sum = 1;
		const struct husk_cbor_item *c = it + 1;
		for (uint64_t k = 0; k < kids; k++) {
			if (c >= items + n)
				return false;
			sum += c->span;
			c = husk_cbor_next(c);
		}
		if (sum != it->span)
			return false;
	}
	return n > 0 && items[0].span == n;
}

/* True if two decoded trees are item-for-item the same values. */
static inline bool cbor_tree_equal(const struct husk_cbor_item *a, uint32_t na, const struct husk_cbor_item *b,
				   uint32_t nb)
{
	if (na != nb)
		return false;
	for (uint32_t i = 0; i < na; i++) {
		if (a[i].type != b[i].type || a[i].count != b[i].count || a[i].span != b[i].span)
			return false;
		switch (a[i].type) {
		case HUSK_CBOR_UINT:
			if (a[i].v.u != b[i].v.u)
				return false;
			break;
		case HUSK_CBOR_NINT:
			if (a[i].v.i != b[i].v.i)
				return false;
			break;
		case HUSK_CBOR_BOOL:
			if (a[i].v.b != b[i].v.b)
				return false;
			break;
		case HUSK_CBOR_BYTES:
		case HUSK_CBOR_TEXT:
			if (a[i].count && memcmp(a[i].v.ptr, b[i].v.ptr, a[i].count) != 0)
				return false;
			break;
		default:
			break;
		}
	}
	return true;
}

/* Writes a decoded tree back out with our encoder. Pre-order items with
 * counts are exactly the order an encoder needs, so this is one pass. */
static inline void cbor_tree_encode(struct husk_cbor_enc *e, const struct husk_cbor_item *items, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct husk_cbor_item *it = &items[i];
		switch (it->type) {
		case HUSK_CBOR_UINT:
			husk_cbor_put_uint(e, it->v.u);
			break;
		case HUSK_CBOR_NINT:
			husk_cbor_put_int(e, it->v.i);
			break;
		case HUSK_CBOR_BYTES:
			husk_cbor_put_bytes(e, it->v.ptr, it->count);
			break;
		case HUSK_CBOR_TEXT:
			husk_cbor_put_textn(e, (const char *)it->v.ptr, it->count);
			break;
		case HUSK_CBOR_ARRAY:
			husk_cbor_put_array(e, it->count);
			break;
		case HUSK_CBOR_MAP:
			husk_cbor_put_map(e, it->count);
			break;
		case HUSK_CBOR_BOOL:
			husk_cbor_put_bool(e, it->v.b);
			break;
		default:
			husk_cbor_put_null(e);
			break;
		}
	}
}

#endif
