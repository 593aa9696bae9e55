/* Host sessions over vsock: frame input, bounded output queue, and the
 * request handlers. Each handler is decode -> check -> do_<op>(). */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <linux/vm_sockets.h>
#include <unistd.h>

#include "proto/msg_network.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "guest/guest.h"

#define CONN_MAX 64
#define REPLY_BUF 4096

static struct conn *conns;
static unsigned n_conns;
static uint8_t decode_arena_buf[4u << 20]; /* one request decoded at a time */

static void conn_on_event(struct watch *w, uint32_t events);

static void conn_close(struct conn *c)
{
	if (c->dead)
		return;
	loop_del(&c->w);
	c->dead = true;
	container_session_closed(c); /* a member's: it goes */
	proc_detach_conn(c);
	if (c->is_main)
		guest_poweroff("the host closed the container session");
}

void conn_collect(void)
{
	struct conn **pp = &conns;
	while (*pp) {
		struct conn *c = *pp;
		if (!c->dead) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		byteq_free(&c->out);
		free(c->rbuf);
		free(c);
		n_conns--;
	}
}

void conn_accept(int listen_fd)
{
	struct husk_err err = { 0 };
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		/* the host's back-end buffers more than Linux's default 256 KiB: a
		 * larger window of our own lets output stream with fewer waits
		 * for credit (failure only costs speed) */
		uint64_t window = GUEST_VSOCK_WINDOW;
		if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &window, sizeof window) < 0 ||
		    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &window, sizeof window) < 0)
			GLOG_INFO("vsock buffer size left at the default: %s", strerror(errno));
		if (n_conns >= CONN_MAX) {
			GLOG_ERR("refusing a session: %u open already", n_conns);
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof *c);
		size_t cap = HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX;
		uint8_t *buf = malloc(cap);
		if (!c || !buf) {
			GLOG_ERR("out of memory for a session");
			free(c);
			free(buf);
			close(fd);
			continue;
		}
		c->w.fd = fd;
		c->w.on_event = conn_on_event;
		c->rbuf = buf;
		husk_frame_reader_init(&c->rd, buf, cap, HUSK_FRAME_MAX);
		if (loop_add(&c->w, EPOLLIN, &err) < 0) {
			GLOG_ERR("%s", err.msg);
			husk_err_clear(&err);
			free(c);
			free(buf);
			close(fd);
			continue;
		}
		c->next = conns;
		conns = c;
		n_conns++;
	}
}

bool conn_has_room(const struct conn *c)
{
	return !c->dead && byteq_pending(&c->out) < GUEST_OUTQ_HIGH;
}

void conn_update_interest(struct conn *c)
{
	if (c->dead)
		return;
	uint32_t ev = c->closing ? 0 : EPOLLIN;
	if (byteq_pending(&c->out))
		ev |= EPOLLOUT;
	loop_set(&c->w, ev);
}

static void conn_flush(struct conn *c)
{
	while (byteq_pending(&c->out)) {
		ssize_t n = write(c->w.fd, byteq_peek(&c->out), byteq_pending(&c->out));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(c);
			return;
		}
		byteq_consume(&c->out, (size_t)n);
	}
	if (c->closing && byteq_pending(&c->out) == 0) {
		conn_close(c);
		return;
	}
	conn_update_interest(c);
	/* room again: let the bound process's output flow */
	if (c->proc && conn_has_room(c))
		proc_update_interest(c->proc);
}

/* Nothing queued ahead: the frame goes straight to the socket, and only what
 * the socket does not take is copied into the queue (under TCG every copy of
 * a process's output costs the guest CPU). */
int conn_send(struct conn *c, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *payload, size_t len)
{
	uint8_t hdr[HUSK_FRAME_HDR_SIZE];
	if (c->dead)
		return -EPIPE;
	husk_frame_finish(hdr, type, flags, id, len);
	size_t done = 0, total = sizeof hdr + len;
	if (byteq_pending(&c->out) == 0 && !c->closing) {
		struct iovec iov[2] = { { hdr, sizeof hdr }, { (void *)payload, len } };
		ssize_t n;
		do
			n = writev(c->w.fd, iov, len ? 2 : 1);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN) {
			conn_close(c);
			return -EPIPE;
		}
		if (n > 0)
			done = (size_t)n;
		if (done == total)
			return 0;
	}
	int r = 0;
	if (done < sizeof hdr)
		r = byteq_append(&c->out, hdr + done, sizeof hdr - done, GUEST_OUTQ_MAX);
	size_t from = done > sizeof hdr ? done - sizeof hdr : 0;
	if (r == 0)
		r = byteq_append(&c->out, payload + from, len - from, GUEST_OUTQ_MAX);
	if (r < 0) {
		GLOG_ERR("session output queue overflow; closing it");
		conn_close(c);
		return -ENOBUFS;
	}
	conn_flush(c);
	return 0;
}

