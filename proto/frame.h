/* Frames on the host<->guest vsock stream: a 12-byte little-endian header
 * {u32 len, u16 type, u16 flags, u32 id} followed by len bytes of CBOR.
 * len is checked against HUSK_FRAME_MAX before anything is buffered. */
#ifndef HUSK_PROTO_FRAME_H
#define HUSK_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define HUSK_FRAME_HDR_SIZE 12u
#define HUSK_FRAME_MAX (1u << 20) /* largest payload */

struct husk_frame_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t flags;
	uint32_t id;
};

void husk_frame_hdr_pack(uint8_t out[HUSK_FRAME_HDR_SIZE], const struct husk_frame_hdr *h);
void husk_frame_hdr_unpack(const uint8_t in[HUSK_FRAME_HDR_SIZE], struct husk_frame_hdr *h);

/* Incremental reader. The caller appends bytes with husk_frame_reader_space()
 * + husk_frame_reader_commit(), then calls husk_frame_reader_next() until it
 * returns 0. buf must hold HUSK_FRAME_HDR_SIZE + max_payload bytes; init
 * lowers max_payload to what buf holds and to HUSK_FRAME_MAX. */
struct husk_frame_reader {
	uint8_t *buf;
	size_t cap;
	size_t len;      /* bytes buffered */
	size_t consumed; /* bytes at the front already handed out as frames; dropped
			     * (memmove) by the next husk_frame_reader_space() */
	uint32_t max_payload;
};

void husk_frame_reader_init(struct husk_frame_reader *r, uint8_t *buf, size_t cap, uint32_t max_payload);
/* Where to read to, and how much room is left (never 0 while a frame is
 * incomplete, because the header length is validated first). */
uint8_t *husk_frame_reader_space(struct husk_frame_reader *r, size_t *room);
void husk_frame_reader_commit(struct husk_frame_reader *r, size_t n);
/* 1: a whole frame (payload points into the buffer; next() never moves data,
 * so it stays valid until the next husk_frame_reader_space()); 0: need more
 * bytes; -EMSGSIZE: declared length over max_payload (sticky: the stream is
 * unusable afterwards). Frames are handed out where they lie and the buffer is
 * compacted once per space() call, not once per frame, so a flood of tiny
 * frames costs linear time. */
int husk_frame_reader_next(struct husk_frame_reader *r, struct husk_frame_hdr *h, const uint8_t **payload,
			   struct husk_err *err);

#endif
