/* One virtio-vsock connection: state machine, credit, host socket (see
 * vsock_conn.h). The muxer (vsock_mux.c) routes packets to it. */
#include "host/vsock/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/vsock/vsock_mux.h"

static void on_host_event(struct watch *w, uint32_t events)
{
	vc_conn_event(container_of(w, struct vc_conn, w), events);
}

void vc_conn_init(struct vc_conn *c, struct vc_dev *d, uint32_t local_port, uint32_t peer_port, int fd)
{
	c->w.fd = fd;
	c->w.on_event = on_host_event;
	c->dev = d;
	c->local_port = local_port;
	c->peer_port = peer_port;
}

void vc_conn_close_fd(struct vc_conn *c)
{
	if (c->w.fd >= 0) {
		if (c->ep_registered && c->dev->epfd >= 0)
			watch_del(c->dev->epfd, &c->w);
		close(c->w.fd);
		c->w.fd = -1;
	}
	c->ep_registered = false;
	c->ep_mask = 0;
	free(c->obuf);
	c->obuf = NULL;
	c->ohead = c->olen = 0;
	c->host_readable = false;
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
	return c->state == VC_ESTABLISHED && c->w.fd >= 0 && !c->host_eof && !c->host_rd_shut &&
	       !(c->guest_shut & VC_SHUTDOWN_RCV);
}

static bool out_pending(const struct vc_conn *c)
{
	return c->olen > 0 || c->okoff < c->oklen;
}

static uint32_t conn_want(const struct vc_conn *c)
{
	if (c->w.fd < 0 || c->state != VC_ESTABLISHED)
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

	if (d->epfd < 0 || c->w.fd < 0) {
		c->ep_mask = want;
		return 0;
	}
	if (want == 0) {
		if (c->ep_registered)
			watch_del(d->epfd, &c->w);
		c->ep_registered = false;
		c->ep_mask = 0;
		return 0;
	}
	if (c->ep_registered && want == c->ep_mask)
		return 0;
	int r = c->ep_registered ? watch_mod(d->epfd, &c->w, want) : watch_add(d->epfd, &c->w, want);
	if (r < 0)
		return r;
	c->ep_registered = true;
	c->ep_mask = want;
	return 0;
}

void vc_conn_update(struct vc_conn *c)
{
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
		vc_conn_reset(c);
		return;
	}
	vc_mux_schedule(c, conn_has_work(c));
}

/* Aborts the connection: host side closed now, RST owed to the guest. */
void vc_conn_reset(struct vc_conn *c)
{
	if (c->state == VC_DEAD || c->state == VC_RST_PENDING)
		return;
	if (c->state == VC_CONNECTING && !c->request_sent) {
		vc_mux_forget(c); /* the guest never heard of it */
		return;
	}
	vc_conn_close_fd(c);
	if (c->state == VC_CONNECTING)
		c->dev->connecting--;
	c->state = VC_RST_PENDING;
	c->pend = VC_P_RST;
	vc_conn_update(c);
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
		ssize_t w =
			send(c->w.fd, c->okline + c->okoff, (size_t)(c->oklen - c->okoff), MSG_DONTWAIT | MSG_NOSIGNAL);
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
		ssize_t w = sendmsg(c->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
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
			shutdown(c->w.fd, SHUT_WR);
			c->host_wr_shut = true;
		}
		if ((c->guest_shut & (VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND)) == (VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND)) {
			/* the guest closed both ways and everything was delivered:
			 * answer with RST, as Linux does, so its socket is released */
			vc_conn_reset(c);
			return;
		}
	}
	vc_conn_update(c);
}

