/* ctl.sock: the verbs' requests (start, kill, pause, ps, update, ...),
 * checked against the container's status, answered here or forwarded to
 * the guest and remembered in the pending table until its reply. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/arena.h"
#include "proto/msg.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "host/monitor/ctl.h"
#include "host/monitor/monitor_priv.h"
#include "host/spec/spec.h"
#include "host/state/log.h"
#include "host/state/unixsock.h"

static void reply_client(struct ctl_client *c, uint32_t id, uint16_t type, const uint8_t *p, size_t n)
{
	struct husk_err err = { 0 };
	if (c && husk_frame_write_all(c->w.fd, type, HUSK_FLAG_REPLY, id, p, n, &err) < 0)
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

/* OK {} */
static void reply_client_ok(struct ctl_client *c, uint32_t id)
{
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_empty(&e);
	reply_client(c, id, HUSK_MSG_OK, e.buf, e.len);
}

void mon_ctl_notify(struct monitor *m, uint16_t type, const uint8_t *p, size_t n)
{
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (m->clients[i] && m->clients[i]->w.fd >= 0 && m->clients[i]->subscribed)
			reply_client(m->clients[i], 0, type, p, n);
}

/* Requests the guest will never answer now: a SIGKILL the host enforced
 * succeeded; anything else failed with the session. */
void mon_ctl_settle_pending(struct monitor *m)
{
	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &m->pending[i];
		if (p->type == 0)
			continue;
		if (p->type == HUSK_MSG_SIGNAL && m->kill_deadline && mon_exited(m))
			reply_client_ok(p->client, p->client_id);
		else
			reply_client_error(p->client, p->client_id, EIO, "the guest session ended");
		memset(p, 0, sizeof *p);
	}
}

/* The reply's body as the request's answer must be: PS's process list,
 * STATS's statistics, an ERROR's code and message, else a map. */
static int check_reply(uint16_t request, const struct husk_frame_hdr *h, const uint8_t *payload, struct husk_err *err)
{
	static uint8_t arena_buf[8u << 20]; /* as much as `husk ps` decodes it in */
	struct husk_arena a;
	const struct husk_cbor_item *root;
	struct husk_error_msg em;
	struct husk_ps_reply_msg ps;
	struct husk_stats_msg st;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	int r = husk_msg_parse(payload, h->len, &a, &root, err);
	if (r < 0)
		return r;
	if (h->type == HUSK_MSG_ERROR)
		return husk_msg_decode_error(root, &a, &em, err);
	if (request == HUSK_MSG_PS)
		return husk_msg_decode_ps_reply(root, &a, &ps, err);
	if (request == HUSK_MSG_STATS)
		return husk_msg_decode_stats(root, &a, &st, err);
	return husk_msg_decode_empty(root, err);
}

int mon_ctl_on_guest_reply(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload,
			   struct husk_err *err)
{
	/* ids are the monitor's, counted up from 2: one not given out yet */
	if (h->id >= m->next_id || h->id < 2)
		return husk_err_set(err, EPROTO, "a reply to request %u, which was never sent", h->id);
	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &m->pending[i];
		if (p->guest_id != h->id || p->type == 0)
			continue;
		if (check_reply(p->type, h, payload, err) < 0) {
			char msg[HUSK_ERR_MSG_MAX];
			husk_err_wrap(err, "the guest's reply to %s", husk_msg_type_name(p->type));
			snprintf(msg, sizeof msg, "%s", err->msg);
			reply_client_error(p->client, p->client_id, EPROTO, msg);
			memset(p, 0, sizeof *p);
			return -EPROTO;
		}
		if (h->type == HUSK_MSG_OK &&
		    (p->type == HUSK_MSG_START || p->type == HUSK_MSG_PAUSE || p->type == HUSK_MSG_RESUME))
			mon_request_done(m, p->type);
		reply_client(p->client, p->client_id, h->type, payload, h->len);
		memset(p, 0, sizeof *p);
		return 0;
	}
	/* a reply nobody waits for (SHUTDOWN's, a forwarded signal's, one
	 * already answered): nothing to do */
	return 0;
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
	mon_session_send(m, h->type, 0, id, p, h->len);
}

/* A memory limit or cpuset the VM cannot hold is refused here: the VM does
 * not grow (host/spec/vm_size.c, also a pod member's create). */
static bool update_too_big(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h, const uint8_t *p)
{
	static uint8_t arena_buf[64 * 1024];
	struct husk_arena a;
	struct husk_err err = { 0 };
	const struct husk_cbor_item *root;
	struct husk_update_msg u;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(p, h->len, &a, &root, &err) < 0 || husk_msg_decode_update(root, &a, &u, &err) < 0) {
		reply_client_error(c, h->id, EINVAL, err.msg[0] ? err.msg : "malformed update");
		return true;
	}
	if (husk_resources_fit_vm(&u.resources, m->vm.memory_mib, m->vm.vcpus, &err) < 0) {
		reply_client_error(c, h->id, EINVAL, err.msg);
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
	struct husk_signal_msg sig;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(p, h->len, &a, &root, &err) < 0 || husk_msg_decode_signal(root, &sig, &err) < 0 ||
	    sig.signal != SIGKILL || m->kill_deadline)
		return;
	m->kill_deadline = true;
	struct itimerspec its = { .it_value = { .tv_sec = KILL_GRACE_MS / 1000 } };
	timerfd_settime(m->timer_fd, 0, &its, NULL);
}

