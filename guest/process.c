/* Processes whose stdio the guest relays to a host session: output pipes to
 * STDIO frames (only while the session's queue has room), STDIO frames to the
 * stdin pipe (bounded by the stdin window, acknowledged as written), and the
 * EXIT event once the process is reaped and its output drained. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "proto/msg_session.h"
#include "guest/guest.h"

static struct proc *procs;

static bool proc_output_done(const struct proc *p)
{
	return p->out_w.fd < 0 && p->err_w.fd < 0;
}

static void proc_maybe_done(struct proc *p)
{
	if (!p->exited || !proc_output_done(p) || p->exit_sent)
		return;
	p->exit_sent = true;
	loop_del(&p->in_w);
	if (p->conn) {
		uint8_t buf[32];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, buf, sizeof buf);
		husk_msg_encode_exit(&e, &(struct husk_exit_msg){ .status = p->status });
		conn_send(p->conn, HUSK_MSG_EXIT, 0, 0, e.buf, e.len);
	}
	GLOG_INFO("process %d exited with status %d", (int)p->pid, p->status);
}

static void send_close(struct proc *p, unsigned stream)
{
	if (!p->conn)
		return;
	uint8_t buf[32];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_stdio_close(&e, &(struct husk_stdio_close_msg){ .stream = stream });
	conn_send(p->conn, HUSK_MSG_STDIO_CLOSE, 0, 0, e.buf, e.len);
}

/* Reads one chunk of output and sends it; closes the stream at EOF. */
static void relay_output(struct proc *p, struct watch *w, unsigned stream)
{
	/* the output is read in place, behind room for the payload's CBOR
	 * head ({"stream": N, "data": bytes}), and sent from there */
	enum { HEAD_ROOM = HUSK_MSG_STDIO_HEAD_MAX };
	static uint8_t payload[HEAD_ROOM + HUSK_STDIO_CHUNK];
	uint8_t *data = payload + HEAD_ROOM;

	if (!p->conn || !conn_has_room(p->conn)) {
		proc_update_interest(p);
		return;
	}
	ssize_t n = read(w->fd, data, HUSK_STDIO_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF, or EIO from a pty master whose slave side is all closed */
		loop_del(w);
		send_close(p, stream);
		proc_maybe_done(p);
		return;
	}
	uint8_t head[HEAD_ROOM];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, head, sizeof head);
	husk_msg_stdio_head(&e, stream, (size_t)n);
	uint8_t *start = data - e.len;
	memcpy(start, head, e.len);
	conn_send(p->conn, HUSK_MSG_STDIO, 0, 0, start, e.len + (size_t)n);
}

static void ack_stdin(struct proc *p, size_t n)
{
	if (!p->conn || n == 0)
		return;
	uint8_t buf[32];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_stdin_ack(&e, &(struct husk_stdin_ack_msg){ .bytes = (uint32_t)n });
	conn_send(p->conn, HUSK_MSG_STDIN_ACK, 0, 0, e.buf, e.len);
}

static void stdin_finish_if_eof(struct proc *p)
{
	if (!p->stdin_eof || byteq_pending(&p->stdin_q))
		return;
	if (p->terminal) {
		/* the pty stays open: an EOF is the terminal's EOF character */
		return;
	}
	loop_del(&p->in_w);
}

static void flush_stdin(struct proc *p)
{
	size_t written = 0;
	while (p->in_w.fd >= 0 && byteq_pending(&p->stdin_q)) {
		ssize_t n = write(p->in_w.fd, byteq_peek(&p->stdin_q), byteq_pending(&p->stdin_q));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* the process closed its stdin: drop what is left */
			written += byteq_pending(&p->stdin_q);
			byteq_consume(&p->stdin_q, byteq_pending(&p->stdin_q));
			loop_del(&p->in_w);
			break;
		}
		byteq_consume(&p->stdin_q, (size_t)n);
		written += (size_t)n;
	}
	ack_stdin(p, written);
	stdin_finish_if_eof(p);
	proc_update_interest(p);
}

void proc_stdin_data(struct proc *p, const uint8_t *data, size_t len)
{
	if (p->in_w.fd < 0 || p->exit_sent) {
		ack_stdin(p, len); /* nobody reads it: keep the host's window open */
		return;
	}
	if (byteq_append(&p->stdin_q, data, len, GUEST_OUTQ_MAX) < 0) {
		GLOG_ERR("stdin queue overflow for process %d", (int)p->pid);
		return;
	}
	flush_stdin(p);
}

void proc_stdin_close(struct proc *p)
{
	p->stdin_eof = true;
	stdin_finish_if_eof(p);
}

