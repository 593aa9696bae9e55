/* The vhost-user-vsock back-end's epoll loop, the hybrid listening side and
 * husk_hybrid_connect(). Connections: vsock_mux.c and vsock_conn.c; rings:
 * virtq.c; QEMU's protocol: vhost_user.c. Every fd in the loop is a struct
 * watch (common/watch.h): QEMU's listening socket and connection, the
 * hybrid listener and its pending clients here, kick fds in vhost_user.c,
 * host sockets in vsock_conn.c. */
#include "host/vsock/vsock_user.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/watch.h"
#include "host/vsock/vhost_user.h"
#include "host/vsock/vsock_mux.h"
#include "host/vsock/vsock_queue.h"

#define HY_LINE_MAX 64u    /* "CONNECT 4294967295\n" fits with room */
#define HY_PENDING_MAX 64u /* hybrid clients that have not sent their line */
#define HY_PENDING_TIMEOUT_MS 10000u
#define RING_BUDGET 256u /* chains per ring per loop turn */

/* A hybrid client still sending its CONNECT line. */
struct hy_pending {
	struct watch w; /* the client's socket, -1 once dropped */
	struct serve *s;
	bool dead;
	unsigned len;
	char line[HY_LINE_MAX];
	uint64_t deadline_ms;
	struct hy_pending *prev, *next, *dnext;
};

struct serve {
	int epfd;
	struct watch vu_listen_w; /* the caller's listening socket QEMU connects to */
	struct watch vu_w;        /* QEMU's connection (vu.sock) */
	struct watch hybrid_w;    /* the caller's hybrid listening socket, or -1 */
	struct husk_err *err;
	bool done; /* QEMU went away (result 0) or a fatal error (result < 0, err set) */
	int result;
	struct vu_dev vu;
	struct vc_dev vc;
	bool vu_connected;
	bool broken_logged;
	struct hy_pending *pending, *pdead;
	unsigned npending;
};

static void on_device_stop(void *ctx)
{
	struct serve *s = ctx;
	vc_dev_reset(&s->vc);
}

