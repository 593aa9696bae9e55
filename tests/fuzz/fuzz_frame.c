/* libFuzzer harness for the incremental frame reader (built with
 * tests/fuzz/run.sh; with replay_main.c instead of libFuzzer it replays a
 * corpus).
 *
 * Input layout: 8 bytes of set-up, then the byte stream.
 *   [0..1] max_payload asked for (LE, 0..65535)
 *   [2]    extra buffer room beyond HDR + max_payload (may make it smaller:
 *          bit 7 set means "cap is HDR + (byte & 0x7f)", to test clamping)
 *   [3..7] seed for the chunk sizes the stream is fed in
 * The reader's buffer is malloc'd at exactly cap bytes so ASan sees any
 * overrun. Frames must come out exactly as an independent walk over the
 * stream finds them, -EMSGSIZE exactly where a header exceeds the effective
 * limit, and space() must never offer 0 bytes while a frame is incomplete. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

#define FUZZ_CHECK(cond)                                                                                               \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "fuzz_frame: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define SETUP_SIZE 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the next frame of the stream starts, by walking headers directly. */
struct ref_walk {
	const uint8_t *s;
	size_t len;
	size_t pos;
	uint32_t max;
};

/* 1: a frame at pos (hdr/payload set, pos advanced); 0: the rest is an
 * incomplete frame; -1: the header at pos is over the limit. */
static int ref_next(struct ref_walk *w, struct husk_frame_hdr *h, const uint8_t **payload)
{
	if (w->len - w->pos < HUSK_FRAME_HDR_SIZE)
		return 0;
	husk_frame_hdr_unpack(w->s + w->pos, h);
	if (h->len > w->max)
		return -1;
	if (w->len - w->pos - HUSK_FRAME_HDR_SIZE < h->len)
		return 0;
	*payload = w->s + w->pos + HUSK_FRAME_HDR_SIZE;
	w->pos += HUSK_FRAME_HDR_SIZE + h->len;
	return 1;
}

static uint32_t chunk_rng(uint64_t *st)
{
	*st = *st * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*st >> 33);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < SETUP_SIZE)
		return 0;
	uint32_t max_asked = (uint32_t)data[0] | (uint32_t)data[1] << 8;
	size_t cap = data[2] & 0x80 ? HUSK_FRAME_HDR_SIZE + (data[2] & 0x7f)
				    : HUSK_FRAME_HDR_SIZE + max_asked + data[2];
	uint64_t seed = 0;
	memcpy(&seed, data + 3, 5);
	const uint8_t *stream = data + SETUP_SIZE;
	size_t stream_len = size - SETUP_SIZE;

	/* The documented clamp: never more than the buffer holds. */
	uint32_t max_eff = max_asked;
	if (max_eff > cap - HUSK_FRAME_HDR_SIZE)
		max_eff = (uint32_t)(cap - HUSK_FRAME_HDR_SIZE);

	uint8_t *buf = malloc(cap);
	FUZZ_CHECK(buf != NULL);
	struct husk_frame_reader r;
	husk_frame_reader_init(&r, buf, cap, max_asked);
	FUZZ_CHECK(r.max_payload == max_eff);

	struct ref_walk w = { .s = stream, .len = stream_len, .pos = 0, .max = max_eff };
	size_t fed = 0;
	bool failed = false;
	while (fed < stream_len && !failed) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&r, &room);
		FUZZ_CHECK(dst >= buf && room <= cap && (size_t)(dst - buf) + room == cap);
		/* Room may only run out when a complete or over-limit frame
		 * sits unread, and next() is always drained below. */
		FUZZ_CHECK(room > 0);
		size_t n = 1 + chunk_rng(&seed) % (seed & 1 ? 7 : 300);
		if (n > room)
			n = room;
		if (n > stream_len - fed)
			n = stream_len - fed;
		memcpy(dst, stream + fed, n);
		husk_frame_reader_commit(&r, n);
		fed += n;

		for (;;) {
			struct husk_frame_hdr h, rh;
			const uint8_t *p, *rp;
			struct husk_err err = { 0 };
			int rc = husk_frame_reader_next(&r, &h, &p, &err);
			/* the reference sees only the bytes fed so far */
			w.len = fed;
			int want = ref_next(&w, &rh, &rp);
			w.len = stream_len;
			if (want == -1) {
				FUZZ_CHECK(rc == -EMSGSIZE && err.code == EMSGSIZE);
				/* sticky */
				FUZZ_CHECK(husk_frame_reader_next(&r, &h, &p, &err) == -EMSGSIZE);
				failed = true;
				break;
			}
			FUZZ_CHECK(rc == want);
			if (rc == 0)
				break;
			FUZZ_CHECK(h.len == rh.len && h.type == rh.type && h.flags == rh.flags && h.id == rh.id);
			FUZZ_CHECK(p >= buf && p + h.len <= buf + cap);
			FUZZ_CHECK(h.len == 0 || memcmp(p, rp, h.len) == 0);
		}
	}
	free(buf);
	return 0;
}