void proc_update_interest(struct proc *p)
{
	bool room = p->conn && conn_has_room(p->conn);
	if (p->out_w.fd >= 0)
		loop_set(&p->out_w, room ? EPOLLIN : 0);
	if (p->err_w.fd >= 0)
		loop_set(&p->err_w, room ? EPOLLIN : 0);
	if (p->in_w.fd >= 0)
		loop_set(&p->in_w, byteq_pending(&p->stdin_q) ? EPOLLOUT : 0);
}

static void on_stdout(struct watch *w, uint32_t events)
{
	relay_output(container_of(w, struct proc, out_w), w, 1);
}

static void on_stderr(struct watch *w, uint32_t events)
{
	relay_output(container_of(w, struct proc, err_w), w, 2);
}

static void on_stdin(struct watch *w, uint32_t events)
{
	flush_stdin(container_of(w, struct proc, in_w));
}

void proc_register(struct proc *p)
{
	struct husk_err err = { 0 };
	p->out_w.on_event = on_stdout;
	p->err_w.on_event = on_stderr;
	p->in_w.on_event = on_stdin;
	/* with a terminal, stdin is a dup of the master: written, never polled
	 * for input, so it stays out of the loop unless data is pending */
	if (p->out_w.fd >= 0 && loop_add(&p->out_w, EPOLLIN, &err) < 0)
		GLOG_ERR("%s", err.msg);
	if (p->err_w.fd >= 0 && loop_add(&p->err_w, EPOLLIN, &err) < 0)
		GLOG_ERR("%s", err.msg);
	if (p->in_w.fd >= 0 && loop_add(&p->in_w, 0, &err) < 0)
		GLOG_ERR("%s", err.msg);
	p->next = procs;
	procs = p;
}

void proc_reaped(pid_t pid, int wstatus)
{
	for (struct proc *p = procs; p; p = p->next) {
		if (p->pid != pid || p->exited)
			continue;
		p->exited = true;
		if (WIFEXITED(wstatus))
			p->status = WEXITSTATUS(wstatus);
		else if (WIFSIGNALED(wstatus))
			p->status = 128 + WTERMSIG(wstatus);
		else
			p->status = 255;
		if (p->start_fd >= 0) {
			close(p->start_fd);
			p->start_fd = -1;
		}
		container_init_exited(p); /* slot 0's: the pod's members go first */
		proc_maybe_done(p);
		return;
	}
}

void proc_detach_conn(struct conn *c)
{
	for (struct proc *p = procs; p; p = p->next) {
		if (p->conn != c)
			continue;
		p->conn = NULL;
		/* nobody reads the output any more: drop the relay */
		loop_del(&p->out_w);
		loop_del(&p->err_w);
		loop_del(&p->in_w);
		if (p->exited)
			p->exit_sent = true;
	}
}

void proc_collect(void)
{
	struct proc **pp = &procs;
	while (*pp) {
		struct proc *p = *pp;
		if (!(p->exit_sent && p->conn == NULL) && !p->dead) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		if (p->owner && p->owner->init == p)
			p->owner->init = NULL;
		loop_del(&p->out_w);
		loop_del(&p->err_w);
		loop_del(&p->in_w);
		if (p->start_fd >= 0)
			close(p->start_fd);
		byteq_free(&p->stdin_q);
		free(p);
	}
}

int proc_signal(struct proc *p, const struct gctr *g, int sig, bool all, struct husk_err *err)
{
	static pid_t pids[GUEST_PIDS_MAX];
	if (p->exited)
		return husk_err_set(err, ESRCH, "process %d has already exited", (int)p->pid);
	if (all) {
		/* every process of the container: those in its cgroup tree, not
		 * its pid namespace (containers of a pod may share one) */
		int n = g ? cgroup_pids(g, pids, GUEST_PIDS_MAX) : -ESRCH;
		if (n < 0)
			return husk_err_sys(err, -n, "listing the container's processes");
		for (int i = 0; i < n; i++)
			if (pids[i] > 1)
				kill(pids[i], sig);
		return 0;
	}
	if (kill(p->pid, sig) < 0)
		return husk_err_sys(err, errno, "signal %d to process %d", sig, (int)p->pid);
	return 0;
}

int proc_resize(struct proc *p, uint16_t rows, uint16_t cols, struct husk_err *err)
{
	if (!p->terminal || p->out_w.fd < 0)
		return husk_err_set(err, ENOTTY, "the process has no terminal");
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (ioctl(p->out_w.fd, TIOCSWINSZ, &ws) < 0)
		return husk_err_sys(err, errno, "resizing the terminal");
	return 0;
}
