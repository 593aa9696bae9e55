/* Unit tests for proto/frame.c: header layout, and the incremental reader fed
 * one byte at a time, in random chunks, and many frames at once; the length
 * limit checked on the header alone; zero-length payloads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include "host/monitor/ctl.h"
#include "proto/frame.h"
#include "tests/unit/unit.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* A stream of frames to feed, and what the reader should hand back. */
#define MAX_FRAMES 100000
struct stream {
	uint8_t *bytes;
	size_t len;
	struct husk_frame_hdr hdr[MAX_FRAMES];
	size_t payload_at[MAX_FRAMES]; /* offset of each payload in bytes */
	size_t n;
};

static struct stream st;
static uint8_t stream_bytes[8 << 20];

static void stream_reset(void)
{
	st.bytes = stream_bytes;
	st.len = 0;
	st.n = 0;
}

static void stream_add(uint32_t len, uint16_t type, uint16_t flags, uint32_t id)
{
	struct husk_frame_hdr h = { .len = len, .type = type, .flags = flags, .id = id };
	husk_frame_hdr_pack(st.bytes + st.len, &h);
	st.len += HUSK_FRAME_HDR_SIZE;
	st.hdr[st.n] = h;
	st.payload_at[st.n] = st.len;
	st.n++;
	for (uint32_t k = 0; k < len; k++)
		st.bytes[st.len + k] = (uint8_t)(rnd() >> 7);
	st.len += len;
}

static bool frame_matches(size_t i, const struct husk_frame_hdr *h, const uint8_t *payload)
{
	const struct husk_frame_hdr *w = &st.hdr[i];
	if (h->len != w->len || h->type != w->type || h->flags != w->flags || h->id != w->id)
		return false;
	return h->len == 0 || memcmp(payload, st.bytes + st.payload_at[i], h->len) == 0;
}

/* Feeds the whole stream through a reader in chunks of at most chunk bytes
 * (0: random sizes) and checks every frame comes out right, in order. */
static enum test_result feed(size_t cap, uint32_t max_payload, size_t chunk)
{
	uint8_t *buf = malloc(cap);
	struct husk_frame_reader r;
	size_t fed = 0, got = 0;
	enum test_result res = TEST_FAIL;

	CHECK(buf);
	husk_frame_reader_init(&r, buf, cap, max_payload);
	while (fed < st.len) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&r, &room);
		if (room == 0) {
			printf("# no room with %zu of %zu bytes fed\n", fed, st.len);
			goto out;
		}
		size_t n = chunk ? chunk : 1 + (size_t)(rnd() % 5000);
		if (n > room)
			n = room;
		if (n > st.len - fed)
			n = st.len - fed;
		memcpy(dst, st.bytes + fed, n);
		husk_frame_reader_commit(&r, n);
		fed += n;

		struct husk_frame_hdr h;
		const uint8_t *payload;
		struct husk_err err = { 0 };
		int rc;
		while ((rc = husk_frame_reader_next(&r, &h, &payload, &err)) == 1) {
			if (got >= st.n || !frame_matches(got, &h, payload)) {
				printf("# frame %zu wrong\n", got);
				goto out;
			}
			got++;
		}
		if (rc != 0) {
			printf("# next: %d %s\n", rc, err.msg);
			goto out;
		}
	}
	if (got != st.n) {
		printf("# got %zu of %zu frames\n", got, st.n);
		goto out;
	}
	res = TEST_PASS;
out:
	free(buf);
	return res;
}

