/* A hostile guest for the host's tests: a PID 1 that speaks just enough of
 * husk's protocol to get to one phase (handshake, create, or a running
 * container), then breaks it the way the kernel command line says
 * (husk.hostile=MODE). The host monitor must log, close that container and
 * stay up; never crash, hang or grow without bound. Test-only: it is packed
 * into its own initramfs (build/tests/hostile-initramfs.cpio.gz) and never
 * installed. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "proto/cbor.h"
#include "proto/frame.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "proto/proto.h"

static char mode[64] = "none";

static void say(const char *fmt, const char *arg)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (fd < 0)
		return;
	dprintf(fd, "hostile-init: ");
	dprintf(fd, fmt, arg);
	dprintf(fd, "\n");
	close(fd);
}

/* PID 1 must not exit: park forever */
static void park(void)
{
	for (;;)
		pause();
}

static void read_mode(void)
{
	char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	const char *p = strstr(buf, "husk.hostile=");
	if (!p)
		return;
	p += strlen("husk.hostile=");
	size_t len = strcspn(p, " \n");
	if (len >= sizeof mode)
		len = sizeof mode - 1;
	memcpy(mode, p, len);
	mode[len] = 0;
}

static bool is(const char *m)
{
	return !strcmp(mode, m);
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		b += w;
		n -= (size_t)w;
	}
}

static void send_frame(int fd, uint16_t type, uint16_t flags, uint32_t id, const void *payload, uint32_t len)
{
	uint8_t hdr[HUSK_FRAME_HDR_SIZE];
	struct husk_frame_hdr h = { .len = len, .type = type, .flags = flags, .id = id };
	husk_frame_hdr_pack(hdr, &h);
	write_all(fd, hdr, sizeof hdr);
	if (len)
		write_all(fd, payload, len);
}

static uint8_t enc_buf[HUSK_STDIO_CHUNK + 1024]; /* a whole STDIO chunk and its head */

static void send_map_uint(int fd, uint16_t type, uint16_t flags, uint32_t id, const char *key, uint64_t v)
{
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, key);
	husk_cbor_put_uint(&e, v);
	send_frame(fd, type, flags, id, e.buf, (uint32_t)e.len);
}

static void send_stdio(int fd, uint64_t stream, size_t n)
{
	static uint8_t data[HUSK_STDIO_CHUNK];
	memset(data, 'x', sizeof data);
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "stream");
	husk_cbor_put_uint(&e, stream);
	husk_cbor_put_text(&e, "data");
	husk_cbor_put_bytes(&e, data, n);
	send_frame(fd, HUSK_MSG_STDIO, 0, 0, e.buf, (uint32_t)e.len);
}

static const uint8_t garbage[] = { 0xff, 0x1f, 0x5b, 0xff, 0xff, 0xff, 0xff };

/* The reply to HELLO, honest or not. */
static void on_hello(int fd, uint32_t id)
{
	struct husk_cbor_enc e;
	if (is("hello-silent"))
		park();
	if (is("hello-oversize")) {
		uint8_t hdr[HUSK_FRAME_HDR_SIZE];
		struct husk_frame_hdr h = {
			.len = HUSK_FRAME_MAX + 1, .type = HUSK_MSG_OK, .flags = HUSK_FLAG_REPLY, .id = id
		};
		husk_frame_hdr_pack(hdr, &h);
		write_all(fd, hdr, sizeof hdr);
		park();
	}
	if (is("hello-truncated")) {
		uint8_t hdr[HUSK_FRAME_HDR_SIZE] = { 0 };
		write_all(fd, hdr, 6);
		close(fd);
		park();
	}
	if (is("hello-garbage")) {
		send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, garbage, sizeof garbage);
		park();
	}
	if (is("hello-unknown-type")) {
		send_map_uint(fd, 0xbeef, HUSK_FLAG_REPLY, id, "version", 1);
		park();
	}
	if (is("hello-stray")) {
		send_map_uint(fd, HUSK_MSG_OK, 0, id + 6, "version", 1);
		park();
	}
	if (is("hello-long-kernel")) {
		static char longname[3000];
		memset(longname, 'k', sizeof longname - 1);
		/* a valid version, so that the kernel release is what the host refuses */
		husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
		husk_cbor_put_map(&e, 2);
		husk_cbor_put_text(&e, "version");
		husk_cbor_put_uint(&e, HUSK_PROTO_VERSION);
		husk_cbor_put_text(&e, "kernel");
		husk_cbor_put_text(&e, longname);
		send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, (uint32_t)e.len);
		park();
	}
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_cbor_put_map(&e, 2);
	husk_cbor_put_text(&e, "version");
	husk_cbor_put_uint(&e, HUSK_PROTO_VERSION);
	husk_cbor_put_text(&e, "kernel");
	husk_cbor_put_text(&e, "hostile");
	send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, (uint32_t)e.len);
}

