/* A growable FIFO of bytes: output a non-blocking fd has not taken yet.
 * Append at the back; peek, write what the fd takes, consume that much at
 * the front. Used by the monitor (stdio relay, guest session) and by the
 * guest (session output, process stdin).
 *
 * Field convention: the pending bytes are data[off .. off + len); len is
 * the count of pending bytes (byteq_pending()), cap the allocation. An
 * append compacts (moves the pending bytes to the front) before it grows
 * the buffer; the queue rewinds to off 0 whenever it empties. A zeroed
 * struct is an empty queue. */
#ifndef HUSK_COMMON_BYTEQUEUE_H
#define HUSK_COMMON_BYTEQUEUE_H

#include <stddef.h>
#include <stdint.h>

#define BYTEQ_MIN_CAP 4096u

struct byteq {
	uint8_t *data;
	size_t off; /* first pending byte */
	size_t len; /* pending bytes */
	size_t cap; /* allocated */
};

/* Appends n bytes unless the queue would then hold more than max pending
 * bytes. 0, -ENOBUFS (over max) or -ENOMEM; unchanged on failure. */
int byteq_append(struct byteq *q, const void *p, size_t n, size_t max);

static inline size_t byteq_pending(const struct byteq *q)
{
	return q->len;
}

/* The first pending byte (byteq_pending() of them follow); NULL when the
 * queue never held any. */
static inline const uint8_t *byteq_peek(const struct byteq *q)
{
	return q->data ? q->data + q->off : NULL;
}

/* Drops n bytes from the front (at most what is pending). */
void byteq_consume(struct byteq *q, size_t n);

/* Frees the buffer; the queue is empty (and reusable) again. */
void byteq_free(struct byteq *q);

#endif