static int send_map(struct conn *c, uint16_t type, uint16_t flags, uint32_t id, struct husk_cbor_enc *e)
{
	struct husk_err err = { 0 };
	if (husk_cbor_enc_finish(e, &err) < 0) {
		GLOG_ERR("encoding %s: %s", husk_msg_type_name(type), err.msg);
		return -ENOSPC;
	}
	return conn_send(c, type, flags, id, e->buf, e->len);
}

int conn_send_error(struct conn *c, uint32_t id, const struct husk_err *err)
{
	uint8_t buf[REPLY_BUF];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_error(&e, err->code, err->msg);
	return send_map(c, HUSK_MSG_ERROR, HUSK_FLAG_REPLY, id, &e);
}

static int send_ok_empty(struct conn *c, uint32_t id)
{
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_empty(&e);
	return send_map(c, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, &e);
}

static int send_pid_reply(struct conn *c, uint32_t id, pid_t pid)
{
	uint8_t buf[64];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_pid_reply(&e, &(struct husk_pid_reply_msg){ .pid = (int32_t)pid });
	return send_map(c, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, &e);
}

static int resolve_running(struct conn *c, bool has_ctr, uint32_t ctr, bool running, struct gctr **g,
			   struct husk_err *err)
{
	int r = container_resolve(c, has_ctr, ctr, g, err);
	if (r == -ESRCH && !has_ctr && !c->ctr) {
		husk_err_clear(err);
		return husk_err_set(err, ESRCH, "the container is not running");
	}
	if (r < 0)
		return r;
	if (running && !ctr_alive(*g))
		return husk_err_set(err, ESRCH, "the container is not running");
	return 0;
}

static int do_hello(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_err *err)
{
	struct husk_hello_msg m;
	struct utsname u;
	int r = husk_msg_decode_hello(root, &m, err);
	if (r < 0)
		return r;
	if (m.version != HUSK_PROTO_VERSION)
		return husk_err_set(err, EPROTONOSUPPORT, "protocol version %llu is not %u",
				    (unsigned long long)m.version, HUSK_PROTO_VERSION);
	uname(&u);
	uint8_t buf[REPLY_BUF];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_hello_reply(&e, &(struct husk_hello_msg){ .version = HUSK_PROTO_VERSION, .kernel = u.release });
	return send_map(c, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, &e);
}

static int do_create(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_arena *a,
		     struct husk_err *err)
{
	struct husk_create_msg m;
	pid_t pid;
	int r = husk_msg_decode_create(root, a, &m, err);
	if (r < 0)
		return husk_err_wrap(err, "bad CREATE");
	/* slot 0's message for a second container when the VM holds one */
	if (m.ctr == 0 && (c->proc || container_proc()))
		return husk_err_set(err, EEXIST, "this VM already holds a container");
	if (m.ctr == 0 && (r = net_apply(m.network, err)) < 0)
		return r;
	r = container_create(c, &m, &pid, err);
	if (r < 0)
		return r;
	/* slot 0's session is the VM's: its loss powers it off */
	c->is_main = m.ctr == 0;
	/* the process is parked until START: limits are in place before it runs */
	if (m.resources && (r = cgroup_apply(c->ctr, m.resources, err)) < 0)
		return husk_err_wrap(err, "linux.resources");
	struct husk_err oerr = { 0 };
	if (cgroup_watch_oom(c->ctr, &oerr) < 0)
		GLOG_ERR("no OOM notifications: %s", oerr.msg);
	return send_pid_reply(c, id, pid);
}

/* interfaces that appeared on the host after create come with START */
static int do_start(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_arena *a,
		    struct husk_err *err)
{
	struct husk_start_msg m;
	struct gctr *g = NULL;
	int r = husk_msg_decode_start(root, a, &m, err);
	if (r < 0)
		return husk_err_wrap(err, "bad START");
	if (m.has_ctr && (r = container_resolve(c, true, m.ctr, &g, err)) < 0)
		return r;
	if (!g)
		g = c->ctr;
	if (!g || !g->init || c->proc != g->init || g->init->start_fd < 0)
		return container_start(c, g, err); /* its error says why */
	if (g->idx && m.added && m.added->n_ifaces)
		return husk_err_set(err, EINVAL, "container %u of the pod cannot bring a network (only the first)",
				    g->idx);
	if ((r = net_apply(m.added, err)) < 0 || (r = container_start(c, g, err)) < 0)
		return r;
	return send_ok_empty(c, id);
}

