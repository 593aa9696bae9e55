/* The monitor's event loop: the guest session (stdio, replies, EXIT), the
 * caller's stdio, ctl.sock clients, signals and the VM's child processes. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proto/msg.h"
#include "proto/msg_resources.h"
#include "host/monitor/console.h"
#include "host/monitor/ctl.h"
#include "host/state/fsutil.h"
#include "host/spec/hooks.h"
#include "host/state/host_cgroup.h"
#include "host/state/log.h"
#include "host/monitor/monitor_confine.h"
#include "host/monitor/monitor.h"
#include "host/monitor/stdio_relay.h"
#include "host/state/unixsock.h"

#define CTL_CLIENTS_MAX 32
#define PENDING_MAX 64
#define SHUTDOWN_GRACE_MS 10000
#define KILL_GRACE_MS 5000 /* SIGKILL sent, no exit reported: the VM is killed */
#define OUT_HIGH (1u << 20) /* stop reading the guest above this much unwritten output */

enum tag_kind { TAG_SESSION, TAG_SIGNAL, TAG_CTL_LISTEN, TAG_CTL_CLIENT, TAG_STDIN, TAG_STDOUT, TAG_STDERR, TAG_TIMER };

struct ctl_client {
	int fd;
	bool subscribed; /* `events`: gets OOM notifications pushed */
	struct husk_frame_reader rd;
	uint8_t buf[HUSK_FRAME_HDR_SIZE + 4096];
};

struct pending {
	uint32_t guest_id;
	struct ctl_client *client; /* NULL once the client went away */
	uint32_t client_id;
	uint16_t type;
};

struct monitor {
	const struct husk_monitor_args *a;
	struct husk_vm vm;
	struct husk_state st;
	int epfd, sigfd, ctl_fd, timer_fd;
	struct husk_frame_reader rd;
	uint8_t *rbuf;
	struct byteq to_guest;
	struct relay_out out[3]; /* [1] stdout, [2] stderr */
	struct relay_in in;
	uint64_t stdin_unacked;
	struct ctl_client *clients[CTL_CLIENTS_MAX];
	struct pending pending[PENDING_MAX];
	uint32_t next_id;
	int console_slave; /* with --console-socket: the host side of the terminal */
	bool exec_mode;    /* an exec monitor: one process, no VM of its own */
	bool paused;
	bool started, exited, shutting_down, qemu_gone, session_gone;
	bool kill_deadline; /* SIGKILL forwarded: the VM goes if the guest does not end it */
	struct timespec oom_reported; /* when OOM kills were last written and logged */
	int exit_status;
	/* what the monitor noticed first when the VM went before the
	 * container's process had exited (several events race to say it) */
	char vm_lost[HUSK_CHILD_REASON_MAX + 64];
	struct husk_hooks hooks; /* config.json's; none in an exec monitor */
};

static int ep_set(struct monitor *m, int fd, uint32_t events, uint64_t tag, bool add)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	if (fd < 0)
		return 0;
	return epoll_ctl(m->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

static uint64_t tag_of(enum tag_kind k, unsigned idx)
{
	return ((uint64_t)k << 32) | idx;
}

static void write_state(struct monitor *m)
{
	struct husk_err err = { 0 };
	if (husk_state_write(m->a->state_dir, &m->st, &err) < 0)
		log_error("writing state: %s", err.msg);
}

/* --- the guest session ------------------------------------------------ */

static void session_interest(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	bool room = m->out[1].q.len < OUT_HIGH && m->out[2].q.len < OUT_HIGH;
	uint32_t ev = room ? EPOLLIN : 0;
	if (m->to_guest.len)
		ev |= EPOLLOUT;
	ep_set(m, m->vm.session_fd, ev, tag_of(TAG_SESSION, 0), false);
}

static void reply_client(struct ctl_client *c, uint32_t id, uint16_t type, const uint8_t *p, size_t n)
{
	struct husk_err err = { 0 };
	if (c && husk_frame_write_all(c->fd, type, HUSK_FLAG_REPLY, id, p, n, &err) < 0)
		log_warn("ctl reply: %s", err.msg);
}

static void reply_client_error(struct ctl_client *c, uint32_t id, int code, const char *msg)
{
	uint8_t buf[1200];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_error(&e, code, msg);
	reply_client(c, id, HUSK_MSG_ERROR, e.buf, e.len);
}

/* Requests the guest will never answer now: a SIGKILL the host enforced
 * succeeded; anything else failed with the session. */
static void settle_pending(struct monitor *m)
{
	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &m->pending[i];
		if (p->type == 0)
			continue;
		if (p->type == HUSK_MSG_SIGNAL && m->kill_deadline && m->exited)
			reply_client(p->client, p->client_id, HUSK_MSG_OK, (const uint8_t *)"\xa0", 1);
		else
			reply_client_error(p->client, p->client_id, EIO, "the guest session ended");
		memset(p, 0, sizeof *p);
	}
}

