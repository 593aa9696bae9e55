/* virtio-vsock header codec, iovec helpers and the backend's error log. */
#include "host/vsock/vsock_pkt.h"

#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/le.h"
#include "host/state/log.h"

_Static_assert(VC_HDR_LEN == 8 + 8 + 4 + 4 + 4 + 2 + 2 + 4 + 4 + 4, "virtio_vsock_hdr is 44 bytes");

void vc_hdr_encode(const struct vc_hdr *h, uint8_t out[VC_HDR_LEN])
{
	le_put64(out + 0, h->src_cid);
	le_put64(out + 8, h->dst_cid);
	le_put32(out + 16, h->src_port);
	le_put32(out + 20, h->dst_port);
	le_put32(out + 24, h->len);
	le_put16(out + 28, h->type);
	le_put16(out + 30, h->op);
	le_put32(out + 32, h->flags);
	le_put32(out + 36, h->buf_alloc);
	le_put32(out + 40, h->fwd_cnt);
}

void vc_hdr_decode(const uint8_t in[VC_HDR_LEN], struct vc_hdr *h)
{
	h->src_cid = le_get64(in + 0);
	h->dst_cid = le_get64(in + 8);
	h->src_port = le_get32(in + 16);
	h->dst_port = le_get32(in + 20);
	h->len = le_get32(in + 24);
	h->type = le_get16(in + 28);
	h->op = le_get16(in + 30);
	h->flags = le_get32(in + 32);
	h->buf_alloc = le_get32(in + 36);
	h->fwd_cnt = le_get32(in + 40);
}

size_t vc_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vc_buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)buf + done, k);
		done += k;
		off = 0;
	}
	return done;
}

unsigned vc_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out, unsigned out_max)
{
	unsigned k = 0;
	for (unsigned i = 0; i < n && len > 0 && k < out_max; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t c = iov[i].iov_len - off;
		if (c > len)
			c = len;
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = c;
		k++;
		len -= c;
		off = 0;
	}
	return k;
}

static void (*log_sink)(const char *msg);

void vc_log_set_sink(void (*sink)(const char *msg))
{
	log_sink = sink;
}

#define LOG_BURST 20 /* lines per second before suppression */

void vc_log(const char *fmt, ...)
{
	static time_t window;
	static unsigned in_window, suppressed;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (log_sink) {
		log_sink(msg);
		return;
	}

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec != window) {
		if (suppressed)
			husk_log(HUSK_LOG_ERROR, "vsock: %u messages suppressed", suppressed);
		window = ts.tv_sec;
		in_window = 0;
		suppressed = 0;
	}
	if (in_window >= LOG_BURST) {
		suppressed++;
		return;
	}
	in_window++;
	husk_log(HUSK_LOG_ERROR, "vsock: %s", msg);
}
