/* Queue glue of the vhost-user-vsock back-end: moves descriptor chains
 * between the split virtqueues (virtq.c) and the packet state machine
 * (vsock_conn.c). Malformed chains are logged and returned empty; a ring
 * the guest broke stops here. */
#include "host/vsock/vsock_queue.h"

#include <errno.h>

#include "host/vsock/vsock_pkt.h"

static const char *chain_error(int r)
{
	switch (r) {
	case -EFAULT:
		return "buffer outside guest memory";
	case -ELOOP:
		return "descriptor loop";
	case -E2BIG:
		return "chain too long";
	case -ENOTSUP:
		return "indirect descriptor";
	case -ERANGE:
		return "next index out of range";
	case -EINVAL:
		return "readable descriptor after writable";
	default:
		return "invalid";
	}
}

int vc_process_tx(struct vc_dev *d, struct virtq *q, const struct vq_mem *m, unsigned budget)
{
	struct vq_chain c;

	for (unsigned i = 0; i < budget; i++) {
		int r = vq_pop(q, m, &c);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (q->broken) {
				vc_log("tx queue broken by the guest (avail index or head out of range)");
				return -EPROTO;
			}
			vc_log("dropped tx chain %u: %s", c.head, chain_error(r));
			vq_push(q, c.head, 0);
			continue;
		}
		vc_tx_packet(d, c.out, c.nout, c.out_len);
		vq_push(q, c.head, 0);
	}
	return 1;
}

int vc_process_rx(struct vc_dev *d, struct virtq *q, const struct vq_mem *m, unsigned budget)
{
	struct vq_chain c;

	for (unsigned i = 0; i < budget; i++) {
		if (!vc_rx_pending(d))
			return 0;
		int r = vq_pop(q, m, &c);
		if (r == 0)
			return 0; /* no buffers: the guest kicks when it adds some */
		if (r < 0) {
			if (q->broken) {
				vc_log("rx queue broken by the guest (avail index or head out of range)");
				return -EPROTO;
			}
			vc_log("dropped rx chain %u: %s", c.head, chain_error(r));
			vq_push(q, c.head, 0);
			continue;
		}
		int n = vc_rx_fill(d, c.in, c.nin, c.in_len);
		if (n == 0) {
			vq_unpop(q);
			return 0;
		}
		if (n < 0) {
			vc_log("dropped rx buffer of %zu bytes: smaller than a header", c.in_len);
			n = 0;
		}
		vq_push(q, c.head, (uint32_t)n);
	}
	return 1;
}