static bool rings_ready(const struct serve *s)
{
	return s->vu_connected && vq_ready(&s->vu.vq[0]) && vq_ready(&s->vu.vq[1]);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* ---- hybrid clients: "CONNECT <port>\n" ---------------------------------- */

static void pending_drop(struct serve *s, struct hy_pending *p, bool close_fd)
{
	if (p->dead)
		return;
	if (p->w.fd >= 0) {
		watch_del(s->epfd, &p->w);
		if (close_fd)
			close(p->w.fd);
	}
	p->w.fd = -1;
	p->dead = true;
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	s->npending--;
	p->dnext = s->pdead;
	s->pdead = p;
}

static void pending_reap(struct serve *s)
{
	while (s->pdead) {
		struct hy_pending *p = s->pdead;
		s->pdead = p->dnext;
		free(p);
	}
}

static void on_pending(struct watch *w, uint32_t events);

static void hybrid_accept(struct serve *s)
{
	for (unsigned i = 0; i < 16; i++) {
		int fd = accept4(s->hybrid_w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				vc_log("accept on the hybrid socket: %s", strerror(errno));
			return;
		}
		/* before the guest driver is up nobody can be listening: refuse
		 * now, the client retries */
		if (!rings_ready(s) || s->npending >= HY_PENDING_MAX) {
			close(fd);
			continue;
		}
		struct hy_pending *p = calloc(1, sizeof *p);
		int r = -ENOMEM;
		if (p) {
			p->w = (struct watch){ .fd = fd, .on_event = on_pending };
			r = watch_add(s->epfd, &p->w, EPOLLIN);
		}
		if (r < 0) {
			vc_log("cannot take hybrid client: %s", strerror(-r));
			free(p);
			close(fd);
			continue;
		}
		p->s = s;
		p->deadline_ms = husk_now_ms() + HY_PENDING_TIMEOUT_MS;
		p->next = s->pending;
		if (s->pending)
			s->pending->prev = p;
		s->pending = p;
		s->npending++;
	}
}

/* "CONNECT <decimal u32>" with an optional trailing '\r'. */
static int parse_connect(const char *line, unsigned len, uint32_t *port)
{
	static const char pfx[] = "CONNECT ";
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len <= sizeof pfx - 1 || memcmp(line, pfx, sizeof pfx - 1) != 0)
		return -EPROTO;
	uint64_t v = 0;
	unsigned digits = 0;
	for (unsigned i = sizeof pfx - 1; i < len; i++) {
		if (line[i] < '0' || line[i] > '9' || ++digits > 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EPROTO;
	*port = (uint32_t)v;
	return 0;
}

/* Reads the line a byte at a time so nothing after it is consumed: those
 * bytes are the client's data for the guest. */
static void pending_read(struct serve *s, struct hy_pending *p)
{
	if (p->dead)
		return;
	for (;;) {
		char ch;
		ssize_t n = recv(p->w.fd, &ch, 1, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			pending_drop(s, p, true);
			return;
		}
		if (ch == '\n')
			break;
		if (p->len + 1 >= HY_LINE_MAX) {
			vc_log("hybrid client line too long");
			pending_drop(s, p, true);
			return;
		}
		p->line[p->len++] = ch;
	}

	uint32_t port;
	if (parse_connect(p->line, p->len, &port) < 0) {
		vc_log("hybrid client sent a malformed CONNECT line");
		pending_drop(s, p, true);
		return;
	}
	int fd = p->w.fd;
	pending_drop(s, p, false);
	if (!rings_ready(s)) {
		close(fd);
		return;
	}
	struct husk_err err = { 0 };
	if (vc_host_connect(&s->vc, fd, port, &err) < 0)
		vc_log("%s", err.msg);
}

static void sweep(struct serve *s)
{
	uint64_t now = husk_now_ms();
	struct hy_pending *next;
	for (struct hy_pending *p = s->pending; p; p = next) {
		next = p->next;
		if (now >= p->deadline_ms)
			pending_drop(s, p, true);
	}
	vc_sweep(&s->vc, now);
}

/* ---- the loop ------------------------------------------------------------ */

/* Ends the loop after this round of events: 0 when QEMU went away, < 0
 * (err filled) on a fatal error. Events of the round still to come are
 * ignored by the back-end's own watches. */
static void serve_stop(struct serve *s, int result)
{
	if (s->done)
		return;
	s->done = true;
	s->result = result;
}

static void on_pending(struct watch *w, uint32_t events)
{
	struct hy_pending *p = container_of(w, struct hy_pending, w);
	if (!p->s->done)
		pending_read(p->s, p);
}

static void on_hybrid_listen(struct watch *w, uint32_t events)
{
	struct serve *s = container_of(w, struct serve, hybrid_w);
	if (!s->done)
		hybrid_accept(s);
}

static void on_vu(struct watch *w, uint32_t events)
{
	struct serve *s = container_of(w, struct serve, vu_w);
	if (s->done)
		return;
	int r = vu_dev_read(&s->vu, s->err);
	if (r <= 0)
		serve_stop(s, r); /* 0: QEMU went away */
}

static void on_vu_listen(struct watch *w, uint32_t events)
{
	struct serve *s = container_of(w, struct serve, vu_listen_w);
	if (s->done)
		return;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
			serve_stop(s, husk_err_sys(s->err, errno, "vsock: accepting QEMU's vhost-user connection"));
		return;
	}
	/* QEMU connects once: stop watching the listener */
	watch_del(s->epfd, w);
	s->vu.sock = fd;
	s->vu_w.fd = fd;
	s->vu_connected = true;
	int r = watch_add(s->epfd, &s->vu_w, EPOLLIN);
	if (r < 0)
		serve_stop(s, husk_err_sys(s->err, -r, "vsock: epoll"));
}

/* Moves packets both ways; true when a budget ran out (come back soon). */
static bool process_rings(struct serve *s)
{
	struct virtq *rx = &s->vu.vq[0], *tx = &s->vu.vq[1];
	bool more = false;
	int r;

	if (!s->vu_connected)
		return false;
	if (vq_ready(tx)) {
		r = vc_process_tx(&s->vc, tx, &s->vu.mem, RING_BUDGET);
		more |= r > 0;
		if (vq_notify(tx) < 0)
			vc_log("signalling tx ring: %s", strerror(errno));
	}
	if (vq_ready(rx)) {
		r = vc_process_rx(&s->vc, rx, &s->vu.mem, RING_BUDGET);
		more |= r > 0;
		if (vq_notify(rx) < 0)
			vc_log("signalling rx ring: %s", strerror(errno));
	}
	if ((rx->broken || tx->broken) && !s->broken_logged) {
		/* the device failed: the guest's vsock is dead until its
		 * driver sets the rings up again */
		s->broken_logged = true;
		vc_dev_reset(&s->vc);
	} else if (!rx->broken && !tx->broken) {
		s->broken_logged = false;
	}
	return more;
}

static int serve_loop(struct serve *s)
{
	bool more = false;
	uint64_t last_sweep = husk_now_ms();

	for (;;) {
		int timeout = -1;
		if (more)
			timeout = 0;
		else if (s->npending > 0 || s->vc.connecting > 0)
			timeout = 500;
		int n = watch_dispatch(s->epfd, timeout);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return husk_err_sys(s->err, -n, "vsock: epoll_wait");
		if (s->done)
			return s->result;
		uint64_t now = husk_now_ms();
		if (now - last_sweep >= 500) {
			last_sweep = now;
			sweep(s);
		}
		more = process_rings(s);
		vc_reap(&s->vc);
		pending_reap(s);
	}
}

int husk_vuvsock_serve(int vu_listen_fd, int hybrid_listen_fd, const char *hybrid_path, uint64_t guest_cid,
		       struct husk_err *err)
{
	struct serve *s = calloc(1, sizeof *s);
	if (!s)
		return husk_err_sys(err, ENOMEM, "vsock: allocating the back-end");
	s->vu_listen_w = (struct watch){ .fd = vu_listen_fd, .on_event = on_vu_listen };
	s->vu_w = (struct watch){ .fd = -1, .on_event = on_vu };
	s->hybrid_w = (struct watch){ .fd = hybrid_listen_fd, .on_event = on_hybrid_listen };
	s->err = err;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	int r;
	if (s->epfd < 0) {
		r = husk_err_sys(err, errno, "vsock: epoll_create1");
		free(s);
		return r;
	}
	vu_dev_init(&s->vu, -1, s->epfd, guest_cid);
	s->vu.on_stop = on_device_stop;
	s->vu.ctx = s;

	struct vc_cfg cfg = { .guest_cid = guest_cid, .hybrid_path = hybrid_path, .epfd = s->epfd };
	r = vc_dev_init(&s->vc, &cfg, err);
	if (r < 0)
		goto out;
	if ((r = set_nonblock(vu_listen_fd)) < 0 || (r = watch_add(s->epfd, &s->vu_listen_w, EPOLLIN)) < 0) {
		r = husk_err_sys(err, -r, "vsock: watching the vhost-user socket");
		goto out;
	}
	if (hybrid_listen_fd >= 0 &&
	    ((r = set_nonblock(hybrid_listen_fd)) < 0 || (r = watch_add(s->epfd, &s->hybrid_w, EPOLLIN)) < 0)) {
		r = husk_err_sys(err, -r, "vsock: watching the hybrid socket");
		goto out;
	}
	r = serve_loop(s);
out:
	while (s->pending)
		pending_drop(s, s->pending, true);
	pending_reap(s);
	vc_dev_fini(&s->vc);
	vu_dev_fini(&s->vu);
	if (s->vu.sock >= 0)
		close(s->vu.sock);
	close(s->epfd);
	free(s);
	return r;
}

/* ---- client side ---------------------------------------------------------- */

static int remaining_ms(uint64_t deadline, int timeout_ms)
{
	if (timeout_ms < 0)
		return -1;
	uint64_t now = husk_now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

int husk_hybrid_connect(const char *hybrid_path, uint32_t port, int timeout_ms, struct husk_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = husk_now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);

	if (strlen(hybrid_path) >= sizeof sa.sun_path)
		return husk_err_set(err, ENAMETOOLONG, "hybrid vsock path too long: %s", hybrid_path);
	memcpy(sa.sun_path, hybrid_path, strlen(hybrid_path) + 1);

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "socket");
	/* a non-blocking unix connect fails with EAGAIN while the backlog is full */
	while (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || remaining_ms(deadline, timeout_ms) == 0)
			return husk_err_sys(err, errno, "connecting to %s", hybrid_path);
		usleep(10000);
	}

	char line[HY_LINE_MAX];
	int len = snprintf(line, sizeof line, "CONNECT %u\n", port);
	for (int off = 0; off < len;) {
		ssize_t w = send(fd, line + off, (size_t)(len - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int t = remaining_ms(deadline, timeout_ms);
			if (t == 0 || poll(&pfd, 1, t) == 0)
				return husk_err_set(err, ETIMEDOUT, "sending CONNECT %u to %s: timed out", port,
						    hybrid_path);
			continue;
		}
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) /* closed at once: refused */
			return husk_err_set(err, ECONNREFUSED, "guest port %u refused the connection", port);
		if (w < 0)
			return husk_err_sys(err, errno, "sending CONNECT %u to %s", port, hybrid_path);
		off += (int)w;
	}

	/* one byte at a time: what follows the line is the guest's data */
	unsigned n = 0;
	for (;;) {
		char ch;
		ssize_t r = recv(fd, &ch, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int t = remaining_ms(deadline, timeout_ms);
			int pr = t == 0 ? 0 : poll(&pfd, 1, t);
			if (pr < 0 && errno != EINTR)
				return husk_err_sys(err, errno, "poll");
			if (pr == 0)
				return husk_err_set(err, ETIMEDOUT, "guest port %u via %s: no answer in %d ms", port,
						    hybrid_path, timeout_ms);
			continue;
		}
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return husk_err_set(err, ECONNREFUSED, "guest port %u refused the connection", port);
		if (r < 0)
			return husk_err_sys(err, errno, "reading the answer to CONNECT %u", port);
		if (ch == '\n')
			break;
		if (n + 1 >= sizeof line)
			return husk_err_set(err, EPROTO, "answer to CONNECT %u too long", port);
		line[n++] = ch;
	}
	line[n] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		return husk_err_set(err, EPROTO, "unexpected answer to CONNECT %u", port);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return husk_err_sys(err, errno, "fcntl");
	return steal_fd(fd);
}
