/* vhost-user back-end protocol for the vsock device (QEMU's
 * vhost-user-vsock-device): message framing with fds over SCM_RIGHTS,
 * feature negotiation, the guest memory table and the two vrings the
 * back-end owns (rx 0, tx 1; the event queue stays in QEMU).
 *
 * Offered: VIRTIO_F_VERSION_1 | VHOST_USER_F_PROTOCOL_FEATURES, protocol
 * features MQ | CONFIG. REPLY_ACK is not offered; requests we did not
 * negotiate are rejected with a clear error (the device fails). Every
 * header is checked (version, size against the request's own limit) before
 * its payload is read, and fd counts must match the request exactly. */
#ifndef HUSK_HOST_VHOST_USER_H
#define HUSK_HOST_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/watch.h"
#include "host/vsock/virtq.h"

#define VU_HDR_SIZE 12u
#define VU_PAYLOAD_MAX 268u /* GET_CONFIG: 12 + 256 */
#define VU_MAX_FDS 8u
#define VU_NUM_VQS 2u

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
};

#define VU_FLAG_VERSION 1u
#define VU_FLAG_VERSION_MASK 3u
#define VU_FLAG_REPLY 4u
#define VU_FLAG_NEED_REPLY 8u
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD 0x100u

#define VU_F_VERSION_1 (1ull << 32)
#define VU_F_PROTOCOL_FEATURES (1ull << 30)
#define VU_PF_MQ (1ull << 0)
#define VU_PF_CONFIG (1ull << 9)
#define VU_FEATURES (VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES)
#define VU_PROTOCOL_FEATURES (VU_PF_MQ | VU_PF_CONFIG)

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vu_dev {
	int sock;                        /* connected to QEMU, non-blocking */
	int epfd;                        /* kick fds are registered here; -1: none */
	struct watch kick_w[VU_NUM_VQS]; /* each ring's kick fd (vq[i].kick_fd): drained */
	uint64_t guest_cid;
	uint64_t features; /* acked by SET_FEATURES */
	uint64_t protocol_features;
	bool owner;
	struct vq_mem mem;
	struct virtq vq[VU_NUM_VQS];
	/* device stopped (GET_VRING_BASE, RESET_OWNER): drop connections */
	void (*on_stop)(void *ctx);
	void *ctx;
	/* incremental reader */
	uint8_t rbuf[VU_HDR_SIZE + VU_PAYLOAD_MAX];
	size_t rhave;
	bool rhdr_ok;
	int rfds[VU_MAX_FDS];
	unsigned rnfds;
};

void vu_dev_init(struct vu_dev *d, int sock, int epfd, uint64_t guest_cid);
/* Closes ring fds and received fds, unmaps guest memory (not d->sock). */
void vu_dev_fini(struct vu_dev *d);

/* Reads and handles what QEMU sent (non-blocking, up to a batch).
 * 1: go on; 0: QEMU disconnected; <0: fatal protocol or system error. */
int vu_dev_read(struct vu_dev *d, struct husk_err *err);

/* Checks a header before its payload is read. */
int vu_check_hdr(const struct vu_hdr *h, struct husk_err *err);

/* Handles one complete message. Takes ownership of the fds it uses (sets
 * them to -1); the caller closes what is left. */
int vu_handle(struct vu_dev *d, const struct vu_hdr *h, const uint8_t *payload, int *fds, unsigned nfds,
	      struct husk_err *err);

const char *vu_request_name(uint32_t request);

#endif