static void session_lost(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	settle_pending(m);
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->vm.session_fd, NULL);
	close(m->vm.session_fd);
	m->vm.session_fd = -1;
	m->session_gone = true;
}

static void session_flush(struct monitor *m)
{
	if (m->vm.session_fd < 0)
		return;
	if (relay_flush(&m->to_guest, m->vm.session_fd) < 0) {
		log_error("writing to the guest failed: %s", strerror(errno));
		session_lost(m);
		return;
	}
	session_interest(m);
}

static int session_send(struct monitor *m, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *p, size_t n)
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

static bool stdin_window_open(const struct monitor *m)
{
	return m->in.fd >= 0 && m->started && m->stdin_unacked < HUSK_STDIN_WINDOW && m->to_guest.len < OUT_HIGH;
}

static void stdin_interest(struct monitor *m)
{
	if (m->in.fd < 0 || m->in.unpollable)
		return;
	ep_set(m, m->in.fd, stdin_window_open(m) ? EPOLLIN : 0, tag_of(TAG_STDIN, 0), false);
}

static void send_stdin_close(struct monitor *m)
{
	uint8_t buf[16];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_one_uint(&e, "stream", 0);
	session_send(m, HUSK_MSG_STDIO_CLOSE, 0, 0, e.buf, e.len);
}

static void on_stdin(struct monitor *m)
{
	static uint8_t frame[HUSK_STDIO_CHUNK + 64];
	uint8_t data[HUSK_STDIO_CHUNK];
	if (!stdin_window_open(m)) {
		/* an event from before the window closed: a 0-byte read would look like EOF */
		stdin_interest(m);
		return;
	}
	size_t room = HUSK_STDIN_WINDOW - m->stdin_unacked;
	ssize_t n = relay_in_read(&m->in, data, room < sizeof data ? room : sizeof data);
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->in.fd, NULL);
		relay_in_close(&m->in);
		send_stdin_close(m);
		return;
	}
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, frame, sizeof frame);
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "stream");
	husk_cbor_put_uint(&e, 0);
	husk_cbor_put_text(&e, "data");
	husk_cbor_put_bytes(&e, data, (size_t)n);
	m->stdin_unacked += (uint64_t)n;
	session_send(m, HUSK_MSG_STDIO, 0, 0, e.buf, e.len);
	stdin_interest(m);
}

static void out_interest(struct monitor *m, int stream)
{
	struct relay_out *o = &m->out[stream];
	if (o->fd < 0 || o->unpollable)
		return;
	ep_set(m, o->fd, o->q.len ? EPOLLOUT : 0, tag_of(stream == 1 ? TAG_STDOUT : TAG_STDERR, 0), false);
}

static void on_out_writable(struct monitor *m, int stream)
{
	struct relay_out *o = &m->out[stream];
	if (o->fd < 0)
		return;
	if (relay_out_flush(o) < 0) {
		/* the reader went away: drop the rest, as a closed pipe would */
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, o->fd, NULL);
		relay_out_close(o);
	} else if (o->eof && o->q.len == 0) {
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, o->fd, NULL);
		relay_out_close(o);
	} else {
		out_interest(m, stream);
	}
	session_interest(m);
}

/* Hooks of one kind, with the container's OCI state on stdin. */
static int run_hooks(struct monitor *m, enum husk_hook_kind kind, bool warn_only, struct husk_err *err)
{
	if (!husk_hooks_any(&m->hooks, kind))
		return 0;
	json_t *j = husk_state_oci_json(&m->st);
	char *doc = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!doc)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = husk_hooks_run(&m->hooks, kind, doc, warn_only, err);
	free(doc);
	return r;
}

static void begin_shutdown(struct monitor *m)
{
	if (m->shutting_down)
		return;
	m->shutting_down = true;
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 0);
	if (session_send(m, HUSK_MSG_SHUTDOWN, 0, m->next_id++, e.buf, e.len) < 0)
		log_debug("guest session gone before SHUTDOWN");
	struct itimerspec its = { .it_value = { .tv_sec = SHUTDOWN_GRACE_MS / 1000 } };
	timerfd_settime(m->timer_fd, 0, &its, NULL);
}

static void on_guest_reply(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload)
{
	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &m->pending[i];
		if (p->guest_id != h->id || p->type == 0)
			continue;
		if (h->type == HUSK_MSG_OK && (p->type == HUSK_MSG_START || p->type == HUSK_MSG_PAUSE ||
					       p->type == HUSK_MSG_RESUME)) {
			if (p->type == HUSK_MSG_START)
				m->started = true;
			m->paused = p->type == HUSK_MSG_PAUSE;
			snprintf(m->st.status, sizeof m->st.status, "%s", m->paused ? "paused" : "running");
			write_state(m);
			stdin_interest(m);
			struct husk_err herr = { 0 };
			if (p->type == HUSK_MSG_START)
				run_hooks(m, HUSK_HOOK_POSTSTART, true, &herr); /* failures only warn */
		}
		reply_client(p->client, p->client_id, h->type, payload, h->len);
		memset(p, 0, sizeof *p);
		return;
	}
	/* a reply nobody waits for (SHUTDOWN's): nothing to do */
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
	write_state(m);
	if (m->a) {
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
	husk_msg_encode_one_uint(&e, "oom_kills", kills);
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (m->clients[i] && m->clients[i]->subscribed)
			reply_client(m->clients[i], 0, HUSK_MSG_OOM, e.buf, e.len);
}