static int do_exec(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_arena *a,
		   struct husk_err *err)
{
	struct husk_exec_msg m;
	pid_t pid;
	int r = husk_msg_decode_exec(root, a, &m, err);
	if (r < 0)
		return husk_err_wrap(err, "bad EXEC");
	r = container_exec(c, m.ctr, &m.process, m.stdin_open, &pid, err);
	if (r < 0)
		return r;
	return send_pid_reply(c, id, pid);
}

/* The container a PAUSE, RESUME, PS or STATS names ({[ctr]}); ESRCH "the
 * container is not running" when none is, as before pods. */
static int ctr_request(struct conn *c, const struct husk_cbor_item *root, bool running, struct gctr **g,
		       struct husk_err *err)
{
	struct husk_ctr_msg m;
	int r = husk_msg_decode_ctr(root, &m, err);
	if (r < 0)
		return r;
	return resolve_running(c, m.has_ctr, m.ctr, running, g, err);
}

static int do_freeze(struct conn *c, uint32_t id, const struct husk_cbor_item *root, bool freeze, struct husk_err *err)
{
	struct gctr *g;
	int r = ctr_request(c, root, true, &g, err);
	if (r < 0)
		return r;
	r = cgroup_freeze(g, freeze, err);
	if (r < 0)
		return r;
	return send_ok_empty(c, id);
}

static int do_update(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_arena *a,
		     struct husk_err *err)
{
	struct husk_update_msg m;
	struct gctr *g;
	int r = husk_msg_decode_update(root, a, &m, err);
	if (r < 0)
		return r;
	if ((r = resolve_running(c, m.has_ctr, m.ctr, true, &g, err)) < 0)
		return r;
	if ((r = cgroup_apply(g, &m.resources, err)) < 0)
		return r;
	return send_ok_empty(c, id);
}

static int do_stats(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_err *err)
{
	static uint8_t buf[16384];
	struct husk_stats_msg m;
	struct husk_cbor_enc e;
	struct gctr *g;
	int r = ctr_request(c, root, false, &g, err);
	if (r < 0 || (r = cgroup_stats(g, &m, err)) < 0)
		return r;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_stats(&e, &m);
	if ((r = husk_cbor_enc_finish(&e, err)) < 0)
		return r;
	return conn_send(c, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, e.len);
}

static int do_ps(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_err *err)
{
	static uint8_t buf[HUSK_FRAME_MAX];
	struct husk_cbor_enc e;
	struct gctr *g;
	int r = ctr_request(c, root, true, &g, err);
	if (r < 0)
		return r;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	r = ps_encode(g, &e, err);
	if (r < 0)
		return r;
	return conn_send(c, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, e.len);
}

static int do_signal(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_err *err)
{
	struct husk_signal_msg m;
	int r = husk_msg_decode_signal(root, &m, err);
	if (r < 0)
		return r;
	if (!c->proc)
		return husk_err_set(err, ESRCH, "no process is bound to this session");
	r = proc_signal(c->proc, c->ctr, m.signal, m.all, err);
	if (r < 0)
		return r;
	return send_ok_empty(c, id);
}

static int do_stdio(struct conn *c, const struct husk_cbor_item *root, bool close_it, struct husk_err *err)
{
	struct husk_stdio_msg m = { 0 };
	struct husk_stdio_close_msg cm;
	int r = close_it ? husk_msg_decode_stdio_close(root, &cm, err) : husk_msg_decode_stdio(root, &m, err);
	if (r < 0)
		return r;
	if ((close_it ? cm.stream : m.stream) != 0)
		return husk_err_set(err, EINVAL, "the host can only write stream 0");
	if (!c->proc)
		return 0; /* the process is gone: drop it */
	if (close_it)
		proc_stdin_close(c->proc);
	else if (byteq_pending(&c->proc->stdin_q) + m.len > HUSK_STDIN_WINDOW)
		return husk_err_set(err, ENOBUFS, "the host overran the stdin window");
	else
		proc_stdin_data(c->proc, m.data, m.len);
	return 0;
}

static int do_resize(struct conn *c, uint32_t id, const struct husk_cbor_item *root, struct husk_err *err)
{
	struct husk_resize_msg m;
	int r = husk_msg_decode_resize(root, &m, err);
	if (r < 0)
		return r;
	if (!c->proc)
		return husk_err_set(err, ESRCH, "no process is bound to this session");
	r = proc_resize(c->proc, m.rows, m.cols, err);
	if (r < 0)
		return r;
	return send_ok_empty(c, id);
}