static void on_create(int fd, uint32_t id)
{
	if (is("create-huge-pid")) {
		send_map_uint(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, "pid", 1ull << 40);
		park();
	}
	if (is("create-big-reply")) {
		static uint8_t big[200 * 1024];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, "pid");
		husk_cbor_put_bytes(&e, big, sizeof big);
		send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, (uint32_t)e.len);
		park();
	}
	send_map_uint(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, "pid", 1);
}

/* Guest-initiated vsock connections to the host, as fast as they go: each
 * to a port nothing listens on, hundreds kept open. A child of PID 1 does
 * it, so that PID 1 keeps answering the host. */
static void vsock_flood(void)
{
	if (fork() != 0)
		return;
	static int open_fds[512];
	for (uint64_t n = 0;; n++) {
		int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0) {
			usleep(1000);
			continue;
		}
		struct sockaddr_vm to = { .svm_family = AF_VSOCK,
					  .svm_cid = VMADDR_CID_HOST,
					  .svm_port = 2000 + (unsigned)(n % 60000) };
		connect(s, (struct sockaddr *)&to, sizeof to);
		size_t slot = n % (sizeof open_fds / sizeof open_fds[0]);
		if (open_fds[slot] > 0)
			close(open_fds[slot]);
		open_fds[slot] = s;
	}
}

/* Guest-initiated connections to host ports nothing listens on: each
 * must be refused (RST: ECONNRESET at once), not left to time out. The
 * console says how each one ended, and how many were refused. */
static void connect_unbound(void)
{
	unsigned refused = 0, tries = 20;
	for (unsigned i = 0; i < tries; i++) {
		int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_vm host = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = 7700 + i };
		int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&host, sizeof host);
		const char *how = r == 0 ? "connected" : strerror(errno);
		if (r < 0 && errno == ECONNRESET)
			refused++;
		if (i == 0)
			say("host port 7700: %s", how);
		if (s >= 0)
			close(s);
	}
	char n[32];
	snprintf(n, sizeof n, "%u/%u", refused, tries);
	say("unbound host ports refused: %s", n);
}

/* After START was acknowledged: the running container misbehaves. */
static void run_phase(int fd)
{
	if (is("run-bad-ps") || is("run-bad-stats") || is("run-reply-reuse"))
		return; /* PID 1 goes on serving: the requests are where it lies */
	if (is("run-vsock-flood")) {
		vsock_flood();
		return; /* PID 1 goes on serving the session */
	}
	if (is("run-oom-storm")) {
		/* OOM reports as fast as they go, the count rising, then falling */
		for (uint64_t n = 1; n <= 200000; n++)
			send_map_uint(fd, HUSK_MSG_OOM, 0, 0, "oom_kills", n);
		for (uint64_t n = 1000; n > 0; n--)
			send_map_uint(fd, HUSK_MSG_OOM, 0, 0, "oom_kills", n);
		return;
	}
	if (is("run-vsock-unbound")) {
		connect_unbound();
		park();
	}
	if (is("run-garbage")) {
		send_frame(fd, HUSK_MSG_STDIO, 0, 0, garbage, sizeof garbage);
	} else if (is("run-bad-stream")) {
		send_stdio(fd, 9, 10);
	} else if (is("run-exit-range")) {
		send_map_uint(fd, HUSK_MSG_EXIT, 0, 0, "status", 70000);
	} else if (is("run-unknown-type")) {
		send_map_uint(fd, 0x7777, 0, 0, "status", 0);
	} else if (is("run-after-exit")) {
		send_stdio(fd, 1, 16);
		send_map_uint(fd, HUSK_MSG_EXIT, 0, 0, "status", 3);
		send_frame(fd, HUSK_MSG_STDIO, 0, 0, garbage, sizeof garbage);
	} else if (is("run-panic")) {
		/* Not yet: a panic right after the START reply's write() can drop
		 * it, and then `start` (rightly) fails. The host's next request
		 * (the test sends a signal) comes after the reply arrived. */
		return;
	} else if (is("run-flood")) {
		/* endless valid frames: stderr output, no-op acks and OOM reports */
		for (uint64_t n = 1;; n++) {
			send_stdio(fd, 2, HUSK_STDIO_CHUNK);
			send_map_uint(fd, HUSK_MSG_STDIN_ACK, 0, 0, "bytes", 0);
			send_map_uint(fd, HUSK_MSG_OOM, 0, 0, "oom_kills", n);
		}
	}
	park();
}

