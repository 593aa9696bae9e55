/* Fuzzes the monitor's handling of what the guest sends on the container
 * session (mon_guest_frame(): STDIO, STDIO_CLOSE, STDIN_ACK, OOM, EXIT and
 * the replies, which are checked against the request they answer: PS's
 * process list, STATS's statistics, ERROR) with the real monitor code and
 * no VM. The input is a byte stream cut into frames by the same frame
 * reader the monitor uses; the requests in flight are PS, STATS, PAUSE and
 * RESUME, answered to a ctl client that is a socket pair. Whatever the
 * bytes: no crash, no leak, no read out of bounds; a frame the monitor
 * refuses ends the session, as it does with a VM.
 * An input that starts with MEMBER_TAG is a pod member's monitor
 * (member_mode: a container in a slot of a VM that is the sandbox's): no
 * frame may make it stop the VM (SHUTDOWN), and the input's end is its
 * session's end, EXIT or not: every request in flight is answered. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/frame.h"
#include "proto/proto.h"
#include "host/monitor/monitor_priv.h"
#include "host/state/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct monitor *m;
static struct ctl_client *client;
static int session_peer = -1, client_peer = -1, out_fd = -1;
static uint8_t rbuf[HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX];
/* as a frame header, a length past HUSK_FRAME_MAX: no frame starts so */
static const uint8_t MEMBER_TAG[4] = { 'M', 'E', 'M', 'B' };

static void drain(int fd)
{
	static uint8_t sink[65536];
	while (read(fd, sink, sizeof sink) > 0)
		;
}

static int nonblocking_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	return 0;
}

/* once: a monitor as mon_init() leaves it, an epoll set, the client */
static void setup_once(void)
{
	int sv[2];
	husk_log_to_file("/dev/null");
	m = mon_init("fuzz", "/tmp", true, "fuzz.log");
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	client = calloc(1, sizeof *client);
	if (m->epfd < 0 || out_fd < 0 || !client || nonblocking_pair(sv) < 0)
		abort();
	client->w.fd = sv[0];
	client->m = m;
	client_peer = sv[1];
}

/* per input: a running container with four requests in flight; the fds
 * an input left open are reused (fewer syscalls, more inputs a second) */
static void reset(bool member)
{
	static int session_keep = -1;
	if (session_keep < 0) {
		int sv[2];
		if (nonblocking_pair(sv) < 0)
			abort();
		session_keep = sv[0];
		session_peer = sv[1];
	}
	if (m->vm.session_fd < 0) {
		m->vm.session_fd = m->session_w.fd = fcntl(session_keep, F_DUPFD_CLOEXEC, 3);
		if (m->vm.session_fd < 0)
			abort();
		watch_add(m->epfd, &m->session_w, EPOLLIN);
	}
	byteq_free(&m->to_guest);
	for (int s = 1; s <= 2; s++) {
		if (m->out[s].fd < 0) {
			relay_out_open(&m->out[s], out_fd); /* its own fd, as the monitor opens one */
			m->out[s].unpollable = true;        /* /dev/null, as epoll refuses it */
			m->out_w[s].fd = m->out[s].fd;
		}
		byteq_free(&m->out[s].q);
		m->out[s].eof = false;
	}
	m->member_mode = member;
	m->slot = member ? 3 : 0;
	m->status = m->st.status = HUSK_STATUS_RUNNING;
	m->shutting_down = m->kill_deadline = false;
	m->exit_status = 0;
	m->st.oom_kills = 0;
	m->stdin_unacked = 4096;
	m->next_id = 10;
	memset(m->pending, 0, sizeof m->pending);
	static const uint16_t asked[] = { HUSK_MSG_PS, HUSK_MSG_STATS, HUSK_MSG_PAUSE, HUSK_MSG_RESUME };
	for (uint32_t i = 0; i < sizeof asked / sizeof asked[0]; i++)
		m->pending[i] = (struct pending){
			.guest_id = m->next_id++, .client = client, .client_id = 100 + i, .type = asked[i]
		};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!m)
		setup_once();
	bool member = size >= sizeof MEMBER_TAG && !memcmp(data, MEMBER_TAG, sizeof MEMBER_TAG);
	if (member) {
		data += sizeof MEMBER_TAG;
		size -= sizeof MEMBER_TAG;
	}
	reset(member);
	struct husk_frame_reader rd;
	husk_frame_reader_init(&rd, rbuf, sizeof rbuf, HUSK_FRAME_MAX);
	/* fed in pieces, as reads from a socket come */
	size_t off = 0;
	while (off < size && !mon_session_gone(m)) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&rd, &room);
		size_t n = size - off < room ? size - off : room;
		if (n > 4096)
			n = 4096;
		memcpy(dst, data + off, n);
		husk_frame_reader_commit(&rd, n);
		off += n;
		for (;;) {
			struct husk_frame_hdr h;
			const uint8_t *payload;
			struct husk_err err = { 0 };
			int r = husk_frame_reader_next(&rd, &h, &payload, &err);
			if (r == 0)
				break; /* more bytes needed */
			if (r > 0)
				r = mon_guest_frame(m, &h, payload, &err);
			if (r < 0) {
				/* a refusal is always a one-line reason */
				if (!err.msg[0] || strchr(err.msg, '\n'))
					abort();
				mon_session_lost(m);
			}
			if (mon_session_gone(m))
				break;
		}
	}
	if (member) {
		/* the VM is the sandbox's: a member's EXIT, or anything else,
		 * must not send it SHUTDOWN */
		if (m->shutting_down)
			abort();
		/* the session ends here, EXIT or not (the member then reports
		 * 137 if none came): nothing is left waiting for the guest */
		mon_session_lost(m);
		for (int i = 0; i < PENDING_MAX; i++)
			if (m->pending[i].type)
				abort();
	}
	mon_ctl_settle_pending(m);
	drain(session_peer);
	drain(client_peer);
	return 0;
}