static enum test_result test_hdr_layout(void)
{
	uint8_t b[HUSK_FRAME_HDR_SIZE];
	struct husk_frame_hdr h = { .len = 0x04030201, .type = 0x0605, .flags = 0x0807, .id = 0x0c0b0a09 };
	husk_frame_hdr_pack(b, &h);
	for (unsigned i = 0; i < HUSK_FRAME_HDR_SIZE; i++)
		CHECK_EQ_INT(b[i], i + 1);
	struct husk_frame_hdr u;
	husk_frame_hdr_unpack(b, &u);
	CHECK(u.len == h.len && u.type == h.type && u.flags == h.flags && u.id == h.id);
	for (int i = 0; i < 1000; i++) {
		uint64_t a = rnd(), c = rnd();
		struct husk_frame_hdr x = { (uint32_t)a, (uint16_t)(a >> 32), (uint16_t)(a >> 48), (uint32_t)c };
		husk_frame_hdr_pack(b, &x);
		husk_frame_hdr_unpack(b, &u);
		CHECK(u.len == x.len && u.type == x.type && u.flags == x.flags && u.id == x.id);
	}
	return TEST_PASS;
}

/* Lengths 0..300 and some at the limit: a mixed stream used by several tests. */
static void mixed_stream(uint32_t max_payload)
{
	stream_reset();
	for (uint32_t i = 0; i < 300; i++)
		stream_add(i, (uint16_t)i, (uint16_t)(i * 3), i * 7919u);
	stream_add(max_payload, 0xffff, 0xffff, UINT32_MAX);
	stream_add(0, 1, 0, 0);
	stream_add(max_payload, 2, 0, 1);
	stream_add(max_payload - 1, 3, 0, 2);
	stream_add(0, 4, 0, 3);
}

static enum test_result test_byte_at_a_time(void)
{
	mixed_stream(1000);
	/* the smallest buffer that can hold the largest frame: compaction
	 * after every frame is then required for progress */
	return feed(HUSK_FRAME_HDR_SIZE + 1000, 1000, 1);
}

static enum test_result test_random_chunks(void)
{
	mixed_stream(1000);
	for (int round = 0; round < 20; round++) {
		if (feed(HUSK_FRAME_HDR_SIZE + 1000 + (size_t)(rnd() % 3000), 1000, 0) != TEST_PASS)
			return TEST_FAIL;
	}
	return TEST_PASS;
}

/* Everything in one commit: each frame is handed out where it lies, and
 * every payload stays valid until space() is called again. */
static enum test_result test_many_frames_one_chunk(void)
{
	mixed_stream(1000);
	size_t cap = st.len;
	uint8_t *buf = malloc(cap);
	CHECK(buf);
	struct husk_frame_reader r;
	husk_frame_reader_init(&r, buf, cap, 1000);
	size_t room;
	uint8_t *dst = husk_frame_reader_space(&r, &room);
	CHECK_EQ_INT(room, cap);
	memcpy(dst, st.bytes, st.len);
	husk_frame_reader_commit(&r, st.len);

	static const uint8_t *payloads[MAX_FRAMES];
	static struct husk_frame_hdr hdrs[MAX_FRAMES];
	struct husk_err err = { 0 };
	size_t got = 0;
	int rc;
	while ((rc = husk_frame_reader_next(&r, &hdrs[got], &payloads[got], &err)) == 1)
		got++;
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(got, st.n);
	for (size_t i = 0; i < got; i++)
		CHECK(frame_matches(i, &hdrs[i], payloads[i]));
	/* drained: all the room comes back */
	husk_frame_reader_space(&r, &room);
	CHECK_EQ_INT(room, cap);
	CHECK_EQ_INT(r.len, 0);
	free(buf);
	return TEST_PASS;
}

static enum test_result test_exactly_max(void)
{
	stream_reset();
	stream_add(HUSK_FRAME_MAX, 7, 0, 42);
	stream_add(0, 8, 0, 43);
	stream_add(HUSK_FRAME_MAX, 9, 0, 44);
	if (feed(HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX, HUSK_FRAME_MAX, 0) != TEST_PASS)
		return TEST_FAIL;
	return feed(HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX, HUSK_FRAME_MAX, 65536);
}

/* Commits the header of a frame declaring len, one byte at a time, and
 * returns what next() says once the header is complete. */