static void send_ps_reply(int fd, uint32_t id)
{
	struct husk_cbor_enc e;
	struct husk_ps_entry p = { .pid = 1, .ppid = 0, .uid = 0, .cmd = "hostile" };
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_ps_reply(&e, &(struct husk_ps_reply_msg){ .procs = &p, .n_procs = 1 });
	send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, (uint32_t)e.len);
}

static void send_stats_reply(int fd, uint32_t id)
{
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_stats(&e, &(struct husk_stats_msg){ .memory_limit = -1, .pids_limit = -1 });
	send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, id, e.buf, (uint32_t)e.len);
}

/* PS and STATS answered wrongly; true when the mode handled the request */
static bool bad_reply(int fd, const struct husk_frame_hdr *h)
{
	static uint32_t held_ps;
	if (h->type == HUSK_MSG_PS && is("run-bad-ps")) {
		/* a process list whose entry has a pid out of range */
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, "processes");
		husk_cbor_put_array(&e, 1);
		husk_cbor_put_map(&e, 4);
		husk_cbor_put_text(&e, "pid");
		husk_cbor_put_uint(&e, 1ull << 40);
		husk_cbor_put_text(&e, "ppid");
		husk_cbor_put_uint(&e, 0);
		husk_cbor_put_text(&e, "uid");
		husk_cbor_put_uint(&e, 0);
		husk_cbor_put_text(&e, "cmd");
		husk_cbor_put_text(&e, "x");
		send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, h->id, e.buf, (uint32_t)e.len);
		return true;
	}
	if (h->type == HUSK_MSG_STATS && is("run-bad-stats")) {
		send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, h->id, garbage, sizeof garbage);
		return true;
	}
	if (is("run-reply-reuse") && h->type == HUSK_MSG_PS) {
		held_ps = h->id; /* answered when STATS comes, with STATS's reply */
		return true;
	}
	if (is("run-reply-reuse") && h->type == HUSK_MSG_STATS && held_ps) {
		send_stats_reply(fd, held_ps); /* under PS's id */
		send_ps_reply(fd, h->id);
		held_ps = 0;
		return true;
	}
	return false;
}

static void serve(int fd)
{
	static uint8_t rbuf[HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX];
	struct husk_frame_reader rd;
	husk_frame_reader_init(&rd, rbuf, sizeof rbuf, HUSK_FRAME_MAX);
	for (;;) {
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&rd, &room);
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		husk_frame_reader_commit(&rd, (size_t)n);
		struct husk_frame_hdr h;
		const uint8_t *payload;
		struct husk_err err = { 0 };
		int r;
		while ((r = husk_frame_reader_next(&rd, &h, &payload, &err)) > 0) {
			switch (h.type) {
			case HUSK_MSG_HELLO:
				on_hello(fd, h.id);
				break;
			case HUSK_MSG_CREATE:
				on_create(fd, h.id);
				break;
			case HUSK_MSG_START:
				send_map_uint(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, h.id, "pid", 1);
				run_phase(fd);
				break;
			default: /* SHUTDOWN, SIGNAL...: acknowledged, not obeyed */
				if (bad_reply(fd, &h))
					break;
				if (is("run-panic"))
					_exit(0); /* PID 1 exits: the guest kernel panics */
				send_frame(fd, HUSK_MSG_OK, HUSK_FLAG_REPLY, h.id, (const uint8_t *)"\xa0", 1);
				break;
			}
		}
		if (r < 0)
			return;
	}
}

int main(void)
{
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	read_mode();
	say("mode %s", mode);
	int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = HUSK_GUEST_PORT };
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4) < 0) {
		say("vsock: %s", strerror(errno));
		park();
	}
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(fd);
		close(fd);
	}
}
