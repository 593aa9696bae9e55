/* The muxer of the vhost-user-vsock back-end (see vsock_mux.h). */
#include "host/vsock/vsock_mux.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"

#define VC_HASH_SIZE 2048u /* power of two */

/* ---- lookup, lists ---------------------------------------------------- */

static unsigned hkey(const struct vc_dev *d, uint32_t local_port, uint32_t peer_port)
{
	uint64_t k = ((uint64_t)local_port << 32) | peer_port;
	k *= 0x9E3779B97F4A7C15ull;
	return (unsigned)(k >> 40) & (d->hash_size - 1);
}

struct vc_conn *vc_conn_find(const struct vc_dev *d, uint32_t local_port, uint32_t peer_port)
{
	for (struct vc_conn *c = d->hash[hkey(d, local_port, peer_port)]; c; c = c->hnext) {
		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

static void hash_del(struct vc_dev *d, struct vc_conn *c)
{
	struct vc_conn **pp = &d->hash[hkey(d, c->local_port, c->peer_port)];
	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
	}
}

static void work_add(struct vc_dev *d, struct vc_conn *c)
{
	if (c->in_work)
		return;
	c->in_work = true;
	c->wnext = NULL;
	c->wprev = d->work_tail;
	if (d->work_tail)
		d->work_tail->wnext = c;
	else
		d->work_head = c;
	d->work_tail = c;
}

static void work_del(struct vc_dev *d, struct vc_conn *c)
{
	if (!c->in_work)
		return;
	if (c->wprev)
		c->wprev->wnext = c->wnext;
	else
		d->work_head = c->wnext;
	if (c->wnext)
		c->wnext->wprev = c->wprev;
	else
		d->work_tail = c->wprev;
	c->wprev = c->wnext = NULL;
	c->in_work = false;
}

void vc_mux_schedule(struct vc_conn *c, bool has_work)
{
	if (has_work)
		work_add(c->dev, c);
	else
		work_del(c->dev, c);
}

static struct vc_conn *conn_new(struct vc_dev *d, uint32_t local_port, uint32_t peer_port, int fd)
{
	struct vc_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	vc_conn_init(c, d, local_port, peer_port, fd);
	unsigned h = hkey(d, local_port, peer_port);
	c->hnext = d->hash[h];
	d->hash[h] = c;
	c->anext = d->all;
	if (d->all)
		d->all->aprev = c;
	d->all = c;
	d->nconns++;
	return c;
}

/* Forgets the connection without telling the guest; freed by vc_reap(). */
void vc_mux_forget(struct vc_conn *c)
{
	struct vc_dev *d = c->dev;

	if (c->state == VC_DEAD)
		return;
	hash_del(d, c);
	work_del(d, c);
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		d->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	vc_conn_close_fd(c);
	if (c->state == VC_CONNECTING)
		d->connecting--;
	c->state = VC_DEAD;
	c->pend = 0;
	c->dnext = d->dead;
	d->dead = c;
	d->nconns--;
}

static void rst_enqueue(struct vc_dev *d, uint32_t src_port, uint32_t dst_port)
{
	if (d->rst_len == VC_RST_QUEUE) {
		vc_log("RST queue full, dropping RST to guest port %u", dst_port);
		return;
	}
	struct vc_rst *r = &d->rst[(d->rst_head + d->rst_len) % VC_RST_QUEUE];
	r->src_port = src_port;
	r->dst_port = dst_port;
	d->rst_len++;
}

/* ---- device ------------------------------------------------------------ */

int vc_dev_init(struct vc_dev *d, const struct vc_cfg *cfg, struct husk_err *err)
{
	memset(d, 0, sizeof *d);
	d->epfd = cfg->epfd;
	if (cfg->guest_cid < 3 || cfg->guest_cid >= 0xffffffffull)
		return husk_err_set(err, EINVAL, "invalid guest CID %llu", (unsigned long long)cfg->guest_cid);
	d->guest_cid = cfg->guest_cid;
	if (cfg->hybrid_path) {
		/* "<path>_<port>" must still fit a sockaddr_un */
		if (strlen(cfg->hybrid_path) + 12 > sizeof d->hybrid_path)
			return husk_err_set(err, ENAMETOOLONG, "hybrid vsock path too long: %s", cfg->hybrid_path);
		snprintf(d->hybrid_path, sizeof d->hybrid_path, "%s", cfg->hybrid_path);
	}
	d->buf_alloc = cfg->buf_alloc ? cfg->buf_alloc : VC_BUF_ALLOC_DEFAULT;
	if (d->buf_alloc > (1u << 30))
		return husk_err_set(err, EINVAL, "vsock buffer size %u too large", d->buf_alloc);
	d->max_conns = cfg->max_conns ? cfg->max_conns : VC_MAX_CONNS_DEFAULT;
	d->connect_timeout_ms = VC_CONNECT_TIMEOUT_MS;
	d->next_port = VC_HOST_PORT_BASE;
	d->hash_size = VC_HASH_SIZE;
	d->hash = calloc(d->hash_size, sizeof *d->hash);
	if (!d->hash)
		return husk_err_sys(err, ENOMEM, "allocating vsock connection table");
	return 0;
}

void vc_reap(struct vc_dev *d)
{
	while (d->dead) {
		struct vc_conn *c = d->dead;
		d->dead = c->dnext;
		free(c);
	}
}

void vc_dev_reset(struct vc_dev *d)
{
	while (d->all)
		vc_mux_forget(d->all);
	d->rst_head = d->rst_len = 0;
}

void vc_dev_fini(struct vc_dev *d)
{
	if (!d->hash)
		return;
	vc_dev_reset(d);
	vc_reap(d);
	free(d->hash);
	d->hash = NULL;
}

/* ---- packets from the guest (tx queue) ---------------------------------- */

static void guest_connect(struct vc_dev *d, const struct vc_hdr *h)
{
	if (d->nconns >= d->max_conns) {
		vc_log("connection limit (%u) reached, refusing guest port %u", d->max_conns, h->src_port);
		rst_enqueue(d, h->dst_port, h->src_port);
		return;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int k = snprintf(sa.sun_path, sizeof sa.sun_path, "%s_%u", d->hybrid_path, h->dst_port);
	if (!d->hybrid_path[0] || k < 0 || (size_t)k >= sizeof sa.sun_path) {
		rst_enqueue(d, h->dst_port, h->src_port);
		return;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vc_log("socket: %s", strerror(errno));
		rst_enqueue(d, h->dst_port, h->src_port);
		return;
	}
	/* a non-blocking unix connect completes at once or fails (EAGAIN when
	 * the listener's backlog is full): nothing listening means RST */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		rst_enqueue(d, h->dst_port, h->src_port);
		return;
	}
	struct vc_conn *c = conn_new(d, h->dst_port, h->src_port, fd);
	if (!c) {
		close(fd);
		rst_enqueue(d, h->dst_port, h->src_port);
		return;
	}
	vc_conn_accept(c, h);
}

static const char *hdr_problem(const struct vc_dev *d, const struct vc_hdr *h, size_t total)
{
	if (h->src_cid != d->guest_cid)
		return "wrong src_cid";
	if (h->dst_cid != VC_HOST_CID)
		return "wrong dst_cid";
	if (h->type != VC_TYPE_STREAM)
		return "unsupported type";
	if (h->op < VC_OP_REQUEST || h->op > VC_OP_CREDIT_REQUEST)
		return "unknown op";
	if (h->len > VC_MAX_PAYLOAD)
		return "len over 64 KiB";
	if (h->len > total - VC_HDR_LEN)
		return "len beyond the descriptor chain";
	return NULL;
}

void vc_tx_packet(struct vc_dev *d, const struct iovec *iov, unsigned n, size_t total)
{
	uint8_t raw[VC_HDR_LEN];
	struct vc_hdr h;

	if (total < VC_HDR_LEN || vc_iov_to_buf(iov, n, 0, raw, VC_HDR_LEN) != VC_HDR_LEN) {
		vc_log("dropped tx packet shorter than its header (%zu bytes)", total);
		return;
	}
	vc_hdr_decode(raw, &h);
	struct vc_conn *c = vc_conn_find(d, h.dst_port, h.src_port);

	const char *bad = hdr_problem(d, &h, total);
	if (bad) {
		vc_log("malformed packet from guest port %u to port %u: %s", h.src_port, h.dst_port, bad);
		if (h.op == VC_OP_RST) { /* never answer an RST with an RST */
			if (c)
				vc_mux_forget(c);
		} else if (c) {
			vc_conn_reset(c);
		} else {
			rst_enqueue(d, h.dst_port, h.src_port);
		}
		return;
	}

	if (c && c->state == VC_RST_PENDING) {
		/* our RST is still queued; a new REQUEST or the guest's own RST
		 * means the guest already forgot this flow */
		if (h.op != VC_OP_REQUEST && h.op != VC_OP_RST)
			return;
		vc_mux_forget(c);
		c = NULL;
	}
	if (!c) {
		if (h.op == VC_OP_REQUEST)
			guest_connect(d, &h);
		else if (h.op != VC_OP_RST)
			rst_enqueue(d, h.dst_port, h.src_port);
		return;
	}

	vc_conn_recv(c, &h, iov, n);
}

/* ---- packets to the guest (rx queue) ------------------------------------ */

bool vc_rx_pending(const struct vc_dev *d)
{
	return d->rst_len > 0 || d->work_head != NULL;
}

int vc_rx_fill(struct vc_dev *d, const struct iovec *iov, unsigned n, size_t cap)
{
	if (cap < VC_HDR_LEN)
		return -ENOSPC;
	if (d->rst_len > 0) {
		struct vc_rst *rs = &d->rst[d->rst_head];
		struct vc_hdr h = {
			.src_cid = VC_HOST_CID,
			.dst_cid = d->guest_cid,
			.src_port = rs->src_port,
			.dst_port = rs->dst_port,
			.type = VC_TYPE_STREAM,
			.op = VC_OP_RST,
		};
		uint8_t raw[VC_HDR_LEN];
		vc_hdr_encode(&h, raw);
		vc_buf_to_iov(iov, n, 0, raw, VC_HDR_LEN);
		d->rst_head = (d->rst_head + 1) % VC_RST_QUEUE;
		d->rst_len--;
		return (int)VC_HDR_LEN;
	}
	/* round robin: a connection that still has work goes to the tail */
	for (unsigned guard = 2 * d->max_conns + 2; d->work_head && guard > 0; guard--) {
		struct vc_conn *c = d->work_head;
		work_del(d, c);
		int r = vc_conn_emit(c, iov, n, cap);
		if (r > 0)
			return r;
	}
	return 0;
}

/* ---- host side ---------------------------------------------------------- */

int vc_host_connect(struct vc_dev *d, int fd, uint32_t guest_port, struct husk_err *err)
{
	if (d->nconns >= d->max_conns) {
		close(fd);
		return husk_err_set(err, EAGAIN, "vsock connection limit (%u) reached", d->max_conns);
	}
	uint32_t port = 0;
	for (unsigned i = 0; i <= d->max_conns && port == 0; i++) {
		uint32_t p = d->next_port++;
		if (d->next_port < VC_HOST_PORT_BASE || d->next_port == UINT32_MAX)
			d->next_port = VC_HOST_PORT_BASE;
		if (!vc_conn_find(d, p, guest_port))
			port = p;
	}
	int fl = fcntl(fd, F_GETFL);
	if (port == 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return husk_err_set(err, EAGAIN, "no local vsock port for guest port %u", guest_port);
	}
	struct vc_conn *c = conn_new(d, port, guest_port, fd);
	if (!c) {
		close(fd);
		return husk_err_sys(err, ENOMEM, "allocating vsock connection");
	}
	vc_conn_connect(c, husk_now_ms() + d->connect_timeout_ms);
	return 0;
}

void vc_sweep(struct vc_dev *d, uint64_t now_ms)
{
	d->now_ms = now_ms;
	if (d->connecting == 0)
		return;
	struct vc_conn *next;
	for (struct vc_conn *c = d->all; c; c = next) {
		next = c->anext;
		if (c->state == VC_CONNECTING && now_ms >= c->deadline_ms)
			vc_conn_reset(c);
	}
}
