/* The muxer of the vhost-user-vsock back-end: the set of connections
 * (hash by port pair, list of all, work list of those owing the guest
 * packets, deferred frees), the demultiplexing of guest packets, the rx
 * fill that serves the RST queue first and then connections round robin,
 * host-initiated connects, and the connect timeout sweep. Each
 * connection's own state machine is vsock_conn.h.
 *
 * Guest side: packets taken from the tx queue go to vc_tx_packet(); rx
 * buffers are filled by vc_rx_fill(), which sizes each payload to the
 * buffer it is given.
 *
 * Bounds: at most max_conns connections, each buffering at most buf_alloc
 * bytes (vsock_conn.h). RSTs for unknown flows go through a small fixed
 * ring and are dropped when it is full.
 *
 * Testable without a VM: pass epfd -1 and drive the functions directly with
 * flat buffers (see tests/unit/test_vsock_conn.c). */
#ifndef HUSK_HOST_VSOCK_MUX_H
#define HUSK_HOST_VSOCK_MUX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"
#include "host/vsock/vsock_conn.h"
#include "host/vsock/vsock_pkt.h"

#define VC_MAX_CONNS_DEFAULT 1024u
#define VC_BUF_ALLOC_DEFAULT (2048u * 1024)
#define VC_CONNECT_TIMEOUT_MS 10000u
#define VC_RST_QUEUE 256u
#define VC_HOST_PORT_BASE (1u << 30) /* local ports of host-initiated conns */

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

/* Times out host-initiated connections the guest never answered. */
void vc_sweep(struct vc_dev *d, uint64_t now_ms);

struct vc_conn *vc_conn_find(const struct vc_dev *d, uint32_t local_port, uint32_t peer_port);

/* ---- for the connections (vsock_conn.c) ---- */

/* Puts c on the work list (it owes the guest packets) or takes it off. */
void vc_mux_schedule(struct vc_conn *c, bool has_work);
/* Forgets c without telling the guest; freed by vc_reap(). */
void vc_mux_forget(struct vc_conn *c);

#endif