static int on_guest_frame(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload,
			  struct husk_err *err)
{
	static uint8_t arena_buf[HUSK_FRAME_MAX + (64u << 10)];
	struct husk_arena arena;
	const struct husk_cbor_item *root;
	uint64_t v;
	const uint8_t *data;
	size_t len;
	int r;

	if (h->flags & HUSK_FLAG_REPLY) {
		if (h->type != HUSK_MSG_OK && h->type != HUSK_MSG_ERROR)
			return husk_err_set(err, EPROTO, "reply of type %u", h->type);
		on_guest_reply(m, h, payload);
		return 0;
	}
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	r = husk_msg_parse(payload, h->len, &arena, &root, err);
	if (r < 0)
		return r;
	switch (h->type) {
	case HUSK_MSG_STDIO:
		if ((r = husk_msg_get_uint(root, "stream", 2, false, &v, err)) < 0)
			return r;
		if (v == 0)
			return husk_err_set(err, EPROTO, "the guest wrote to stdin");
		if ((r = husk_msg_get_bytes(root, "data", HUSK_STDIO_CHUNK, &data, &len, err)) < 0)
			return r;
		if (m->out[v].eof)
			return husk_err_set(err, EPROTO, "output on a closed stream");
		if (m->out[v].fd >= 0 && relay_out_append(&m->out[v], data, len) < 0)
			return husk_err_set(err, ENOMEM, "out of memory for output");
		out_interest(m, (int)v);
		on_out_writable(m, (int)v);
		return 0;
	case HUSK_MSG_STDIO_CLOSE:
		if ((r = husk_msg_get_uint(root, "stream", 2, false, &v, err)) < 0)
			return r;
		if (v == 0)
			return husk_err_set(err, EPROTO, "the guest closed stdin");
		m->out[v].eof = true;
		on_out_writable(m, (int)v);
		return 0;
	case HUSK_MSG_STDIN_ACK:
		if ((r = husk_msg_get_uint(root, "bytes", HUSK_STDIN_WINDOW, false, &v, err)) < 0)
			return r;
		if (v > m->stdin_unacked)
			return husk_err_set(err, EPROTO, "the guest acknowledged more stdin than was sent");
		m->stdin_unacked -= v;
		stdin_interest(m);
		return 0;
	case HUSK_MSG_OOM:
		if ((r = husk_msg_get_uint(root, "oom_kills", UINT32_MAX, false, &v, err)) < 0)
			return r;
		on_oom(m, v);
		return 0;
	case HUSK_MSG_EXIT:
		if ((r = husk_msg_get_uint(root, "status", 255, false, &v, err)) < 0)
			return r;
		m->exited = true;
		m->exit_status = (int)v;
		log_debug("process exited with status %d", m->exit_status);
		if (!m->exec_mode)
			begin_shutdown(m);
		return 0;
	default:
		return husk_err_set(err, EPROTO, "unexpected %s frame from the guest", husk_msg_type_name(h->type));
	}
}

static void on_session(struct monitor *m, uint32_t events)
{
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
		session_lost(m);
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
			r = on_guest_frame(m, &h, payload, &err);
		if (r < 0) {
			/* a guest that breaks the protocol loses its session */
			log_error("guest protocol violation: %s", err.msg);
			session_lost(m);
			return;
		}
		if (m->vm.session_fd < 0)
			return;
	}
	session_interest(m);
}

/* --- ctl.sock ------------------------------------------------------- */

static void ctl_client_drop(struct monitor *m, int idx)
{
	struct ctl_client *c = m->clients[idx];
	for (int i = 0; i < PENDING_MAX; i++)
		if (m->pending[i].client == c)
			m->pending[i].client = NULL;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	m->clients[idx] = NULL;
}

static void ctl_forward(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h, const uint8_t *p)
{
	int slot = -1;
	for (int i = 0; i < PENDING_MAX && slot < 0; i++)
		if (m->pending[i].type == 0)
			slot = i;
	if (slot < 0 || m->vm.session_fd < 0) {
		reply_client_error(c, h->id, EBUSY, slot < 0 ? "too many requests in flight" : "the VM is gone");
		return;
	}
	uint32_t id = m->next_id++;
	m->pending[slot] = (struct pending){ .guest_id = id, .client = c, .client_id = h->id, .type = h->type };
	session_send(m, h->type, 0, id, p, h->len);
}

