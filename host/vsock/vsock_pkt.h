/* virtio-vsock packet header and scatter/gather helpers, plus the
 * rate-limited error log shared by the vhost-user-vsock backend files. */
#ifndef HUSK_HOST_VSOCK_PKT_H
#define HUSK_HOST_VSOCK_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VC_HDR_LEN 44u
#define VC_HOST_CID 2u
#define VC_TYPE_STREAM 1u
#define VC_MAX_PAYLOAD (64u * 1024) /* VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */

enum vc_op {
	VC_OP_REQUEST = 1,
	VC_OP_RESPONSE = 2,
	VC_OP_RST = 3,
	VC_OP_SHUTDOWN = 4,
	VC_OP_RW = 5,
	VC_OP_CREDIT_UPDATE = 6,
	VC_OP_CREDIT_REQUEST = 7,
};

#define VC_SHUTDOWN_RCV 1u  /* sender will receive no more */
#define VC_SHUTDOWN_SEND 2u /* sender will send no more */

/* Host-order view of the 44-byte little-endian wire header. */
struct vc_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

void vc_hdr_encode(const struct vc_hdr *h, uint8_t out[VC_HDR_LEN]);
void vc_hdr_decode(const uint8_t in[VC_HDR_LEN], struct vc_hdr *h);

/* Copies between a flat buffer and the bytes [off, off+len) of an iovec
 * array; returns how many bytes were copied (short if the iovecs end). */
size_t vc_iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t vc_buf_to_iov(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);
/* Describes the bytes [off, off+len) of iov as at most out_max iovecs;
 * returns the count (covering less if iov is shorter). */
unsigned vc_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out, unsigned out_max);

/* Error log: "vsock: ..." at error level, at most a few lines a second
 * (a hostile guest must not flood the log). No payload bytes, ever. */
void vc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Tests: send log lines to sink instead (NULL restores the default). */
void vc_log_set_sink(void (*sink)(const char *msg));

#endif
