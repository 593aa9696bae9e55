/* One virtio-vsock connection of the vhost-user-vsock back-end: its state
 * machine (connecting, established, RST owed), credit accounting both
 * ways, and the non-blocking unix stream socket it relays to on the host,
 * hybrid-vsock style (see vsock_user.h). The muxer (vsock_mux.h) owns the
 * connections: it finds the one a guest packet is for, and asks them in
 * turn for the packets that fill guest rx buffers (Firecracker's muxer /
 * connection / packet split; the packet is vsock_pkt.h).
 *
 * Bounds: bytes from the guest that the host socket has not taken yet are
 * buffered per connection, at most buf_alloc (exactly the credit we
 * advertise: fwd_cnt only advances when bytes left for the host socket, so
 * a slow host peer makes the guest's credit run out instead of our memory
 * grow). Host bytes are read straight into guest rx buffers, only as far as
 * the guest's credit allows, so they are never buffered here. */
#ifndef HUSK_HOST_VSOCK_CONN_H
#define HUSK_HOST_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/watch.h"
#include "host/vsock/virtq.h"
#include "host/vsock/vsock_pkt.h"

enum vc_state {
	VC_CONNECTING, /* host-initiated: REQUEST queued or sent, waiting for RESPONSE */
	VC_ESTABLISHED,
	VC_RST_PENDING, /* host side closed, RST to the guest still to be sent */
	VC_DEAD,        /* released; freed by vc_reap() */
};

/* packets owed to the guest (vc_conn.pend) */
#define VC_P_REQUEST 0x01u
#define VC_P_RESPONSE 0x02u
#define VC_P_CREDIT_UPDATE 0x04u
#define VC_P_CREDIT_REQUEST 0x08u
#define VC_P_RST 0x10u

struct vc_dev;

struct vc_conn {
	struct watch w; /* the host socket (-1 once closed) in the back-end's loop */
	struct vc_dev *dev;
	enum vc_state state;
	uint32_t local_port; /* host side (CID 2) */
	uint32_t peer_port;  /* guest side */
	unsigned pend;
	bool host_initiated, request_sent;
	bool host_readable; /* EPOLLIN seen and not drained yet */
	bool host_eof;      /* read 0: SHUTDOWN(SEND) sent to the guest */
	bool host_rd_shut, host_wr_shut;
	uint32_t guest_shut; /* VC_SHUTDOWN_* flags the guest sent */
	uint32_t ep_mask;
	bool ep_registered;
	/* guest -> host: rx_cnt bytes taken from the guest, fwd_cnt of them
	 * written to the host socket; rx_cnt - fwd_cnt == olen */
	uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
	/* host -> guest */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	bool credit_req_sent;
	/* ring buffer of guest bytes the host socket has not taken (cap buf_alloc) */
	uint8_t *obuf;
	uint32_t ohead, olen;
	char okline[24]; /* "OK <port>\n" owed to a hybrid client */
	uint8_t okoff, oklen;
	uint64_t deadline_ms; /* VC_CONNECTING only */
	/* the muxer's lists (vsock_mux.c) */
	struct vc_conn *hnext;
	struct vc_conn *wprev, *wnext;
	bool in_work;
	struct vc_conn *aprev, *anext;
	struct vc_conn *dnext;
};

/* Credit the guest gives us for this connection (bytes we may send). */
uint32_t vc_peer_credit(const struct vc_conn *c);

/* epoll events for a connection's host socket (its watch's on_event). */
void vc_conn_event(struct vc_conn *c, uint32_t events);

/* ---- for the muxer (vsock_mux.c) ---- */

/* A new connection of d between host port local_port and guest port
 * peer_port over the host socket fd (zeroed memory, not yet in d's lists). */
void vc_conn_init(struct vc_conn *c, struct vc_dev *d, uint32_t local_port, uint32_t peer_port, int fd);
/* The guest's REQUEST h was accepted: RESPONSE owed. */
void vc_conn_accept(struct vc_conn *c, const struct vc_hdr *h);
/* Host-initiated: REQUEST owed, refused (RST) past deadline_ms. */
void vc_conn_connect(struct vc_conn *c, uint64_t deadline_ms);
/* A packet from the guest for this connection, its header already checked
 * against the chain (n iovecs, payload after the header). */
void vc_conn_recv(struct vc_conn *c, const struct vc_hdr *h, const struct iovec *iov, unsigned n);
/* Writes the connection's next packet into a guest rx buffer of cap bytes:
 * its length, or 0 when it owes nothing now. */
int vc_conn_emit(struct vc_conn *c, const struct iovec *iov, unsigned n, size_t cap);
/* Re-evaluates epoll interest and whether the connection owes packets. */
void vc_conn_update(struct vc_conn *c);
/* Aborts: host side closed now, RST owed to the guest. */
void vc_conn_reset(struct vc_conn *c);
/* Closes the host socket and drops buffered bytes. */
void vc_conn_close_fd(struct vc_conn *c);

#endif