/* A memory limit the VM cannot hold is refused here: the VM does not grow. */
static bool update_too_big(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h, const uint8_t *p)
{
	static uint8_t arena_buf[64 * 1024];
	struct husk_arena a;
	struct husk_err err = { 0 };
	const struct husk_cbor_item *root, *map;
	struct husk_resources res;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(p, h->len, &a, &root, &err) < 0 || !(map = husk_cbor_map_get(root, "resources")) ||
	    husk_msg_decode_resources(map, &a, &res, &err) < 0) {
		reply_client_error(c, h->id, EINVAL, err.msg[0] ? err.msg : "malformed update");
		return true;
	}
	if (res.has_memory_limit && res.memory_limit > 0 && m->vm.memory_mib > 0 &&
	    (res.memory_limit >> 20) > m->vm.memory_mib) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "memory limit %lld MiB is larger than the container's VM (%ld MiB), which cannot grow; "
			 "size the VM with annotation io.husk.vm.memory_mib at create",
			 (long long)(res.memory_limit >> 20), m->vm.memory_mib);
		reply_client_error(c, h->id, EINVAL, msg);
		return true;
	}
	return false;
}

/* SIGKILL is the host's promise, not the guest's: if the guest has not
 * reported the container's exit KILL_GRACE_MS after one (a wedged or hostile
 * guest), the timer kills the VM and the container ends as killed (137). */
static void arm_kill_deadline(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *p)
{
	static uint8_t arena_buf[4096];
	struct husk_arena a;
	struct husk_err err = { 0 };
	const struct husk_cbor_item *root;
	uint64_t sig = 0;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(p, h->len, &a, &root, &err) < 0 || husk_msg_get_uint(root, "signal", 64, false, &sig, &err) < 0 ||
	    sig != SIGKILL || m->kill_deadline)
		return;
	m->kill_deadline = true;
	struct itimerspec its = { .it_value = { .tv_sec = KILL_GRACE_MS / 1000 } };
	timerfd_settime(m->timer_fd, 0, &its, NULL);
}

static void on_ctl_request(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h,
			   const uint8_t *p)
{
	struct husk_err err = { 0 };
	if (m->exited || m->shutting_down) {
		reply_client_error(c, h->id, ESRCH, "container is not running");
		return;
	}
	switch (h->type) {
	case HUSK_MSG_START:
		if (m->started) {
			reply_client_error(c, h->id, EALREADY, "container is not in created state");
			return;
		}
		if (run_hooks(m, HUSK_HOOK_START_CONTAINER, false, &err) < 0) {
			/* the process never ran: the VM goes before start returns */
			log_error("%s", err.msg);
			session_lost(m);
			husk_vm_stop(&m->vm, 0);
			m->qemu_gone = m->shutting_down = true;
			reply_client_error(c, h->id, EIO, err.msg);
			return;
		}
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_PAUSE:
		if (!m->started || m->paused) {
			reply_client_error(c, h->id, EINVAL, m->paused ? "container is already paused"
								     : "container is not running");
			return;
		}
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_RESUME:
		if (!m->paused) {
			reply_client_error(c, h->id, EINVAL, "container is not paused");
			return;
		}
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_UPDATE:
		if (update_too_big(m, c, h, p))
			return;
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_SIGNAL:
		if (m->started)
			arm_kill_deadline(m, h, p);
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_PS:
	case HUSK_MSG_STATS:
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_EVENTS:
		c->subscribed = true;
		reply_client(c, h->id, HUSK_MSG_OK, (const uint8_t *)"\xa0", 1);
		return;
	default:
		reply_client_error(c, h->id, EOPNOTSUPP, "unsupported request");
	}
}

static void on_ctl_client(struct monitor *m, int idx)
{
	struct ctl_client *c = m->clients[idx];
	struct husk_err err = { 0 };
	size_t room;
	uint8_t *dst = husk_frame_reader_space(&c->rd, &room);
	ssize_t n = read(c->fd, dst, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctl_client_drop(m, idx);
		return;
	}
	husk_frame_reader_commit(&c->rd, (size_t)n);
	for (;;) {
		struct husk_frame_hdr h;
		const uint8_t *payload;
		int r = husk_frame_reader_next(&c->rd, &h, &payload, &err);
		if (r < 0) {
			ctl_client_drop(m, idx);
			return;
		}
		if (r == 0)
			return;
		on_ctl_request(m, c, &h, payload);
	}
}

static void on_ctl_listen(struct monitor *m)
{
	int fd = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (m->clients[i])
			continue;
		struct ctl_client *c = calloc(1, sizeof *c);
		if (!c)
			break;
		c->fd = fd;
		husk_frame_reader_init(&c->rd, c->buf, sizeof c->buf, sizeof c->buf - HUSK_FRAME_HDR_SIZE);
		m->clients[i] = c;
		ep_set(m, fd, EPOLLIN, tag_of(TAG_CTL_CLIENT, (unsigned)i), true);
		return;
	}
	close(fd);
}

/* --- signals and children -------------------------------------------- */

static void forward_signal(struct monitor *m, int sig)
{
	uint8_t buf[32];
	struct husk_cbor_enc e;
	if (m->exited || m->vm.session_fd < 0)
		return;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_signal(&e, sig, false);
	session_send(m, HUSK_MSG_SIGNAL, 0, m->next_id++, e.buf, e.len);
}

