#include "host/monitor/ctl.h"
#include "host/state/state.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/escape.h"
#include "proto/msg.h"
#include "proto/msg_network.h"
#include "proto/msg_session.h"
#include "host/net/net.h"

int husk_frame_write_all(int fd, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *payload, size_t len,
			 struct husk_err *err)
{
	uint8_t hdr[HUSK_FRAME_HDR_SIZE];
	husk_frame_finish(hdr, type, flags, id, len);
	const uint8_t *parts[2] = { hdr, payload };
	size_t lens[2] = { sizeof hdr, len };
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK)
				n = write(fd, parts[i] + off, lens[i] - off);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN) {
					struct pollfd p = { .fd = fd, .events = POLLOUT };
					poll(&p, 1, 1000);
					continue;
				}
				return husk_err_sys(err, errno, "sending %s", husk_msg_type_name(type));
			}
			off += (size_t)n;
		}
	}
	return 0;
}

int husk_frame_read_one(int fd, uint8_t *buf, size_t cap, int timeout_ms, struct husk_frame_hdr *h,
			const uint8_t **payload, struct husk_err *err)
{
	struct husk_frame_reader rd;
	long deadline = husk_now_ms() + timeout_ms;
	husk_frame_reader_init(&rd, buf, cap, (uint32_t)(cap - HUSK_FRAME_HDR_SIZE));
	for (;;) {
		int r = husk_frame_reader_next(&rd, h, payload, err);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
		long left = deadline - husk_now_ms();
		if (left <= 0)
			return husk_err_set(err, ETIMEDOUT, "no reply within %d ms", timeout_ms);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno != EINTR)
			return husk_err_sys(err, errno, "poll");
		if (pr <= 0)
			continue;
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&rd, &room);
		/* never past this frame: what follows it (an exec's output and
		 * EXIT right behind its reply) belongs to whoever reads the
		 * stream next */
		size_t want = HUSK_FRAME_HDR_SIZE - rd.len;
		if (rd.len >= HUSK_FRAME_HDR_SIZE) {
			struct husk_frame_hdr next;
			husk_frame_hdr_unpack(rd.buf, &next);
			want = HUSK_FRAME_HDR_SIZE + (size_t)next.len - rd.len;
		}
		ssize_t n = read(fd, dst, want < room ? want : room);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return husk_err_sys(err, errno, "reading a reply");
		}
		if (n == 0)
			return husk_err_set(err, ECONNRESET, "the peer closed the connection");
		husk_frame_reader_commit(&rd, (size_t)n);
	}
}

int husk_error_reply(const uint8_t *payload, size_t len, struct husk_err *err)
{
	static uint8_t arena_buf[256 * 1024];
	struct husk_arena a;
	const struct husk_cbor_item *root;
	struct husk_error_msg m;
	struct husk_err perr = { 0 };
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(payload, len, &a, &root, &perr) < 0 || husk_msg_decode_error(root, &a, &m, &perr) < 0)
		return husk_err_set(err, EPROTO, "malformed error reply: %s", perr.msg);
	/* the message may come from the guest: never raw onto a terminal */
	char msg[HUSK_ERR_MSG_MAX];
	husk_escape_str(msg, sizeof msg, m.message, 0);
	return husk_err_set(err, m.code, "%s", msg);
}

int husk_ctl_call(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms,
		  struct husk_err *err)
{
	return husk_ctl_call_reply(dir, type, payload, len, timeout_ms, NULL, NULL, err);
}

static int ctl_call(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms,
		    uint8_t **reply_out, size_t *reply_len, int *conn, struct husk_err *err)
{
	struct sockaddr_un addr;
	if (husk_state_sock_addr(&addr, dir, "ctl.sock", err) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_err_sys(err, errno, "connecting to the container monitor");
	int r = husk_frame_write_all(fd, type, 0, 1, payload, len, err);
	if (r < 0)
		return r;
	_cleanup_free_ uint8_t *buf = malloc(HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX);
	if (!buf)
		return husk_err_set(err, ENOMEM, "out of memory");
	struct husk_frame_hdr h;
	const uint8_t *reply;
	r = husk_frame_read_one(fd, buf, HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX, timeout_ms, &h, &reply, err);
	if (r < 0)
		return husk_err_wrap(err, "waiting for the container monitor");
	if (h.type == HUSK_MSG_ERROR)
		return husk_error_reply(reply, h.len, err);
	if (h.type != HUSK_MSG_OK)
		return husk_err_set(err, EPROTO, "unexpected %s reply from the monitor", husk_msg_type_name(h.type));
	if (reply_out) {
		*reply_out = malloc(h.len ? h.len : 1);
		if (!*reply_out)
			return husk_err_set(err, ENOMEM, "out of memory");
		memcpy(*reply_out, reply, h.len);
		*reply_len = h.len;
	}
	if (conn) {
		*conn = fd;
		fd = -1;
	}
	return 0;
}

int husk_ctl_call_reply(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms,
			uint8_t **reply_out, size_t *reply_len, struct husk_err *err)
{
	return ctl_call(dir, type, payload, len, timeout_ms, reply_out, reply_len, NULL, err);
}

int husk_ctl_call_keep(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms, int *conn,
		       struct husk_err *err)
{
	return ctl_call(dir, type, payload, len, timeout_ms, NULL, NULL, conn, err);
}

int husk_ctl_signal(const char *dir, int sig, bool all, struct husk_err *err)
{
	uint8_t buf[64];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_signal(&e, sig, all);
	return husk_ctl_call(dir, HUSK_MSG_SIGNAL, e.buf, e.len, 10000, err);
}

int husk_ctl_start(const char *dir, struct husk_err *err)
{
	/* interfaces that appeared in the container's netns since create ride
	 * along, for the guest to configure before the process runs */
	_cleanup_free_ struct husk_network *added = malloc(sizeof *added);
	_cleanup_free_ uint8_t *buf = malloc(HUSK_FRAME_MAX);
	struct husk_cbor_enc e;
	if (!added || !buf)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = husk_net_start_body(dir, added, err);
	if (r < 0)
		return r;
	husk_cbor_enc_init(&e, buf, HUSK_FRAME_MAX);
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .added = added });
	if (husk_cbor_enc_finish(&e, err) < 0)
		return -ENOSPC;
	return husk_ctl_call(dir, HUSK_MSG_START, e.buf, e.len, 30000, err);
}