static int header_only(struct husk_frame_reader *r, uint32_t len, struct husk_err *err)
{
	uint8_t b[HUSK_FRAME_HDR_SIZE];
	struct husk_frame_hdr h = { .len = len, .type = 1 };
	struct husk_frame_hdr out;
	const uint8_t *payload;
	husk_frame_hdr_pack(b, &h);
	for (unsigned i = 0; i < HUSK_FRAME_HDR_SIZE; i++) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(r, &room);
		if (room == 0)
			return -9999;
		*dst = b[i];
		husk_frame_reader_commit(r, 1);
		int rc = husk_frame_reader_next(r, &out, &payload, err);
		if (i + 1 < HUSK_FRAME_HDR_SIZE && rc != 0)
			return -9998; /* nothing before the header is complete */
		if (i + 1 == HUSK_FRAME_HDR_SIZE)
			return rc;
	}
	return -9997;
}

static enum test_result test_over_max_rejected_on_header(void)
{
	static uint8_t buf[HUSK_FRAME_HDR_SIZE + 100];
	struct husk_frame_reader r;
	struct husk_err err = { 0 };

	husk_frame_reader_init(&r, buf, sizeof buf, 100);
	CHECK_EQ_INT(header_only(&r, 101, &err), -EMSGSIZE);
	CHECK(err.code == EMSGSIZE && err.msg[0]);
	/* sticky: the stream cannot be resynchronised */
	struct husk_frame_hdr h;
	const uint8_t *p;
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_frame_reader_next(&r, &h, &p, &err), -EMSGSIZE);

	/* the largest declared lengths, no overflow anywhere */
	husk_frame_reader_init(&r, buf, sizeof buf, 100);
	husk_err_clear(&err);
	CHECK_EQ_INT(header_only(&r, UINT32_MAX, &err), -EMSGSIZE);
	husk_frame_reader_init(&r, buf, sizeof buf, 100);
	CHECK_EQ_INT(header_only(&r, UINT32_MAX - HUSK_FRAME_HDR_SIZE + 1, &err), -EMSGSIZE);

	/* exactly max: the header is fine, then it waits for the body */
	husk_frame_reader_init(&r, buf, sizeof buf, 100);
	CHECK_EQ_INT(header_only(&r, 100, &err), 0);
	size_t room;
	husk_frame_reader_space(&r, &room);
	CHECK_EQ_INT(room, 100);
	return TEST_PASS;
}

static enum test_result test_zero_length(void)
{
	static uint8_t buf[HUSK_FRAME_HDR_SIZE];
	struct husk_frame_reader r;
	struct husk_err err = { 0 };
	struct husk_frame_hdr h;
	const uint8_t *p = NULL;

	/* a reader for empty frames only */
	husk_frame_reader_init(&r, buf, sizeof buf, 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(header_only(&r, 0, &err), 1);
		CHECK_EQ_INT(husk_frame_reader_next(&r, &h, &p, &err), 0);
	}
	CHECK_EQ_INT(header_only(&r, 1, &err), -EMSGSIZE);

	stream_reset();
	for (int i = 0; i < 1000; i++)
		stream_add(0, (uint16_t)i, 0, (uint32_t)i);
	if (feed(HUSK_FRAME_HDR_SIZE, 0, 1) != TEST_PASS)
		return TEST_FAIL;
	return feed(4096, 0, 0);
}

/* A caller passing a max above what its buffer holds, or above the protocol
 * limit, gets the smaller limit rather than an overrun. */
static enum test_result test_init_clamps(void)
{
	static uint8_t buf[HUSK_FRAME_HDR_SIZE + 50];
	struct husk_frame_reader r;
	struct husk_err err = { 0 };

	husk_frame_reader_init(&r, buf, sizeof buf, 1000);
	CHECK_EQ_INT(r.max_payload, 50);
	CHECK_EQ_INT(header_only(&r, 51, &err), -EMSGSIZE);
	husk_frame_reader_init(&r, buf, sizeof buf, 1000);
	CHECK_EQ_INT(header_only(&r, 50, &err), 0);

