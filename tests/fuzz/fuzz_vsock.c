/* Fuzz harness for the vhost-user-vsock back-end's guest-facing decoders.
 *
 * Input byte 0 picks a mode:
 *   even  the input is guest memory holding a tx and an rx split ring (16
 *         entries each): chains are popped, decoded and answered, as the
 *         back-end's loop does, with one host-initiated connection open
 *   odd   the rest is a script of 16-byte records driving the packet state
 *         machine directly: guest packets (mostly well-formed, some fields
 *         mutated, header split anywhere), rx buffers of any size, host-side
 *         reads/writes/closes on socketpair peers, connects and timeouts;
 *         invariants are checked after every step
 * No files or listening sockets: guest-initiated connections are refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/le.h"
#include "host/vsock/vsock_mux.h"
#include "host/vsock/vsock_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GMEM 65536u
#define MAX_PEERS 16u

static void quiet(const char *msg)
{
	(void)msg;
}

static void check(const struct vc_dev *d)
{
	unsigned n = 0, w = 0;
	for (const struct vc_conn *c = d->all; c; c = c->anext) {
		n++;
		if (c->state == VC_DEAD || vc_conn_find(d, c->local_port, c->peer_port) != c)
			abort();
		if (c->state == VC_ESTABLISHED && c->olen != (uint32_t)(c->rx_cnt - c->fwd_cnt))
			abort();
		if (c->olen > d->buf_alloc)
			abort();
		if (c->state == VC_RST_PENDING && (c->w.fd >= 0 || !(c->pend & VC_P_RST) || !c->in_work))
			abort();
	}
	for (const struct vc_conn *c = d->work_head; c; c = c->wnext) {
		w++;
		if (!c->in_work || c->state == VC_DEAD)
			abort();
	}
	if (n != d->nconns || n > d->max_conns || w > n)
		abort();
}

static void run_rings(struct vc_dev *d, const uint8_t *data, size_t size, uint8_t sel)
{
	static uint8_t gmem[GMEM] __attribute__((aligned(4096)));
	struct vq_mem mem = { .n = 1 };
	struct virtq rx, tx;

	memset(gmem, 0, sizeof gmem);
	memcpy(gmem, data, size < sizeof gmem ? size : sizeof gmem);
	mem.r[0] = (struct vq_region){ .gpa = 0x1000, .uva = 0x10000000, .size = GMEM, .host = gmem };
	vq_init(&tx);
	vq_init(&rx);
	tx.num = rx.num = 16;
	tx.desc_uva = 0x10000000;
	tx.avail_uva = 0x10000100;
	tx.used_uva = 0x10000200;
	rx.desc_uva = 0x10000400;
	rx.avail_uva = 0x10000500;
	rx.used_uva = 0x10000600;
	tx.addr_set = rx.addr_set = tx.started = rx.started = tx.enabled = rx.enabled = true;
	vq_map(&tx, &mem, true);
	vq_map(&rx, &mem, true);

	for (int round = 0; round < 4; round++) {
		vc_process_tx(d, &tx, &mem, 32);
		vc_process_rx(d, &rx, &mem, 32);
		check(d);
		for (struct vc_conn *c = d->all; c; c = c->anext)
			if (c->w.fd >= 0)
				vc_conn_event(c, EPOLLIN | EPOLLOUT);
		/* the guest publishes more entries */
		gmem[0x102] = (uint8_t)(gmem[0x102] + (sel >> 4));
		gmem[0x502] = (uint8_t)(gmem[0x502] + (sel >> 4));
		vc_reap(d);
	}
}