/* the caller resized the terminal's master: tell the guest's pty */
static void send_resize(struct monitor *m)
{
	struct winsize ws;
	uint8_t buf[32];
	struct husk_cbor_enc e;
	if (ioctl(m->console_slave, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0)
		return;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "rows");
	husk_cbor_put_uint(&e, ws.ws_row);
	husk_cbor_put_text(&e, "cols");
	husk_cbor_put_uint(&e, ws.ws_col);
	session_send(m, HUSK_MSG_RESIZE, 0, m->next_id++, e.buf, e.len);
}

static void note_vm_lost(struct monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_vm_lost(struct monitor *m, const char *fmt, ...)
{
	if (m->vm_lost[0] || m->exited)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->vm_lost, sizeof m->vm_lost, fmt, ap);
	va_end(ap);
}

static void on_signal(struct monitor *m)
{
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			if (m->console_slave >= 0)
				send_resize(m);
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			forward_signal(m, (int)si.ssi_signo);
			continue;
		}
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			if (pid <= 0)
				break;
			if (pid == m->vm.qemu_pid) {
				m->vm.qemu_pid = 0;
				m->qemu_gone = true;
				if (!m->exited) {
					char why[HUSK_CHILD_REASON_MAX];
					husk_vm_child_reason(&m->vm, "qemu", why, sizeof why);
					int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
					log_error("qemu exited before the container did (status %d)%s", code, why);
					note_vm_lost(m, "qemu exited (status %d)%s", code, why);
				}
			} else if (pid == m->vm.virtiofsd_pid) {
				m->vm.virtiofsd_pid = 0;
				if (!m->shutting_down && !m->qemu_gone) {
					/* the container's files are gone: it cannot go on */
					char why[HUSK_CHILD_REASON_MAX];
					husk_vm_child_reason(&m->vm, "virtiofsd", why, sizeof why);
					log_error("virtiofsd exited unexpectedly; stopping the VM%s", why);
					note_vm_lost(m, "virtiofsd exited%s", why);
					m->shutting_down = true;
					if (m->vm.qemu_pid > 0)
						kill(m->vm.qemu_pid, SIGKILL);
				}
			} else if (pid == m->vm.vsock.backend_pid) {
				m->vm.vsock.backend_pid = 0;
			}
		}
	}
}

/* --- set-up and the loop ----------------------------------------------- */

static int listen_ctl(struct monitor *m, struct husk_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/ctl.sock", m->a->state_dir);
	m->ctl_fd = husk_unix_listen(path, 16, err);
	if (m->ctl_fd < 0)
		return m->ctl_fd;
	return fcntl(m->ctl_fd, F_SETFL, O_NONBLOCK) < 0 ? husk_err_sys(err, errno, "O_NONBLOCK") : 0;
}

static int setup_loop(struct monitor *m, struct husk_err *err)
{
	sigset_t set;
	sigfillset(&set);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGABRT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	sigdelset(&set, SIGTTIN);
	sigdelset(&set, SIGTTOU);
	sigdelset(&set, SIGTSTP);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->sigfd < 0 || m->epfd < 0 || m->timer_fd < 0)
		return husk_err_sys(err, errno, "setting up the event loop");
	ep_set(m, m->sigfd, EPOLLIN, tag_of(TAG_SIGNAL, 0), true);
	ep_set(m, m->timer_fd, EPOLLIN, tag_of(TAG_TIMER, 0), true);
	return 0;
}

/* what the guest sent has been written (or its reader went away) */
static bool output_written(const struct monitor *m)
{
	for (int s = 1; s <= 2; s++)
		if (m->out[s].fd >= 0 && m->out[s].q.len > 0)
			return false;
	return true;
}

static bool loop_done(const struct monitor *m)
{
	bool vm_done = m->qemu_gone || m->vm.qemu_pid == 0;
	bool out_done = m->out[1].fd < 0 && m->out[2].fd < 0;
	/* with the session gone nothing more can arrive: what did still goes
	 * to a slow reader before the monitor ends */
	bool gone_and_written = m->session_gone && output_written(m);
	if (m->exec_mode)
		return gone_and_written || (m->exited && out_done);
	if (!vm_done && !m->session_gone)
		return false;
	return out_done || gone_and_written;
}