	husk_frame_reader_init(&r, buf, SIZE_MAX, UINT32_MAX);
	CHECK_EQ_INT(r.max_payload, HUSK_FRAME_MAX);
	husk_frame_reader_init(&r, buf, 5, 1000);
	CHECK_EQ_INT(r.max_payload, 0);

	/* commit never goes past the buffer */
	husk_frame_reader_init(&r, buf, sizeof buf, 50);
	husk_frame_reader_commit(&r, 1000);
	CHECK_EQ_INT(r.len, sizeof buf);
	return TEST_PASS;
}

/* A buffer full of empty frames is drained in linear time: frames are
 * handed out in place and the buffer is compacted once per space() call. */
static enum test_result test_tiny_frame_flood(void)
{
	stream_reset();
	const size_t total = HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX;
	while (st.len + 2 * HUSK_FRAME_HDR_SIZE <= total && st.n < MAX_FRAMES - 1)
		stream_add(0, 1, 0, 0);
	/* pad with one frame that ends exactly at the buffer's end */
	stream_add((uint32_t)(total - st.len - HUSK_FRAME_HDR_SIZE), 2, 0, 0);
	CHECK_EQ_INT(st.len, total);
	CHECK(st.n > 80000);
	/* one read fills the whole buffer */
	return feed(total, HUSK_FRAME_MAX, SIZE_MAX);
}

/* The blocking reader used for replies leaves what follows its frame in the
 * stream: an exec's output and EXIT can arrive right behind its reply, in
 * the same segment, and belong to the monitor's loop that reads next. */
static enum test_result test_read_one_stops_at_its_frame(void)
{
	int sv[2];
	struct husk_err err = { 0 };
	static uint8_t buf[HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX];
	struct husk_frame_hdr h;
	const uint8_t *payload;
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* reply, then two frames, all sent before the reader looks */
	CHECK_EQ_INT(husk_frame_write_all(sv[0], 7, 1, 1, (const uint8_t *)"reply", 5, &err), 0);
	CHECK_EQ_INT(husk_frame_write_all(sv[0], 8, 0, 0, (const uint8_t *)"output", 6, &err), 0);
	CHECK_EQ_INT(husk_frame_write_all(sv[0], 9, 0, 0, NULL, 0, &err), 0);
	CHECK_EQ_INT(husk_frame_read_one(sv[1], buf, sizeof buf, 1000, &h, &payload, &err), 0);
	CHECK_EQ_INT(h.type, 7);
	CHECK(h.len == 5 && memcmp(payload, "reply", 5) == 0);
	/* the next reader gets the rest whole */
	CHECK_EQ_INT(husk_frame_read_one(sv[1], buf, sizeof buf, 1000, &h, &payload, &err), 0);
	CHECK(h.type == 8 && h.len == 6 && memcmp(payload, "output", 6) == 0);
	CHECK_EQ_INT(husk_frame_read_one(sv[1], buf, sizeof buf, 1000, &h, &payload, &err), 0);
	CHECK(h.type == 9 && h.len == 0);
	/* nothing more: a short timeout, not a frame */
	CHECK_EQ_INT(husk_frame_read_one(sv[1], buf, sizeof buf, 50, &h, &payload, &err), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "header is 12 bytes little-endian, round trips", test_hdr_layout },
		{ "byte-at-a-time feeding through the smallest buffer", test_byte_at_a_time },
		{ "random chunk sizes and buffer sizes", test_random_chunks },
		{ "many frames in one chunk, payloads stay valid", test_many_frames_one_chunk },
		{ "payload of exactly HUSK_FRAME_MAX is accepted", test_exactly_max },
		{ "max+1 is rejected on the header alone, sticky", test_over_max_rejected_on_header },
		{ "zero-length payloads", test_zero_length },
		{ "init clamps max_payload to the buffer and the protocol", test_init_clamps },
		{ "a buffer full of tiny frames", test_tiny_frame_flood },
		{ "the blocking reply reader stops at its frame", test_read_one_stops_at_its_frame },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
