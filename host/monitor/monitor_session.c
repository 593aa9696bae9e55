/* The guest session: frames from husk-init (stdio, replies, EXIT, OOM) and
 * to it, and the caller's stdio relayed over it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/arena.h"
#include "proto/msg.h"
#include "proto/msg_session.h"
#include "host/monitor/monitor_priv.h"
#include "host/state/fsutil.h"
#include "host/state/log.h"

static void session_interest(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	bool room = byteq_pending(&m->out[1].q) < OUT_HIGH && byteq_pending(&m->out[2].q) < OUT_HIGH;
	uint32_t ev = room ? EPOLLIN : 0;
	if (byteq_pending(&m->to_guest))
		ev |= EPOLLOUT;
	mon_watch(m, &m->session_w, ev, false);
}

void mon_session_lost(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	mon_ctl_settle_pending(m);
	mon_unwatch(m, &m->session_w);
	close(m->vm.session_fd);
	m->vm.session_fd = m->session_w.fd = -1;
}

static void session_flush(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	if (relay_flush(&m->to_guest, m->vm.session_fd) < 0) {
		log_error("writing to the guest failed: %s", strerror(errno));
		mon_session_lost(m);
		return;
	}
	session_interest(m);
}

int mon_session_send(struct monitor *m, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *p, size_t n)
{
	uint8_t hdr[HUSK_FRAME_HDR_SIZE];
	if (m->vm.session_fd < 0)
		return -EPIPE;
	husk_frame_finish(hdr, type, flags, id, n);
	if (byteq_append(&m->to_guest, hdr, sizeof hdr, RELAY_QUEUE_MAX) < 0 ||
	    byteq_append(&m->to_guest, p, n, RELAY_QUEUE_MAX) < 0)
		return -ENOMEM;
	session_flush(m);
	return 0;
}

/* --- the caller's stdio ------------------------------------------------ */

bool mon_stdin_window_open(const struct monitor *m)
{
	bool runs = m->status == HUSK_STATUS_RUNNING || m->status == HUSK_STATUS_PAUSED;
	return m->in.fd >= 0 && runs && m->stdin_unacked < HUSK_STDIN_WINDOW && byteq_pending(&m->to_guest) < OUT_HIGH;
}

void mon_stdin_interest(struct monitor *m)
{
	if (m->in.fd < 0 || m->in.unpollable)
		return;
	mon_watch(m, &m->stdin_w, mon_stdin_window_open(m) ? EPOLLIN : 0, false);
}

static void send_stdin_close(struct monitor *m)
{
	uint8_t buf[16];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_stdio_close(&e, &(struct husk_stdio_close_msg){ .stream = 0 });
	mon_session_send(m, HUSK_MSG_STDIO_CLOSE, 0, 0, e.buf, e.len);
}

void mon_read_stdin(struct monitor *m)
{
	static uint8_t frame[HUSK_STDIO_CHUNK + 64];
	uint8_t data[HUSK_STDIO_CHUNK];
	if (!mon_stdin_window_open(m)) {
		/* an event from before the window closed: a 0-byte read would look like EOF */
		mon_stdin_interest(m);
		return;
	}
	size_t room = HUSK_STDIN_WINDOW - m->stdin_unacked;
	ssize_t n = relay_in_read(&m->in, data, room < sizeof data ? room : sizeof data);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		mon_unwatch(m, &m->stdin_w);
		relay_in_close(&m->in);
		m->stdin_w.fd = -1;
		send_stdin_close(m);
		return;
	}
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, frame, sizeof frame);
	husk_msg_encode_stdio(&e, &(struct husk_stdio_msg){ .stream = 0, .data = data, .len = (size_t)n });
	m->stdin_unacked += (uint64_t)n;
	mon_session_send(m, HUSK_MSG_STDIO, 0, 0, e.buf, e.len);
	mon_stdin_interest(m);
}

static void on_stdin(struct watch *w, uint32_t events)
{
	mon_read_stdin(container_of(w, struct monitor, stdin_w));
}

static void out_interest(struct monitor *m, int stream)
{
	struct relay_out *o = &m->out[stream];
	if (o->fd < 0 || o->unpollable)
		return;
	mon_watch(m, &m->out_w[stream], o->q.len ? EPOLLOUT : 0, false);
}

static void out_close(struct monitor *m, int stream)
{
	mon_unwatch(m, &m->out_w[stream]);
	relay_out_close(&m->out[stream]);
	m->out_w[stream].fd = -1;
}