static void run_loop(struct monitor *m)
{
	struct epoll_event evs[16];
	while (!loop_done(m)) {
		/* a file as stdin cannot be polled: read it whenever the window allows */
		bool poll_stdin = m->in.unpollable && stdin_window_open(m);
		int n = epoll_wait(m->epfd, evs, 16, poll_stdin ? 0 : -1);
		if (poll_stdin)
			on_stdin(m);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			enum tag_kind k = (enum tag_kind)(evs[i].data.u64 >> 32);
			unsigned idx = (unsigned)(evs[i].data.u64 & 0xffffffffu);
			switch (k) {
			case TAG_SESSION:
				on_session(m, evs[i].events);
				break;
			case TAG_SIGNAL:
				on_signal(m);
				break;
			case TAG_CTL_LISTEN:
				on_ctl_listen(m);
				break;
			case TAG_CTL_CLIENT:
				if (idx < CTL_CLIENTS_MAX && m->clients[idx])
					on_ctl_client(m, (int)idx);
				break;
			case TAG_STDIN:
				if (m->in.fd >= 0)
					on_stdin(m);
				break;
			case TAG_STDOUT:
				on_out_writable(m, 1);
				break;
			case TAG_STDERR:
				on_out_writable(m, 2);
				break;
			case TAG_TIMER: {
				uint64_t ticks;
				if (read(m->timer_fd, &ticks, sizeof ticks) < 0)
					break;
				if (!m->exited && m->kill_deadline) {
					log_warn("the guest did not end the container within %d s of SIGKILL; killing the VM",
						 KILL_GRACE_MS / 1000);
					m->exited = true;
					m->exit_status = 128 + SIGKILL;
					m->shutting_down = true;
					settle_pending(m);
				} else {
					log_warn("the VM did not power off in time; killing qemu");
				}
				if (m->vm.qemu_pid > 0)
					kill(m->vm.qemu_pid, SIGKILL);
				break;
			}
			}
		}
		if (m->session_gone && !m->shutting_down && !m->exec_mode) {
			if (!m->exited) {
				log_error("the guest session ended before the container exited");
				note_vm_lost(m, "the guest session ended");
			}
			m->shutting_down = true;
			if (m->vm.qemu_pid > 0)
				kill(m->vm.qemu_pid, SIGKILL);
		}
	}
}

static void report_ready(int fd, const char *msg)
{
	if (fd < 0)
		return;
	ssize_t w = write(fd, msg, strlen(msg));
	(void)w;
	close(fd);
}

static bool fd_is_dev_null(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return true; /* closed */
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* The terminal for --console-socket: a host pty whose slave becomes our
 * controlling terminal, so resizes of the caller's master reach us. */
static int terminal_setup(struct monitor *m, const struct husk_process_spec *p, const char *console_socket,
			  int *master, struct husk_err *err)
{
	*master = -1;
	if (!p->terminal || !console_socket) {
		/* only the CLI, not the monitor, takes terminal signals (it forwards them) */
		setpgid(0, 0);
		return 0;
	}
	int r = husk_console_open(master, &m->console_slave, p->rows, p->cols, err);
	if (r == 0)
		r = husk_console_adopt(m->console_slave, err);
	if (r < 0)
		return r;
	/* the terminal is the process's stdio: let go of the caller's fds.
	 * containerd's shim reads create's and exec's output until EOF, so a
	 * monitor holding them would hang it (runc's init holds only the pty) */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
		close(null);
	}
	return 0;
}

/* Hands the master to the caller and points the relay at our end. */
static int attach_stdio(struct monitor *m, const char *console_socket, int master, bool stdin_open,
			struct husk_err *err)
{
	m->rbuf = malloc(HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX);
	if (!m->rbuf)
		return husk_err_set(err, ENOMEM, "out of memory");
	husk_frame_reader_init(&m->rd, m->rbuf, HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX, HUSK_FRAME_MAX);
	fcntl(m->vm.session_fd, F_SETFL, O_NONBLOCK);
	if (m->console_slave >= 0) {
		int r = husk_console_send(console_socket, master, err);
		close(master);
		if (r < 0)
			return r;
		relay_out_open(&m->out[1], m->console_slave);
		relay_in_open(&m->in, m->console_slave);
		m->out[2].fd = -1;
	} else {
		relay_out_open(&m->out[1], 1);
		relay_out_open(&m->out[2], 2);
		if (stdin_open)
			relay_in_open(&m->in, 0);
	}
	return 0;
}

static void watch_session_and_stdio(struct monitor *m)
{
	ep_set(m, m->vm.session_fd, EPOLLIN, tag_of(TAG_SESSION, 0), true);
	if (m->in.fd >= 0 && ep_set(m, m->in.fd, 0, tag_of(TAG_STDIN, 0), true) == -EPERM)
		m->in.unpollable = true;
	/* an exec's process already runs: its stdin flows now (an open pipe or
	 * terminal would otherwise only be read once it hangs up) */
	stdin_interest(m);
	for (int s = 1; s <= 2; s++)
		if (m->out[s].fd >= 0 &&
		    ep_set(m, m->out[s].fd, 0, tag_of(s == 1 ? TAG_STDOUT : TAG_STDERR, 0), true) == -EPERM)
			m->out[s].unpollable = true;
}

static struct monitor *monitor_init(const char *id, const char *state_dir, bool log_to_caller_file,
				    const char *log_name)
{
	static struct monitor mon;
	struct monitor *m = &mon;
	memset(m, 0, sizeof *m);
	m->next_id = 2;
	m->ctl_fd = m->in.fd = m->out[1].fd = m->out[2].fd = m->console_slave = -1;
	m->vm.session_fd = -1;
	if (!log_to_caller_file) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", state_dir, log_name);
		husk_log_to_file(path);
	}
	husk_log_set_id(id);
	return m;
}

