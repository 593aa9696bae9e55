/* Frame header codec and incremental frame reader (see frame.h).
 *
 * The reader's buffer holds, from the front: frames already handed out
 * (consumed), then buffered bytes not yet handed out (up to len), then free
 * room (up to cap). A frame's declared length is checked as soon as its
 * header is complete, before the reader asks for its body, so a peer cannot
 * make us wait for (or the caller size a buffer for) more than max_payload. */
#include "proto/frame.h"

#include <string.h>

#include "common/le.h"

void husk_frame_hdr_pack(uint8_t out[HUSK_FRAME_HDR_SIZE], const struct husk_frame_hdr *h)
{
	le_put32(out, h->len);
	le_put16(out + 4, h->type);
	le_put16(out + 6, h->flags);
	le_put32(out + 8, h->id);
}

void husk_frame_hdr_unpack(const uint8_t in[HUSK_FRAME_HDR_SIZE], struct husk_frame_hdr *h)
{
	h->len = le_get32(in);
	h->type = le_get16(in + 4);
	h->flags = le_get16(in + 6);
	h->id = le_get32(in + 8);
}

void husk_frame_reader_init(struct husk_frame_reader *r, uint8_t *buf, size_t cap, uint32_t max_payload)
{
	r->buf = buf;
	r->cap = buf ? cap : 0;
	r->len = 0;
	r->consumed = 0;
	/* Never accept a frame the buffer cannot hold, nor one over the
	 * protocol's limit, whatever the caller passed: a wrong argument then
	 * shows up as -EMSGSIZE instead of as an overrun. */
	if (max_payload > HUSK_FRAME_MAX)
		max_payload = HUSK_FRAME_MAX;
	if (r->cap < HUSK_FRAME_HDR_SIZE)
		max_payload = 0;
	else if (max_payload > r->cap - HUSK_FRAME_HDR_SIZE)
		max_payload = (uint32_t)(r->cap - HUSK_FRAME_HDR_SIZE);
	r->max_payload = max_payload;
}

uint8_t *husk_frame_reader_space(struct husk_frame_reader *r, size_t *room)
{
	/* Drop the frames handed out so far: one memmove of what is left,
	 * however many frames were consumed. */
	if (r->consumed > 0) {
		size_t keep = r->len - r->consumed;
		if (keep > 0)
			memmove(r->buf, r->buf + r->consumed, keep);
		r->len = keep;
		r->consumed = 0;
	}
	*room = r->cap - r->len;
	return r->buf + r->len;
}

void husk_frame_reader_commit(struct husk_frame_reader *r, size_t n)
{
	/* A caller that commits more than it was given is a bug; clamp so the
	 * reader never looks past its buffer. */
	if (n > r->cap - r->len)
		n = r->cap - r->len;
	r->len += n;
}

int husk_frame_reader_next(struct husk_frame_reader *r, struct husk_frame_hdr *h, const uint8_t **payload,
			   struct husk_err *err)
{
	size_t avail = r->len - r->consumed;
	const uint8_t *start = r->buf + r->consumed;
	struct husk_frame_hdr hdr;

	if (avail < HUSK_FRAME_HDR_SIZE)
		return 0;
	husk_frame_hdr_unpack(start, &hdr);
	/* The bad header stays in the buffer, so every later call fails the
	 * same way: the stream cannot be resynchronised. */
	if (hdr.len > r->max_payload)
		return husk_err_set(err, EMSGSIZE, "frame: payload of %u bytes exceeds the limit of %u",
				    (unsigned)hdr.len, (unsigned)r->max_payload);
	/* hdr.len <= max_payload <= cap - HDR: no overflow, and it fits. */
	size_t total = HUSK_FRAME_HDR_SIZE + (size_t)hdr.len;
	if (avail < total)
		return 0;
	*h = hdr;
	*payload = start + HUSK_FRAME_HDR_SIZE;
	r->consumed += total;
	return 1;
}
