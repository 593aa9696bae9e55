/* virtio-vsock connection state machine (see vsock_conn.h). */
#include "host/vsock/vsock_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"

#define VC_HASH_SIZE 2048u /* power of two */

static void conn_update(struct vc_conn *c);
static void conn_reset(struct vc_conn *c);

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

static struct vc_conn *conn_new(struct vc_dev *d, uint32_t local_port, uint32_t peer_port, int fd)
{
	struct vc_conn *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->ev_tag = VC_EV_CONN;
	c->dev = d;
	c->fd = fd;
	c->local_port = local_port;
	c->peer_port = peer_port;
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

static void conn_close_fd(struct vc_conn *c)
{
	if (c->fd >= 0) {
		if (c->ep_registered && c->dev->epfd >= 0)
			epoll_ctl(c->dev->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->ep_registered = false;
	c->ep_mask = 0;
	free(c->obuf);
	c->obuf = NULL;
	c->ohead = c->olen = 0;
	c->host_readable = false;
}

/* Forgets the connection without telling the guest; freed by vc_reap(). */
static void conn_release(struct vc_conn *c)
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
	conn_close_fd(c);
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
		conn_release(d->all);
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

/* ---- credit and readiness ---------------------------------------------- */

uint32_t vc_peer_credit(const struct vc_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt; /* u32 wrap-around */
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Host bytes may still go to the guest on this connection. */
static bool can_send(const struct vc_conn *c)
{
	return c->state == VC_ESTABLISHED && c->fd >= 0 && !c->host_eof && !c->host_rd_shut &&
	       !(c->guest_shut & VC_SHUTDOWN_RCV);
}

static bool out_pending(const struct vc_conn *c)
{
	return c->olen > 0 || c->okoff < c->oklen;
}

static uint32_t conn_want(const struct vc_conn *c)
{
	if (c->fd < 0 || c->state != VC_ESTABLISHED)
		return 0;
	uint32_t m = 0;
	if (can_send(c) && !c->host_readable && vc_peer_credit(c) > 0)
		m |= EPOLLIN;
	if (out_pending(c))
		m |= EPOLLOUT;
	return m;
}

static bool conn_has_work(const struct vc_conn *c)
{
	if (c->pend)
		return true;
	return c->host_readable && can_send(c) && vc_peer_credit(c) > 0;
}

/* Only registered while we want something: EPOLLHUP is reported even for
 * an empty mask and would spin a level-triggered loop. */
static int ep_sync(struct vc_conn *c, uint32_t want)
{
	struct vc_dev *d = c->dev;

	if (d->epfd < 0 || c->fd < 0) {
		c->ep_mask = want;
		return 0;
	}
	if (want == 0) {
		if (c->ep_registered)
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->ep_registered = false;
		c->ep_mask = 0;
		return 0;
	}
	if (c->ep_registered && want == c->ep_mask)
		return 0;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(d->epfd, c->ep_registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
		return -errno;
	c->ep_registered = true;
	c->ep_mask = want;
	return 0;
}

static void conn_update(struct vc_conn *c)
{
	struct vc_dev *d = c->dev;

	if (c->state == VC_DEAD)
		return;
	if (c->state == VC_ESTABLISHED && c->host_readable && can_send(c)) {
		if (vc_peer_credit(c) == 0) {
			if (!c->credit_req_sent)
				c->pend |= VC_P_CREDIT_REQUEST;
		} else {
			c->pend &= ~VC_P_CREDIT_REQUEST;
		}
	}
	int r = ep_sync(c, conn_want(c));
	if (r < 0) {
		vc_log("epoll_ctl for host port %u: %s", c->local_port, strerror(-r));
		conn_reset(c);
		return;
	}
	if (conn_has_work(c))
		work_add(d, c);
	else
		work_del(d, c);
}

/* Aborts the connection: host side closed now, RST owed to the guest. */
static void conn_reset(struct vc_conn *c)
{
	if (c->state == VC_DEAD || c->state == VC_RST_PENDING)
		return;
	if (c->state == VC_CONNECTING && !c->request_sent) {
		conn_release(c); /* the guest never heard of it */
		return;
	}
	conn_close_fd(c);
	if (c->state == VC_CONNECTING)
		c->dev->connecting--;
	c->state = VC_RST_PENDING;
	c->pend = VC_P_RST;
	conn_update(c);
}

/* Tell the guest about freed buffer space once a quarter of the window is
 * unacknowledged but already forwarded (every header we send carries
 * fwd_cnt too, so this only matters for one-way traffic). The window is the
 * smaller of our buffer and the guest's own: Linux keeps no more than its
 * own buffer size in flight, whatever credit we offer, so a quarter of a
 * larger buffer of ours might never be reached, and both sides would wait. */
static void maybe_credit_update(struct vc_conn *c)
{
	uint32_t unacked = c->rx_cnt - c->last_fwd_sent;
	uint32_t window = c->dev->buf_alloc;
	if (c->peer_buf_alloc && c->peer_buf_alloc < window)
		window = c->peer_buf_alloc;
	if (c->state == VC_ESTABLISHED && c->fwd_cnt != c->last_fwd_sent && unacked >= window / 4)
		c->pend |= VC_P_CREDIT_UPDATE;
}

/* ---- towards the host socket ------------------------------------------- */

static bool would_block(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK;
}

/* Writes the pending "OK" line and buffered guest bytes. 0 or -errno. */
static int conn_flush(struct vc_conn *c)
{
	struct vc_dev *d = c->dev;

	while (c->okoff < c->oklen) {
		ssize_t w = send(c->fd, c->okline + c->okoff, (size_t)(c->oklen - c->okoff), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return would_block(errno) ? 0 : -errno;
		}
		c->okoff = (uint8_t)(c->okoff + w);
	}
	while (c->olen > 0) {
		struct iovec iov[2];
		size_t n = 1;
		uint32_t first = d->buf_alloc - c->ohead;
		if (first > c->olen)
			first = c->olen;
		iov[0].iov_base = c->obuf + c->ohead;
		iov[0].iov_len = first;
		if (first < c->olen) {
			iov[1].iov_base = c->obuf;
			iov[1].iov_len = c->olen - first;
			n = 2;
		}
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (would_block(errno))
				break;
			return -errno;
		}
		c->ohead = (uint32_t)((c->ohead + (uint64_t)w) % d->buf_alloc);
		c->olen -= (uint32_t)w;
		c->fwd_cnt += (uint32_t)w;
	}
	if (c->olen == 0 && c->obuf) {
		free(c->obuf);
		c->obuf = NULL;
		c->ohead = 0;
	}
	return 0;
}

/* After output progress: credit, and the guest's shutdown once drained. */
static void conn_after_out(struct vc_conn *c)
{
	maybe_credit_update(c);
	if (c->state == VC_ESTABLISHED && !out_pending(c)) {
		if ((c->guest_shut & VC_SHUTDOWN_SEND) && !c->host_wr_shut) {
			shutdown(c->fd, SHUT_WR);
			c->host_wr_shut = true;
		}
		if ((c->guest_shut & (VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND)) == (VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND)) {
			/* the guest closed both ways and everything was delivered:
			 * answer with RST, as Linux does, so its socket is released */
			conn_reset(c);
			return;
		}
	}
	conn_update(c);
}

static void conn_rw(struct vc_conn *c, const struct iovec *iov, unsigned n, uint32_t len)
{
	struct vc_dev *d = c->dev;
	uint32_t in_flight = c->rx_cnt - c->fwd_cnt;

	if (c->guest_shut & VC_SHUTDOWN_SEND) {
		vc_log("guest port %u sent data after SHUTDOWN", c->peer_port);
		conn_reset(c);
		return;
	}
	if (in_flight > d->buf_alloc || len > d->buf_alloc - in_flight) {
		vc_log("guest port %u overran its credit (%u bytes, %u free)", c->peer_port, len,
		       d->buf_alloc - in_flight);
		conn_reset(c);
		return;
	}
	if (len == 0)
		return;

	struct iovec pl[VQ_MAX_CHAIN];
	unsigned pn = vc_iov_slice(iov, n, VC_HDR_LEN, len, pl, VQ_MAX_CHAIN);
	size_t done = 0;

	c->rx_cnt += len;
	if (!out_pending(c)) {
		struct msghdr mh = { .msg_iov = pl, .msg_iovlen = pn };
		ssize_t w;
		do
			w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && !would_block(errno)) {
			conn_reset(c); /* host peer gone: EPIPE, ECONNRESET */
			return;
		}
		if (w > 0) {
			done = (size_t)w;
			c->fwd_cnt += (uint32_t)w;
		}
	}
	if (done < len) {
		if (!c->obuf) {
			c->obuf = malloc(d->buf_alloc);
			if (!c->obuf) {
				vc_log("out of memory buffering for host port %u", c->local_port);
				conn_reset(c);
				return;
			}
			c->ohead = 0;
		}
		/* fits: olen + rest == rx_cnt - fwd_cnt <= buf_alloc (checked above) */
		size_t rest = len - done;
		uint32_t tail = (uint32_t)(((uint64_t)c->ohead + c->olen) % d->buf_alloc);
		size_t first = d->buf_alloc - tail;
		if (first > rest)
			first = rest;
		vc_iov_to_buf(pl, pn, done, c->obuf + tail, first);
		if (rest > first)
			vc_iov_to_buf(pl, pn, done + first, c->obuf, rest - first);
		c->olen += (uint32_t)rest;
	}
	conn_after_out(c);
}

static void conn_shutdown(struct vc_conn *c, uint32_t flags)
{
	c->guest_shut |= flags & (VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND);
	if ((c->guest_shut & VC_SHUTDOWN_RCV) && !c->host_rd_shut && c->fd >= 0) {
		/* the host peer's writes now fail with EPIPE instead of piling up */
		shutdown(c->fd, SHUT_RD);
		c->host_rd_shut = true;
		c->host_readable = false;
	}
	conn_after_out(c);
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
	c->state = VC_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pend = VC_P_RESPONSE;
	conn_update(c);
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
				conn_release(c);
		} else if (c) {
			conn_reset(c);
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
		conn_release(c);
		c = NULL;
	}
	if (!c) {
		if (h.op == VC_OP_REQUEST)
			guest_connect(d, &h);
		else if (h.op != VC_OP_RST)
			rst_enqueue(d, h.dst_port, h.src_port);
		return;
	}

	if (h.buf_alloc != c->peer_buf_alloc || h.fwd_cnt != c->peer_fwd_cnt)
		c->credit_req_sent = false;
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;

	if (c->state == VC_CONNECTING) {
		if (h.op == VC_OP_RESPONSE) {
			c->state = VC_ESTABLISHED;
			d->connecting--;
			int k = snprintf(c->okline, sizeof c->okline, "OK %u\n", c->local_port);
			c->oklen = (uint8_t)k;
			c->okoff = 0;
			if (conn_flush(c) < 0) {
				conn_reset(c);
				return;
			}
		} else if (h.op == VC_OP_RST) {
			conn_release(c); /* refused: the hybrid client sees EOF */
			return;
		} else {
			vc_log("unexpected op %u from guest port %u while connecting", h.op, h.src_port);
			conn_reset(c);
			return;
		}
		conn_update(c);
		return;
	}

	switch (h.op) {
	case VC_OP_RW:
		conn_rw(c, iov, n, h.len);
		return;
	case VC_OP_CREDIT_UPDATE:
		break;
	case VC_OP_CREDIT_REQUEST:
		c->pend |= VC_P_CREDIT_UPDATE;
		break;
	case VC_OP_SHUTDOWN:
		conn_shutdown(c, h.flags);
		return;
	case VC_OP_RST:
		conn_release(c);
		return;
	default: /* REQUEST on a live flow, RESPONSE when not connecting */
		vc_log("unexpected op %u from guest port %u", h.op, h.src_port);
		conn_reset(c);
		return;
	}
	conn_update(c);
}

/* ---- packets to the guest (rx queue) ------------------------------------ */

static int emit(struct vc_conn *c, const struct iovec *iov, unsigned n, uint16_t op, uint32_t flags, uint32_t len)
{
	struct vc_dev *d = c->dev;
	struct vc_hdr h = {
		.src_cid = VC_HOST_CID,
		.dst_cid = d->guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.len = len,
		.type = VC_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = d->buf_alloc,
		.fwd_cnt = c->fwd_cnt,
	};
	uint8_t raw[VC_HDR_LEN];

	vc_hdr_encode(&h, raw);
	vc_buf_to_iov(iov, n, 0, raw, VC_HDR_LEN);
	c->last_fwd_sent = c->fwd_cnt; /* every header carries our credit */
	c->pend &= ~VC_P_CREDIT_UPDATE;
	return (int)(VC_HDR_LEN + len);
}

/* Reads host bytes straight into the guest buffer. >0 packet written, 0
 * nothing to read, -1 the connection was reset. */
static int conn_read(struct vc_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
	size_t want = cap - VC_HDR_LEN;
	uint32_t credit = vc_peer_credit(c);
	if (want > credit)
		want = credit;
	if (want > VC_MAX_PAYLOAD)
		want = VC_MAX_PAYLOAD;
	if (want == 0)
		return 0;

	struct iovec pl[VQ_MAX_CHAIN];
	unsigned pn = vc_iov_slice(iov, n, VC_HDR_LEN, want, pl, VQ_MAX_CHAIN);
	struct msghdr mh = { .msg_iov = pl, .msg_iovlen = pn };
	ssize_t r;
	do
		r = recvmsg(c->fd, &mh, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (would_block(errno)) {
			c->host_readable = false;
			return 0;
		}
		conn_reset(c);
		return -1;
	}
	if (r == 0) {
		c->host_eof = true;
		c->host_readable = false;
		return emit(c, iov, n, VC_OP_SHUTDOWN, VC_SHUTDOWN_SEND, 0);
	}
	c->tx_cnt += (uint32_t)r;
	return emit(c, iov, n, VC_OP_RW, 0, (uint32_t)r);
}

/* Next packet of one connection: control first, then data. */
static int conn_emit(struct vc_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
	int r = 0;

	if (c->pend & VC_P_RST) {
		r = emit(c, iov, n, VC_OP_RST, 0, 0);
		conn_release(c);
		return r;
	}
	if (c->pend & VC_P_REQUEST) {
		c->pend &= ~VC_P_REQUEST;
		c->request_sent = true;
		r = emit(c, iov, n, VC_OP_REQUEST, 0, 0);
	} else if (c->pend & VC_P_RESPONSE) {
		c->pend &= ~VC_P_RESPONSE;
		r = emit(c, iov, n, VC_OP_RESPONSE, 0, 0);
	} else {
		if (c->host_readable && can_send(c)) {
			r = conn_read(c, iov, n, cap);
			if (r < 0)
				return conn_emit(c, iov, n, cap); /* the RST */
		}
		if (r == 0 && (c->pend & VC_P_CREDIT_REQUEST)) {
			c->pend &= ~VC_P_CREDIT_REQUEST;
			c->credit_req_sent = true;
			r = emit(c, iov, n, VC_OP_CREDIT_REQUEST, 0, 0);
		} else if (r == 0 && (c->pend & VC_P_CREDIT_UPDATE)) {
			r = emit(c, iov, n, VC_OP_CREDIT_UPDATE, 0, 0);
		}
	}
	conn_update(c);
	return r;
}

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
		int r = conn_emit(c, iov, n, cap);
		if (r > 0)
			return r;
	}
	return 0;
}

/* ---- host side events ---------------------------------------------------- */

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
	c->state = VC_CONNECTING;
	c->host_initiated = true;
	c->pend = VC_P_REQUEST;
	c->deadline_ms = husk_now_ms() + d->connect_timeout_ms;
	d->connecting++;
	conn_update(c);
	return 0;
}

void vc_conn_event(struct vc_conn *c, uint32_t events)
{
	if (c->state != VC_ESTABLISHED || c->fd < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->host_readable = true;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && out_pending(c)) {
		if (conn_flush(c) < 0) {
			conn_reset(c);
			return;
		}
		conn_after_out(c);
		return;
	}
	conn_update(c);
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
			conn_reset(c);
	}
}