static int fail_ready(int ready_fd, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 2];
	snprintf(msg, sizeof msg, "E%s", err->msg);
	report_ready(ready_fd, msg);
	return 1;
}

/* A create that failed once the hooks are known: as runc (which destroys
 * the container), the poststop hooks run, with the state "stopped"; their
 * failures only warn. The VM is already stopped. */
/* the monitor is in its VM's io group: back to the parent, so the group
 * can go */
static void leave_io_cgroup(const char *path)
{
	char procs[PATH_MAX + 32], pid[32];
	const char *base = path ? strrchr(path, '/') : NULL;
	if (!base)
		return;
	snprintf(procs, sizeof procs, "%.*s/cgroup.procs", (int)(base - path), path);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, pid, strlen(pid)) < 0)
			log_debug("leaving %s: %s", path, strerror(errno));
		close(fd);
	}
}

static int fail_create(struct monitor *m, const struct husk_err *err)
{
	struct husk_err herr = { 0 };
	char stats_list[PATH_MAX];
	snprintf(stats_list, sizeof stats_list, "%s/host-cgroups", m->a->state_dir);
	husk_stats_cgroups_remove(stats_list, true);
	leave_io_cgroup(m->st.io_cgroup);
	husk_io_cgroup_remove(m->st.io_cgroup);
	snprintf(m->st.status, sizeof m->st.status, "stopped");
	run_hooks(m, HUSK_HOOK_POSTSTOP, true, &herr);
	return fail_ready(m->a->ready_fd, err);
}