static void out_writable(struct monitor *m, int stream)
{
	struct relay_out *o = &m->out[stream];
	if (o->fd < 0)
		return;
	if (relay_out_flush(o) < 0) {
		/* the reader went away: drop the rest, as a closed pipe would */
		out_close(m, stream);
	} else if (o->eof && o->q.len == 0) {
		out_close(m, stream);
	} else {
		out_interest(m, stream);
	}
	session_interest(m);
}

static void on_stdout(struct watch *w, uint32_t events)
{
	out_writable(container_of(w, struct monitor, out_w[1]), 1);
}

static void on_stderr(struct watch *w, uint32_t events)
{
	out_writable(container_of(w, struct monitor, out_w[2]), 2);
}

/* --- frames from the guest ----------------------------------------------- */

static void begin_shutdown(struct monitor *m)
{
	if (m->shutting_down)
		return;
	m->shutting_down = true;
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_empty(&e);
	if (mon_session_send(m, HUSK_MSG_SHUTDOWN, 0, m->next_id++, e.buf, e.len) < 0)
		log_debug("guest session gone before SHUTDOWN");
	struct itimerspec its = { .it_value = { .tv_sec = SHUTDOWN_GRACE_MS / 1000 } };
	timerfd_settime(m->timer_fd, 0, &its, NULL);
}

/* The guest kernel OOM-killed in the container: state, the bundle's "oom"
 * file (CRI-O reads it) and every `events` subscriber. */
static void on_oom(struct monitor *m, uint64_t kills)
{
	if (kills <= m->st.oom_kills)
		return;
	m->st.oom_kills = kills;
	/* one report a second at most: a guest flooding OOM frames must not
	 * turn into a flood of fsyncs and log lines on the host (the count is
	 * kept, and the next report or the final state carries it) */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t since_ms = (int64_t)(now.tv_sec - m->oom_reported.tv_sec) * 1000 +
			   (now.tv_nsec - m->oom_reported.tv_nsec) / 1000000;
	if (m->oom_reported.tv_sec && since_ms < 1000)
		return;
	m->oom_reported = now;
	mon_write_state(m);
	if (m->a && m->a->spec->bundle[0]) { /* a sandbox has no bundle */
		char path[PATH_MAX];
		struct husk_err err = { 0 };
		snprintf(path, sizeof path, "%s/oom", m->a->spec->bundle);
		if (write_file_atomic(path, "", 0, 0644, &err) < 0)
			log_warn("%s", err.msg);
	}
	log_warn("the guest kernel OOM-killed in the container (%llu so far)", (unsigned long long)kills);
	uint8_t buf[32];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = kills });
	mon_ctl_notify(m, HUSK_MSG_OOM, e.buf, e.len);
}

static int on_stdio(struct monitor *m, const struct husk_cbor_item *root, bool close_stream, struct husk_err *err)
{
	struct husk_stdio_close_msg c;
	struct husk_stdio_msg s;
	unsigned v;
	int r;
	if (close_stream) {
		if ((r = husk_msg_decode_stdio_close(root, &c, err)) < 0)
			return r;
		v = c.stream;
		if (v == 0)
			return husk_err_set(err, EPROTO, "the guest closed stdin");
		m->out[v].eof = true;
		out_writable(m, (int)v);
		return 0;
	}
	if ((r = husk_msg_decode_stdio(root, &s, err)) < 0)
		return r;
	v = s.stream;
	if (v == 0)
		return husk_err_set(err, EPROTO, "the guest wrote to stdin");
	if (m->out[v].eof)
		return husk_err_set(err, EPROTO, "output on a closed stream");
	if (m->out[v].fd >= 0 && relay_out_append(&m->out[v], s.data, s.len) < 0)
		return husk_err_set(err, ENOMEM, "out of memory for output");
	out_interest(m, (int)v);
	out_writable(m, (int)v);
	return 0;
}