/* SHUTDOWN: on slot 0's session, or (as before pods) any session while
 * the VM holds no member */
static bool shutdown_allowed(const struct conn *c)
{
	if (c->ctr)
		return c->ctr->idx == 0;
	for (uint32_t i = 1; i < HUSK_POD_MAX; i++)
		if (container_get(i))
			return false;
	return true;
}

static void handle_frame(struct conn *c, const struct husk_frame_hdr *h, const uint8_t *payload)
{
	struct husk_err err = { 0 };
	struct husk_arena arena;
	const struct husk_cbor_item *root = NULL;
	int r;

	husk_arena_init(&arena, decode_arena_buf, sizeof decode_arena_buf);
	if (h->flags & HUSK_FLAG_REPLY) {
		GLOG_ERR("unexpected reply frame from the host; ignored");
		return;
	}
	r = husk_msg_parse(payload, h->len, &arena, &root, &err);
	if (r == 0) {
		switch (h->type) {
		case HUSK_MSG_HELLO:
			r = do_hello(c, h->id, root, &err);
			break;
		case HUSK_MSG_CREATE:
			r = do_create(c, h->id, root, &arena, &err);
			break;
		case HUSK_MSG_PAUSE:
		case HUSK_MSG_RESUME:
			r = do_freeze(c, h->id, root, h->type == HUSK_MSG_PAUSE, &err);
			break;
		case HUSK_MSG_PS:
			r = do_ps(c, h->id, root, &err);
			break;
		case HUSK_MSG_UPDATE:
			r = do_update(c, h->id, root, &arena, &err);
			break;
		case HUSK_MSG_STATS:
			r = do_stats(c, h->id, root, &err);
			break;
		case HUSK_MSG_EXEC:
			r = do_exec(c, h->id, root, &arena, &err);
			break;
		case HUSK_MSG_START:
			r = do_start(c, h->id, root, &arena, &err);
			break;
		case HUSK_MSG_SIGNAL:
			r = do_signal(c, h->id, root, &err);
			break;
		case HUSK_MSG_STDIO:
		case HUSK_MSG_STDIO_CLOSE:
			r = do_stdio(c, root, h->type == HUSK_MSG_STDIO_CLOSE, &err);
			if (r < 0) {
				/* events get no reply: a broken stdin stream ends the session */
				GLOG_ERR("%s", err.msg);
				conn_close(c);
			}
			return;
		case HUSK_MSG_RESIZE:
			r = do_resize(c, h->id, root, &err);
			break;
		case HUSK_MSG_SHUTDOWN:
			if (!shutdown_allowed(c)) {
				r = husk_err_set(&err, EPERM, "only the pod's first container may power the VM off");
				break;
			}
			send_ok_empty(c, h->id);
			/* best effort to get the reply out before the VM goes */
			fcntl(c->w.fd, F_SETFL, 0);
			conn_flush(c);
			guest_poweroff("shutdown requested by the host");
		default:
			r = husk_err_set(&err, EOPNOTSUPP, "unknown message type %u", h->type);
		}
	}
	if (r < 0) {
		GLOG_ERR("%s %u: %s", husk_msg_type_name(h->type), h->id, err.msg);
		conn_send_error(c, h->id, &err);
	}
}

static void conn_read(struct conn *c)
{
	struct husk_err err = { 0 };
	for (;;) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&c->rd, &room);
		ssize_t n = read(c->w.fd, dst, room);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c);
			return;
		}
		if (n == 0) {
			c->closing = true;
			if (byteq_pending(&c->out) == 0)
				conn_close(c);
			else
				conn_update_interest(c);
			return;
		}
		husk_frame_reader_commit(&c->rd, (size_t)n);
		for (;;) {
			struct husk_frame_hdr h;
			const uint8_t *payload;
			int r = husk_frame_reader_next(&c->rd, &h, &payload, &err);
			if (r < 0) {
				GLOG_ERR("session dropped: %s", err.msg);
				conn_close(c);
				return;
			}
			if (r == 0)
				break;
			handle_frame(c, &h, payload);
			if (c->dead)
				return;
		}
	}
}

static void conn_on_event(struct watch *w, uint32_t events)
{
	struct conn *c = container_of(w, struct conn, w);
	if (events & EPOLLOUT)
		conn_flush(c);
	if (!c->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		conn_read(c);
}