int husk_monitor_run(const struct husk_monitor_args *a)
{
	struct husk_err err = { 0 };
	int master = -1;

	prctl(PR_SET_NAME, "husk-monitor");
	struct monitor *m = monitor_init(a->id, a->state_dir, a->log_to_caller_file, "monitor.log");
	m->a = a;
	/* state: creating, from the first moment, so that `state` answers and
	 * `delete --force` finds this monitor to kill if the caller dies now */
	snprintf(m->st.id, sizeof m->st.id, "%s", a->id);
	snprintf(m->st.bundle, sizeof m->st.bundle, "%s", a->spec->bundle);
	snprintf(m->st.rootfs, sizeof m->st.rootfs, "%s", a->spec->rootfs);
	snprintf(m->st.status, sizeof m->st.status, "creating");
	husk_time_now(m->st.created, sizeof m->st.created);
	husk_pid_ref_set(&m->st.monitor, getpid());
	if (husk_state_write(a->state_dir, &m->st, &err) < 0)
		return fail_ready(a->ready_fd, &err);
	if (husk_hooks_parse(a->spec->json, &m->hooks, &err) < 0)
		return fail_ready(a->ready_fd, &err);
	m->hooks.cwd = a->spec->bundle;
	/* hooks run in the host's mount namespace, not the private one below */
	husk_hooks_set_mntns(open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
	if (terminal_setup(m, &a->spec->process, a->console_socket, &master, &err) < 0)
		return fail_create(m, &err);
	bool stdin_open = m->console_slave >= 0 || !fd_is_dev_null(0);
	char vfs_dir[PATH_MAX];
	/* a mount namespace of the monitor's own, with what virtiofsd serves */
	if (husk_vfs_stage(a, vfs_dir, sizeof vfs_dir, &err) < 0)
		return fail_create(m, &err);
	/* host cgroups of the VM's own, so that the engines' metrics (read
	 * from the monitor's cgroups) are the VM's usage */
	char stats_list[PATH_MAX];
	snprintf(stats_list, sizeof stats_list, "%s/host-cgroups", a->state_dir);
	struct husk_err cgerr = { 0 };
	if (husk_stats_cgroups_join(a->id, stats_list, &cgerr) < 0)
		log_warn("metrics will not be the VM's own: %s", cgerr.msg);
	if (setup_loop(m, &err) < 0 || listen_ctl(m, &err) < 0 || husk_vm_boot(&m->vm, a, stdin_open, &err) < 0)
		return fail_create(m, &err);
	if (attach_stdio(m, a->console_socket, master, stdin_open, &err) < 0) {
		husk_vm_stop(&m->vm, 0);
		return fail_create(m, &err);
	}

	/* state: created, with the monitor as the container's pid */
	snprintf(m->st.status, sizeof m->st.status, "created");
	husk_pid_ref_set(&m->st.qemu, m->vm.qemu_pid);
	husk_pid_ref_set(&m->st.virtiofsd, m->vm.virtiofsd_pid);
	husk_pid_ref_set(&m->st.vsock_backend, m->vm.vsock.backend_pid);
	husk_vsock_describe(&m->vm.vsock, &m->st.vsock);
	m->st.guest_pid = m->vm.guest_pid;
	/* the monitor too: on cgroup v2 hosts this group is what the shim reads */
	pid_t io_pids[] = { getpid(), m->vm.qemu_pid, m->vm.virtiofsd_pid };
	struct husk_err ioerr = { 0 };
	if (husk_io_cgroup_create(a->id, io_pids, 3, m->st.io_cgroup, sizeof m->st.io_cgroup, &ioerr) < 0)
		log_warn("no host cgroup for block-IO weight: %s", ioerr.msg);
	json_t *block_io = json_object_get(json_object_get(json_object_get(a->spec->json, "linux"), "resources"),
					   "blockIO");
	if (husk_io_cgroup_apply_spec(m->st.io_cgroup, block_io, &ioerr) < 0) {
		if (ioerr.code != EOPNOTSUPP) {
			husk_vm_stop(&m->vm, 0);
			return fail_create(m, &ioerr);
		}
		/* the host cannot weigh or throttle the VM's I/O: say so, run anyway */
		log_warn("%s", ioerr.msg);
	}
	json_t *ann = json_object_get(a->spec->json, "annotations");
	if (json_is_object(ann))
		m->st.annotations = json_incref(ann);
	if (husk_state_write(a->state_dir, &m->st, &err) < 0) {
		husk_vm_stop(&m->vm, 0);
		return fail_create(m, &err);
	}
	/* created, the process parked in the guest: the runtime's hooks */
	if (run_hooks(m, HUSK_HOOK_PRESTART, false, &err) < 0 || run_hooks(m, HUSK_HOOK_CREATE_RUNTIME, false, &err) < 0 ||
	    run_hooks(m, HUSK_HOOK_CREATE_CONTAINER, false, &err) < 0) {
		husk_vm_stop(&m->vm, 0);
		return fail_create(m, &err);
	}
	if (husk_monitor_confine(&err) < 0) {
		husk_vm_stop(&m->vm, 0);
		return fail_create(m, &err);
	}
	ep_set(m, m->ctl_fd, EPOLLIN, tag_of(TAG_CTL_LISTEN, 0), true);
	watch_session_and_stdio(m);
	log_info("created: kernel %s, guest pid %d", m->vm.kernel_release, m->vm.guest_pid);
	report_ready(a->ready_fd, "OK");

	run_loop(m);

	/* one line for every path: which of QEMU's exit, virtiofsd's exit or
	 * the session's end the monitor sees first depends on timing */
	if (!m->exited && m->vm_lost[0])
		log_error("the VM stopped before the container exited: %s", m->vm_lost);
	husk_vm_stop(&m->vm, SHUTDOWN_GRACE_MS);
	leave_io_cgroup(m->st.io_cgroup);
	husk_io_cgroup_remove(m->st.io_cgroup);
	husk_stats_cgroups_remove(stats_list, true);
	int status = m->exited ? m->exit_status : 255;
	m->st.exited = true;
	m->st.exit_status = status;
	snprintf(m->st.status, sizeof m->st.status, "stopped");
	write_state(m);
	char sock[PATH_MAX];
	snprintf(sock, sizeof sock, "%s/ctl.sock", a->state_dir);
	unlink(sock);
	log_info("stopped with status %d", status);
	return status;
}

int husk_exec_monitor_run(const struct husk_exec_monitor_args *a)
{
	struct husk_err err = { 0 };
	int master = -1;
	char log_name[64];

	prctl(PR_SET_NAME, "husk-exec");
	snprintf(log_name, sizeof log_name, "exec.%d.log", (int)getpid());
	struct monitor *m = monitor_init(a->id, a->state_dir, a->log_to_caller_file, log_name);
	m->exec_mode = true;
	m->started = true; /* stdin flows as soon as the process runs */
	if (terminal_setup(m, a->process, a->console_socket, &master, &err) < 0)
		return fail_ready(a->ready_fd, &err);
	bool stdin_open = m->console_slave >= 0 || !fd_is_dev_null(0);
	if (setup_loop(m, &err) < 0 || husk_monitor_confine(&err) < 0)
		return fail_ready(a->ready_fd, &err);
	m->vm.session_fd = husk_vsock_connect(a->vsock, HUSK_GUEST_PORT, 10000, &err);
	if (m->vm.session_fd < 0)
		return fail_ready(a->ready_fd, &err);
	int guest_pid = husk_guest_exec(m->vm.session_fd, a->process, stdin_open, &err);
	if (guest_pid < 0)
		return fail_ready(a->ready_fd, &err);
	if (attach_stdio(m, a->console_socket, master, stdin_open, &err) < 0)
		return fail_ready(a->ready_fd, &err);
	watch_session_and_stdio(m);
	log_debug("exec: guest pid %d", guest_pid);
	report_ready(a->ready_fd, "OK");

	run_loop(m);

	int status = m->exited ? m->exit_status : 255;
	if (!m->exited)
		log_error("the exec session ended before the process exited");
	if (!a->log_to_caller_file) {
		/* keep the state dir tidy: an exec's log matters only when it failed */
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", a->state_dir, log_name);
		if (m->exited)
			unlink(path);
	}
	return status;
}
