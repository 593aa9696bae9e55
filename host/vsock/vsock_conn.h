/* virtio-vsock connection state machine of the vhost-user-vsock backend.
 *
 * Guest side: packets taken from the tx queue go to vc_tx_packet(); rx
 * buffers are filled by vc_rx_fill(), which sizes each payload to the buffer
 * it is given. Host side: one non-blocking unix stream socket per
 * connection, hybrid-vsock style (see vsock_user.h).
 *
 * Bounds: at most max_conns connections; bytes from the guest that the host
 * socket has not taken yet are buffered per connection, at most buf_alloc
 * (exactly the credit we advertise: fwd_cnt only advances when bytes left
 * for the host socket, so a slow host peer makes the guest's credit run out
 * instead of our memory grow). Host bytes are read straight into guest rx
 * buffers, only as far as the guest's credit allows, so they are never
 * buffered here. RSTs for unknown flows go through a small fixed ring and
 * are dropped when it is full.
 *
 * Testable without a VM: pass epfd -1 and drive the functions directly with
 * flat buffers (see tests/unit/test_vsock_conn.c). */
#ifndef HUSK_HOST_VSOCK_CONN_H
#define HUSK_HOST_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"
#include "host/vsock/virtq.h"
#include "host/vsock/vsock_pkt.h"

#define VC_MAX_CONNS_DEFAULT 1024u
#define VC_BUF_ALLOC_DEFAULT (2048u * 1024)
#define VC_CONNECT_TIMEOUT_MS 10000u
#define VC_RST_QUEUE 256u
#define VC_HOST_PORT_BASE (1u << 30) /* local ports of host-initiated conns */

/* epoll data.ptr of every object in the backend's loop points at one of
 * these tags (first member of the object). */
enum vc_ev {
	VC_EV_CONN = 1,
	VC_EV_VU_LISTEN,
	VC_EV_VU,
	VC_EV_KICK,
	VC_EV_HYBRID_LISTEN,
	VC_EV_HYBRID_PENDING,
};

enum vc_state {
	VC_CONNECTING,   /* host-initiated: REQUEST queued or sent, waiting for RESPONSE */
	VC_ESTABLISHED,
	VC_RST_PENDING,  /* host side closed, RST to the guest still to be sent */
	VC_DEAD,         /* released; freed by vc_reap() */
};

/* packets owed to the guest (vc_conn.pend) */
#define VC_P_REQUEST 0x01u
#define VC_P_RESPONSE 0x02u
#define VC_P_CREDIT_UPDATE 0x04u
#define VC_P_CREDIT_REQUEST 0x08u
#define VC_P_RST 0x10u

struct vc_dev;

struct vc_conn {
	int ev_tag; /* VC_EV_CONN, must be first */
	struct vc_dev *dev;
	int fd;
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
	struct vc_conn *hnext;
	struct vc_conn *wprev, *wnext;
	bool in_work;
	struct vc_conn *aprev, *anext;
	struct vc_conn *dnext;
};

struct vc_rst {
	uint32_t src_port, dst_port;
};

struct vc_dev {
	uint64_t guest_cid;
	char hybrid_path[108];
	uint32_t buf_alloc;
	unsigned max_conns, nconns;
	unsigned connecting;
	uint32_t connect_timeout_ms;
	int epfd;
	uint32_t next_port;
	unsigned hash_size;
	struct vc_conn **hash;
	struct vc_conn *work_head, *work_tail; /* conns owing the guest packets */
	struct vc_conn *all;
	struct vc_conn *dead;
	struct vc_rst rst[VC_RST_QUEUE];
	unsigned rst_head, rst_len;
	uint64_t now_ms;
};

struct vc_cfg {
	uint64_t guest_cid;
	const char *hybrid_path; /* guest-initiated conns go to "<path>_<port>"; NULL: refuse */
	uint32_t buf_alloc;      /* 0: default */
	unsigned max_conns;      /* 0: default */
	int epfd;                /* -1: no epoll (tests) */
};

int vc_dev_init(struct vc_dev *d, const struct vc_cfg *cfg, struct husk_err *err);
void vc_dev_fini(struct vc_dev *d);
/* Drops every connection (device stopped or reset); host sockets close. */
void vc_dev_reset(struct vc_dev *d);
/* Frees connections released since the last call (deferred so an epoll
 * batch never sees freed memory). */
void vc_reap(struct vc_dev *d);

/* One packet the guest put on the tx queue: the device-readable bytes of a
 * chain, total bytes long. Never fails: bad packets are logged, dropped or
 * answered with RST. */
void vc_tx_packet(struct vc_dev *d, const struct iovec *iov, unsigned n, size_t total);

/* Fills one guest rx buffer (cap bytes) with the next packet owed to the
 * guest. Returns the bytes written, 0 when nothing is owed, -ENOSPC when cap
 * cannot even hold a header. */
int vc_rx_fill(struct vc_dev *d, const struct iovec *iov, unsigned n, size_t cap);
/* Something is owed to the guest (worth popping an rx buffer for). */
bool vc_rx_pending(const struct vc_dev *d);

/* A hybrid client asked for guest port guest_port: takes ownership of fd
 * (closed on error) and queues a REQUEST. */
int vc_host_connect(struct vc_dev *d, int fd, uint32_t guest_port, struct husk_err *err);

/* epoll events for a connection's host socket. */
void vc_conn_event(struct vc_conn *c, uint32_t events);

/* Times out host-initiated connections the guest never answered. */
void vc_sweep(struct vc_dev *d, uint64_t now_ms);

struct vc_conn *vc_conn_find(const struct vc_dev *d, uint32_t local_port, uint32_t peer_port);
/* Credit the guest gives us for this connection (bytes we may send). */
uint32_t vc_peer_credit(const struct vc_conn *c);

#endif
