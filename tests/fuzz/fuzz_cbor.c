/* libFuzzer harness for the CBOR decoder (built with tests/fuzz/run.sh; with
 * replay_main.c instead of libFuzzer it replays a corpus).
 *
 * For every input: a rejection must fill err with the returned code; an
 * acceptance must give a tree whose spans are consistent, which libcbor reads
 * from the same bytes to the same values (differential check), which our
 * encoder writes back in no more bytes, and whose re-encoding decodes to the
 * same tree. The item cap is exact: n items decode with cap n, not n-1.
 * map_get must find the first pair of every text key. */
#include <cbor.h> /* libcbor */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cbor.h"
#include "tests/unit/cbor_ref.h"

#define FUZZ_MAX_ITEMS 65536u

#define FUZZ_CHECK(cond)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz_cbor: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);            \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct husk_cbor_item items[FUZZ_MAX_ITEMS];
static struct husk_cbor_item items2[FUZZ_MAX_ITEMS];

/* For each text key of each map, map_get returns the value of the first
 * pair with that key. Keys holding a NUL cannot be asked for by name. */
static void check_map_get(uint32_t n)
{
	char key[64];
	for (uint32_t i = 0; i < n; i++) {
		const struct husk_cbor_item *m = &items[i];
		if (m->type != HUSK_CBOR_MAP)
			continue;
		FUZZ_CHECK(husk_cbor_first(m) == (m->count ? m + 1 : NULL));
		const struct husk_cbor_item *k = m + 1;
		for (uint32_t p = 0; p < m->count; p++) {
			const struct husk_cbor_item *v = husk_cbor_next(k);
			if (k->type == HUSK_CBOR_TEXT && k->count < sizeof key && !memchr(k->v.ptr, '\0', k->count)) {
				memcpy(key, k->v.ptr, k->count);
				key[k->count] = '\0';
				const struct husk_cbor_item *got = husk_cbor_map_get(m, key);
				FUZZ_CHECK(got != NULL);
				FUZZ_CHECK(got > m && got < m + m->span);
				FUZZ_CHECK(got <= v); /* the first match, never a later one */
				/* the matched key is text (span 1) right before its value */
				FUZZ_CHECK(husk_cbor_text_eq(got - 1, key));
			}
			k = husk_cbor_next(v);
		}
		FUZZ_CHECK(k == m + m->span);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_err err = { 0 };
	uint32_t n = 0;

	int r = husk_cbor_decode(data, size, items, FUZZ_MAX_ITEMS, &n, &err);
	if (r != 0) {
		FUZZ_CHECK(r == -EBADMSG || r == -E2BIG);
		FUZZ_CHECK(err.code == -r && err.msg[0] != '\0');
		FUZZ_CHECK(n == 0);
		return 0;
	}
	FUZZ_CHECK(err.code == 0);
	FUZZ_CHECK(n >= 1 && n <= size);
	FUZZ_CHECK(cbor_tree_spans_ok(items, n));

	/* The cap is exact. */
	uint32_t n2 = 0;
	FUZZ_CHECK(husk_cbor_decode(data, size, items2, n, &n2, &err) == 0 && n2 == n);
	FUZZ_CHECK(husk_cbor_decode(data, size, items2, n - 1, &n2, &err) == -E2BIG);
	husk_err_clear(&err);

	/* libcbor reads the same bytes to the same values. */
	int rc = cbor_ref_check(data, size, items);
	if (rc != 0)
		fprintf(stderr, "fuzz_cbor: libcbor differs (%d)\n", rc);
	FUZZ_CHECK(rc == 0);

	/* Shortest-form re-encoding: never longer, and the same tree. The
	 * buffer is exactly size bytes so ASan sees any overrun. */
	uint8_t *out = malloc(size);
	FUZZ_CHECK(out != NULL);
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, out, size);
	cbor_tree_encode(&e, items, n);
	FUZZ_CHECK(husk_cbor_enc_finish(&e, &err) == 0);
	FUZZ_CHECK(husk_cbor_decode(out, e.len, items2, FUZZ_MAX_ITEMS, &n2, &err) == 0);
	FUZZ_CHECK(cbor_tree_equal(items, n, items2, n2));
	/* and re-encoding is idempotent: shortest form twice is the same bytes */
	if (e.len > 0) {
		uint8_t *again = malloc(e.len);
		FUZZ_CHECK(again != NULL);
		struct husk_cbor_enc e2;
		husk_cbor_enc_init(&e2, again, e.len);
		cbor_tree_encode(&e2, items2, n2);
		FUZZ_CHECK(!e2.overflow && e2.len == e.len && memcmp(again, out, e.len) == 0);
		free(again);
	}
	free(out);

	check_map_get(n);
	return 0;
}
