/* A bounded outgoing byte queue: appends grow it up to GUEST_OUTQ_MAX. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest/guest.h"

int outq_append(struct outq *q, const void *p, size_t n)
{
	if (q->off > 0 && q->off == q->len) {
		q->off = 0;
		q->len = 0;
	}
	if (n > GUEST_OUTQ_MAX || q->len - q->off + n > GUEST_OUTQ_MAX)
		return -ENOBUFS;
	if (q->len + n > q->cap) {
		/* compact first, grow only if still short */
		if (q->off > 0) {
			memmove(q->data, q->data + q->off, q->len - q->off);
			q->len -= q->off;
			q->off = 0;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : 4096;
			while (cap < q->len + n)
				cap *= 2;
			uint8_t *d = realloc(q->data, cap);
			if (!d)
				return -ENOMEM;
			q->data = d;
			q->cap = cap;
		}
	}
	memcpy(q->data + q->len, p, n);
	q->len += n;
	return 0;
}

void outq_free(struct outq *q)
{
	free(q->data);
	q->data = NULL;
	q->off = q->len = q->cap = 0;
}