int mon_guest_frame(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload, struct husk_err *err)
{
	static uint8_t arena_buf[HUSK_FRAME_MAX + (64u << 10)];
	struct husk_arena arena;
	const struct husk_cbor_item *root;
	struct husk_stdin_ack_msg ack;
	struct husk_oom_msg oom;
	struct husk_exit_msg ex;
	int r;

	if (h->flags & HUSK_FLAG_REPLY) {
		if (h->type != HUSK_MSG_OK && h->type != HUSK_MSG_ERROR)
			return husk_err_set(err, EPROTO, "reply of type %u", h->type);
		return mon_ctl_on_guest_reply(m, h, payload, err);
	}
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	r = husk_msg_parse(payload, h->len, &arena, &root, err);
	if (r < 0)
		return r;
	switch (h->type) {
	case HUSK_MSG_STDIO:
	case HUSK_MSG_STDIO_CLOSE:
		return on_stdio(m, root, h->type == HUSK_MSG_STDIO_CLOSE, err);
	case HUSK_MSG_STDIN_ACK:
		if ((r = husk_msg_decode_stdin_ack(root, &ack, err)) < 0)
			return r;
		if (ack.bytes > m->stdin_unacked)
			return husk_err_set(err, EPROTO, "the guest acknowledged more stdin than was sent");
		m->stdin_unacked -= ack.bytes;
		mon_stdin_interest(m);
		return 0;
	case HUSK_MSG_OOM:
		if ((r = husk_msg_decode_oom(root, &oom, err)) < 0)
			return r;
		on_oom(m, oom.oom_kills);
		return 0;
	case HUSK_MSG_NOTIFY:
		return mon_notify_frame(m, root, err);
	case HUSK_MSG_EXIT:
		if ((r = husk_msg_decode_exit(root, &ex, err)) < 0)
			return r;
		m->status = HUSK_STATUS_STOPPED;
		m->exit_status = ex.status;
		log_debug("process exited with status %d", m->exit_status);
		if (!m->exec_mode && !m->member_mode)
			begin_shutdown(m); /* a member's end is not the VM's */
		return 0;
	default:
		return husk_err_set(err, EPROTO, "unexpected %s frame from the guest", husk_msg_type_name(h->type));
	}
}

static void on_session(struct watch *w, uint32_t events)
{
	struct monitor *m = container_of(w, struct monitor, session_w);
	struct husk_err err = { 0 };
	if (events & EPOLLOUT)
		session_flush(m);
	if (m->vm.session_fd < 0 || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	size_t room;
	uint8_t *dst = husk_frame_reader_space(&m->rd, &room);
	ssize_t n = read(m->vm.session_fd, dst, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		mon_session_lost(m);
		return;
	}
	husk_frame_reader_commit(&m->rd, (size_t)n);
	for (;;) {
		struct husk_frame_hdr h;
		const uint8_t *payload;
		int r = husk_frame_reader_next(&m->rd, &h, &payload, &err);
		if (r == 0)
			break;
		if (r > 0)
			r = mon_guest_frame(m, &h, payload, &err);
		if (r < 0) {
			/* a guest that breaks the protocol loses its session */
			log_error("guest protocol violation: %s", err.msg);
			mon_session_lost(m);
			return;
		}
		if (m->vm.session_fd < 0)
			return;
	}
	session_interest(m);
}

/* --- to the guest -------------------------------------------------------- */

void mon_forward_signal(struct monitor *m, int sig)
{
	uint8_t buf[32];
	struct husk_cbor_enc e;
	if (mon_exited(m) || m->vm.session_fd < 0)
		return;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_signal(&e, sig, false);
	mon_session_send(m, HUSK_MSG_SIGNAL, 0, m->next_id++, e.buf, e.len);
}

/* the caller resized the terminal (the console's master, or its own
 * terminal): tell the guest's pty */
void mon_send_resize(struct monitor *m)
{
	struct winsize ws;
	uint8_t buf[32];
	struct husk_cbor_enc e;
	if (ioctl(m->winsize_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_resize(&e, &(struct husk_resize_msg){ .rows = ws.ws_row, .cols = ws.ws_col });
	mon_session_send(m, HUSK_MSG_RESIZE, 0, m->next_id++, e.buf, e.len);
}

void mon_watch_session_and_stdio(struct monitor *m)
{
	m->session_w = (struct watch){ .fd = m->vm.session_fd, .on_event = on_session };
	m->stdin_w = (struct watch){ .fd = m->in.fd, .on_event = on_stdin };
	m->out_w[1] = (struct watch){ .fd = m->out[1].fd, .on_event = on_stdout };
	m->out_w[2] = (struct watch){ .fd = m->out[2].fd, .on_event = on_stderr };
	mon_watch(m, &m->session_w, EPOLLIN, true);
	if (m->in.fd >= 0 && mon_watch(m, &m->stdin_w, 0, true) == -EPERM)
		m->in.unpollable = true;
	/* an exec's process already runs: its stdin flows now (an open pipe or
	 * terminal would otherwise only be read once it hangs up) */
	mon_stdin_interest(m);
	for (int s = 1; s <= 2; s++)
		if (m->out[s].fd >= 0 && mon_watch(m, &m->out_w[s], 0, true) == -EPERM)
			m->out[s].unpollable = true;
}