/* START: the startContainer hooks first; one that fails means the process
 * never ran, and the VM goes before start returns. */
static void ctl_start(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h, const uint8_t *p)
{
	struct husk_err err = { 0 };
	if (m->status != HUSK_STATUS_CREATED) {
		reply_client_error(c, h->id, EALREADY, "container is not in created state");
		return;
	}
	if (mon_run_hooks(m, HUSK_HOOK_START_CONTAINER, false, &err) < 0) {
		log_error("%s", err.msg);
		mon_session_lost(m);
		husk_vm_stop(&m->vm, 0);
		m->shutting_down = true;
		reply_client_error(c, h->id, EIO, err.msg);
		return;
	}
	ctl_forward(m, c, h, p);
}

static void on_ctl_request(struct monitor *m, struct ctl_client *c, const struct husk_frame_hdr *h, const uint8_t *p)
{
	if (mon_exited(m) || m->shutting_down) {
		reply_client_error(c, h->id, ESRCH, "container not running"); /* runc's words (container.c) */
		return;
	}
	switch (h->type) {
	case HUSK_MSG_START:
		ctl_start(m, c, h, p);
		return;
	case HUSK_MSG_PAUSE:
		if (m->status != HUSK_STATUS_RUNNING) {
			reply_client_error(c, h->id, EINVAL,
					   m->status == HUSK_STATUS_PAUSED ? "container is already paused"
									   : "container is not running");
			return;
		}
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_RESUME:
		if (m->status != HUSK_STATUS_PAUSED) {
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
		if (m->status != HUSK_STATUS_CREATED)
			arm_kill_deadline(m, h, p);
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_PS:
	case HUSK_MSG_STATS:
		ctl_forward(m, c, h, p);
		return;
	case HUSK_MSG_EVENTS:
		c->subscribed = true;
		reply_client_ok(c, h->id);
		return;
	default:
		reply_client_error(c, h->id, EOPNOTSUPP, "unsupported request");
	}
}

/* The client goes; its memory once the loop's round is over. */
static void ctl_client_drop(struct monitor *m, struct ctl_client *c)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (m->pending[i].client == c)
			m->pending[i].client = NULL;
	mon_unwatch(m, &c->w);
	close(c->w.fd);
	c->w.fd = -1;
}

void mon_ctl_sweep(struct monitor *m)
{
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (m->clients[i] && m->clients[i]->w.fd < 0) {
			free(m->clients[i]);
			m->clients[i] = NULL;
		}
}

static void on_ctl_client(struct watch *w, uint32_t events)
{
	struct ctl_client *c = container_of(w, struct ctl_client, w);
	struct monitor *m = c->m;
	struct husk_err err = { 0 };
	size_t room;
	uint8_t *dst = husk_frame_reader_space(&c->rd, &room);
	ssize_t n = read(c->w.fd, dst, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctl_client_drop(m, c);
		return;
	}
	husk_frame_reader_commit(&c->rd, (size_t)n);
	for (;;) {
		struct husk_frame_hdr h;
		const uint8_t *payload;
		int r = husk_frame_reader_next(&c->rd, &h, &payload, &err);
		if (r < 0) {
			ctl_client_drop(m, c);
			return;
		}
		if (r == 0)
			return;
		on_ctl_request(m, c, &h, payload);
	}
}

static void on_ctl_listen(struct watch *w, uint32_t events)
{
	struct monitor *m = container_of(w, struct monitor, ctl_w);
	int fd = accept4(m->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (m->clients[i])
			continue;
		struct ctl_client *c = calloc(1, sizeof *c);
		if (!c)
			break;
		c->w = (struct watch){ .fd = fd, .on_event = on_ctl_client };
		c->m = m;
		husk_frame_reader_init(&c->rd, c->buf, sizeof c->buf, sizeof c->buf - HUSK_FRAME_HDR_SIZE);
		m->clients[i] = c;
		mon_watch(m, &c->w, EPOLLIN, true);
		return;
	}
	close(fd);
}

/* Binds ctl.sock; the loop accepts once the container is created. */
int mon_listen_ctl(struct monitor *m, struct husk_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/ctl.sock", m->a->state_dir);
	m->ctl_fd = husk_unix_listen(path, 16, err);
	if (m->ctl_fd < 0)
		return m->ctl_fd;
	m->ctl_w = (struct watch){ .fd = m->ctl_fd, .on_event = on_ctl_listen };
	return fcntl(m->ctl_fd, F_SETFL, O_NONBLOCK) < 0 ? husk_err_sys(err, errno, "O_NONBLOCK") : 0;
}