static void conn_rw(struct vc_conn *c, const struct iovec *iov, unsigned n, uint32_t len)
{
	struct vc_dev *d = c->dev;
	uint32_t in_flight = c->rx_cnt - c->fwd_cnt;

	if (c->guest_shut & VC_SHUTDOWN_SEND) {
		vc_log("guest port %u sent data after SHUTDOWN", c->peer_port);
		vc_conn_reset(c);
		return;
	}
	if (in_flight > d->buf_alloc || len > d->buf_alloc - in_flight) {
		vc_log("guest port %u overran its credit (%u bytes, %u free)", c->peer_port, len,
		       d->buf_alloc - in_flight);
		vc_conn_reset(c);
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
			w = sendmsg(c->w.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (w < 0 && errno == EINTR);
		if (w < 0 && !would_block(errno)) {
			vc_conn_reset(c); /* host peer gone: EPIPE, ECONNRESET */
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
				vc_conn_reset(c);
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
	if ((c->guest_shut & VC_SHUTDOWN_RCV) && !c->host_rd_shut && c->w.fd >= 0) {
		/* the host peer's writes now fail with EPIPE instead of piling up */
		shutdown(c->w.fd, SHUT_RD);
		c->host_rd_shut = true;
		c->host_readable = false;
	}
	conn_after_out(c);
}

/* ---- packets from the guest -------------------------------------------- */

void vc_conn_accept(struct vc_conn *c, const struct vc_hdr *h)
{
	c->state = VC_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pend = VC_P_RESPONSE;
	vc_conn_update(c);
}

void vc_conn_connect(struct vc_conn *c, uint64_t deadline_ms)
{
	c->state = VC_CONNECTING;
	c->host_initiated = true;
	c->pend = VC_P_REQUEST;
	c->deadline_ms = deadline_ms;
	c->dev->connecting++;
	vc_conn_update(c);
}

/* Answer to our REQUEST while connecting. */
static void conn_answer(struct vc_conn *c, const struct vc_hdr *h)
{
	if (h->op == VC_OP_RESPONSE) {
		c->state = VC_ESTABLISHED;
		c->dev->connecting--;
		int k = snprintf(c->okline, sizeof c->okline, "OK %u\n", c->local_port);
		c->oklen = (uint8_t)k;
		c->okoff = 0;
		if (conn_flush(c) < 0) {
			vc_conn_reset(c);
			return;
		}
	} else if (h->op == VC_OP_RST) {
		vc_mux_forget(c); /* refused: the hybrid client sees EOF */
		return;
	} else {
		vc_log("unexpected op %u from guest port %u while connecting", h->op, h->src_port);
		vc_conn_reset(c);
		return;
	}
	vc_conn_update(c);
}

void vc_conn_recv(struct vc_conn *c, const struct vc_hdr *h, const struct iovec *iov, unsigned n)
{
	if (h->buf_alloc != c->peer_buf_alloc || h->fwd_cnt != c->peer_fwd_cnt)
		c->credit_req_sent = false;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;

	if (c->state == VC_CONNECTING) {
		conn_answer(c, h);
		return;
	}

	switch (h->op) {
	case VC_OP_RW:
		conn_rw(c, iov, n, h->len);
		return;
	case VC_OP_CREDIT_UPDATE:
		break;
	case VC_OP_CREDIT_REQUEST:
		c->pend |= VC_P_CREDIT_UPDATE;
		break;
	case VC_OP_SHUTDOWN:
		conn_shutdown(c, h->flags);
		return;
	case VC_OP_RST:
		vc_mux_forget(c);
		return;
	default: /* REQUEST on a live flow, RESPONSE when not connecting */
		vc_log("unexpected op %u from guest port %u", h->op, h->src_port);
		vc_conn_reset(c);
		return;
	}
	vc_conn_update(c);
}

/* ---- packets to the guest ---------------------------------------------- */

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
		r = recvmsg(c->w.fd, &mh, MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (would_block(errno)) {
			c->host_readable = false;
			return 0;
		}
		vc_conn_reset(c);
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
int vc_conn_emit(struct vc_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
	int r = 0;

	if (c->pend & VC_P_RST) {
		r = emit(c, iov, n, VC_OP_RST, 0, 0);
		vc_mux_forget(c);
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
				return vc_conn_emit(c, iov, n, cap); /* the RST */
		}
		if (r == 0 && (c->pend & VC_P_CREDIT_REQUEST)) {
			c->pend &= ~VC_P_CREDIT_REQUEST;
			c->credit_req_sent = true;
			r = emit(c, iov, n, VC_OP_CREDIT_REQUEST, 0, 0);
		} else if (r == 0 && (c->pend & VC_P_CREDIT_UPDATE)) {
			r = emit(c, iov, n, VC_OP_CREDIT_UPDATE, 0, 0);
		}
	}
	vc_conn_update(c);
	return r;
}

/* ---- host socket events ------------------------------------------------ */

void vc_conn_event(struct vc_conn *c, uint32_t events)
{
	if (c->state != VC_ESTABLISHED || c->w.fd < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		c->host_readable = true;
	if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && out_pending(c)) {
		if (conn_flush(c) < 0) {
			vc_conn_reset(c);
			return;
		}
		conn_after_out(c);
		return;
	}
	vc_conn_update(c);
}
