/* The byte queue (see bytequeue.h). */
#include "common/bytequeue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int byteq_append(struct byteq *q, const void *p, size_t n, size_t max)
{
	if (n == 0)
		return 0;
	if (n > max || q->len > max - n)
		return -ENOBUFS;
	if (q->len == 0)
		q->off = 0;
	if (q->off + q->len + n > q->cap) {
		/* compact first, grow only if still short */
		if (q->off > 0) {
			memmove(q->data, q->data + q->off, q->len);
			q->off = 0;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : BYTEQ_MIN_CAP;
			while (cap < q->len + n)
				cap *= 2;
			uint8_t *d = realloc(q->data, cap);
			if (!d)
				return -ENOMEM;
			q->data = d;
			q->cap = cap;
		}
	}
	memcpy(q->data + q->off + q->len, p, n);
	q->len += n;
	return 0;
}

void byteq_consume(struct byteq *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->off += n;
	q->len -= n;
	if (q->len == 0)
		q->off = 0;
}

void byteq_free(struct byteq *q)
{
	free(q->data);
	q->data = NULL;
	q->off = q->len = q->cap = 0;
}