static void run_script(struct vc_dev *d, const uint8_t *data, size_t size, int *peers, unsigned *npeers)
{
	static uint8_t pkt[VC_HDR_LEN + 70000], rxb[70000], junk[8192];
	uint32_t hports[8] = { 0 };
	unsigned nh = 0;
	struct husk_err err = { 0 };

	for (size_t off = 0; off + 16 <= size && off < 16 * 256; off += 16) {
		const uint8_t *r = data + off;
		uint8_t act = r[0] % 12;
		if (act <= 5) { /* a guest packet */
			struct vc_hdr h = {
				.src_cid = (r[1] & 0x80) ? 4 : 3,
				.dst_cid = (r[1] & 0x40) ? 7 : VC_HOST_CID,
				.type = (r[1] & 0x20) ? 2 : VC_TYPE_STREAM,
				.op = (uint16_t)(r[2] % 9),
				.flags = r[4],
			};
			h.src_port = (r[3] & 0x80) ? 1024 : 5000u + (r[3] & 3);
			h.dst_port = (r[3] & 0x80) ? hports[r[3] & 7] : 1234;
			uint32_t plen = (uint32_t)(r[5] | r[6] << 8) % 5000;
			h.len = (r[7] & 1) ? plen + (r[7] >> 1) : plen;
			if (r[7] == 0xff)
				h.len = VC_MAX_PAYLOAD + 1;
			h.buf_alloc = (r[8] & 1) ? UINT32_MAX : (uint32_t)(r[9] | r[10] << 8);
			h.fwd_cnt = le_get32(r + 10);
			vc_hdr_encode(&h, pkt);
			memset(pkt + VC_HDR_LEN, r[14], plen);
			unsigned split = r[15] % (VC_HDR_LEN + 1);
			struct iovec iov[3] = {
				{ pkt, split },
				{ pkt + split, VC_HDR_LEN - split },
				{ pkt + VC_HDR_LEN, plen },
			};
			size_t total = VC_HDR_LEN + plen;
			if ((r[15] & 0xc0) == 0xc0)
				total = r[15] % VC_HDR_LEN; /* truncated header */
			vc_tx_packet(d, iov, 3, total);
		} else if (act <= 7) { /* the guest offers an rx buffer */
			size_t cap = (size_t)(r[1] | r[2] << 8) % 5000;
			size_t split = r[3] % 60;
			if (split > cap)
				split = cap;
			struct iovec iov[2] = { { rxb, split }, { rxb + split, cap - split } };
			int n = vc_rx_fill(d, iov, 2, cap);
			if (n > (int)cap)
				abort();
			if (n >= (int)VC_HDR_LEN) {
				uint8_t flat[VC_HDR_LEN];
				struct vc_hdr h;
				vc_iov_to_buf(iov, 2, 0, flat, sizeof flat);
				vc_hdr_decode(flat, &h);
				if (h.len + VC_HDR_LEN != (uint32_t)n || h.src_cid != VC_HOST_CID || h.dst_cid != 3)
					abort();
				if (h.op == VC_OP_REQUEST && nh < 8)
					hports[nh++] = h.src_port;
			}
		} else if (act == 8 && *npeers > 0) { /* a host peer acts */
			unsigned i = r[1] % *npeers;
			int p = peers[i];
			switch (r[2] % 4) {
			case 0:
				if (send(p, junk, (size_t)r[3] << 5, MSG_NOSIGNAL) < 0)
					break;
				break;
			case 1:
				while (read(p, junk, sizeof junk) > 0)
					;
				break;
			case 2:
				shutdown(p, r[3] % 3);
				break;
			default:
				close(p);
				peers[i] = peers[--*npeers];
				break;
			}
			for (struct vc_conn *c = d->all; c; c = c->anext)
				if (c->w.fd >= 0)
					vc_conn_event(c, r[4] & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR));
		} else if (act == 9 && *npeers < MAX_PEERS) { /* a hybrid client connects */
			int sp[2];
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0) {
				peers[(*npeers)++] = sp[0];
				if ((r[1] & 1) && send(sp[0], "xyz", 3, MSG_NOSIGNAL) < 0)
					abort();
				vc_host_connect(d, sp[1], 1024, &err);
			}
		} else if (act == 10) {
			vc_sweep(d, husk_now_ms() + ((r[1] & 1) ? 20000 : 0));
		} else {
			vc_reap(d);
		}
		check(d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vc_dev d;
	struct husk_err err = { 0 };
	struct vc_cfg cfg = { .guest_cid = 3, .buf_alloc = 4096, .max_conns = 4, .epfd = -1 };
	int peers[MAX_PEERS];
	unsigned npeers = 0;

	if (size < 1)
		return 0;
	vc_log_set_sink(quiet);
	if (vc_dev_init(&d, &cfg, &err) < 0)
		abort();
	uint8_t sel = data[0];
	if (sel & 1) {
		run_script(&d, data + 1, size - 1, peers, &npeers);
	} else {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0) {
			peers[npeers++] = sp[0];
			if (send(sp[0], "hello", 5, MSG_NOSIGNAL) < 0)
				abort();
			vc_host_connect(&d, sp[1], 1024, &err);
		}
		run_rings(&d, data + 1, size - 1, sel);
	}
	vc_dev_fini(&d);
	for (unsigned i = 0; i < npeers; i++)
		close(peers[i]);
	return 0;
}
