/* The sd_notify relay: a datagram per NOTIFY frame to the host socket. */
#include "host/monitor/monitor_notify.h"

#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/cleanup.h"
#include "proto/msg_notify.h"
#include "host/monitor/monitor_priv.h"
#include "host/state/log.h"

static bool has_prefix(const char *line, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && !memcmp(line, prefix, p);
}

static bool dropped_line(const char *line, size_t n)
{
	static const char *const prefixes[] = { "MAINPID=", "FDSTORE=", "FDSTOREREMOVE=",
						"FDNAME=",  "FDPOLL=",  "BARRIER=" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (has_prefix(line, n, prefixes[i]))
			return true;
	return false;
}

static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + (*len ? 1 : 0) + n >= cap)
		return;
	if (*len)
		out[(*len)++] = '\n';
	memcpy(out + *len, s, n);
	*len += n;
}

size_t husk_notify_rewrite(const char *in, pid_t mainpid, char *out, size_t cap)
{
	size_t len = 0;
	if (!cap)
		return 0;
	for (const char *line = in; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n && !dropped_line(line, n)) {
			put(out, cap, &len, line, n);
			if (n == 7 && !memcmp(line, "READY=1", 7)) {
				char pid[32];
				int k = snprintf(pid, sizeof pid, "MAINPID=%d", (int)mainpid);
				put(out, cap, &len, pid, (size_t)k);
			}
		}
		line += n + (end ? 1 : 0);
	}
	out[len] = '\0';
	return len;
}

int mon_notify_open(struct mon_notify *n, const char *host, struct husk_err *err)
{
	memset(n, 0, sizeof *n);
	n->fd = n->dir_fd = -1;
	n->addr.sun_family = AF_UNIX;
	size_t len = strlen(host);
	if (host[0] == '@') {
		/* the abstract namespace: a leading NUL, no terminating one */
		if (len > sizeof n->addr.sun_path)
			return husk_err_set(err, ENAMETOOLONG, "NOTIFY_SOCKET %s is too long", host);
		memcpy(n->addr.sun_path + 1, host + 1, len - 1);
		n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	} else if (len < sizeof n->addr.sun_path) {
		memcpy(n->addr.sun_path, host, len + 1);
		n->addr_len = (socklen_t)sizeof n->addr;
	} else {
		/* conmon's trick for long paths: through the directory's fd */
		char dir[PATH_MAX], base[PATH_MAX];
		snprintf(dir, sizeof dir, "%s", host);
		snprintf(base, sizeof base, "%s", host);
		n->dir_fd = open(dirname(dir), O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (n->dir_fd < 0)
			return husk_err_sys(err, errno, "the directory of NOTIFY_SOCKET %s", host);
		const char *b = basename(base);
		if (snprintf(n->addr.sun_path, sizeof n->addr.sun_path, "/proc/self/fd/%d/%s", n->dir_fd, b) >=
		    (int)sizeof n->addr.sun_path) {
			mon_notify_close(n);
			return husk_err_set(err, ENAMETOOLONG, "NOTIFY_SOCKET %s: its name is too long", host);
		}
		n->addr_len = (socklen_t)sizeof n->addr;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		int e = errno;
		mon_notify_close(n);
		return husk_err_sys(err, e, "a socket for NOTIFY_SOCKET");
	}
	n->on = true;
	return 0;
}

void mon_notify_close(struct mon_notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	if (n->dir_fd >= 0)
		close(n->dir_fd);
	n->fd = n->dir_fd = -1;
	n->on = false;
}

/* true when one more datagram may go in this second */
static bool rate_ok(struct mon_notify *n)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != n->window.tv_sec) {
		if (n->dropped)
			log_warn("sd_notify: dropped %u notifications over the limit of %u a second", n->dropped,
				 MON_NOTIFY_RATE);
		n->window = now;
		n->sent = n->dropped = 0;
		n->failed = false;
	}
	if (n->sent >= MON_NOTIFY_RATE) {
		n->dropped++;
		return false;
	}
	n->sent++;
	return true;
}

int mon_notify_frame(struct monitor *m, const struct husk_cbor_item *root, struct husk_err *err)
{
	struct mon_notify *n = &m->notify;
	uint8_t abuf[HUSK_NOTIFY_MAX + 64];
	struct husk_arena a;
	struct husk_notify_msg msg;
	char out[HUSK_NOTIFY_MAX + 64];

	if (m->exec_mode || !n->on)
		return husk_err_set(err, EPROTO, "a NOTIFY frame on a session without a notify socket");
	husk_arena_init(&a, abuf, sizeof abuf);
	int r = husk_msg_decode_notify(root, &a, &msg, err);
	if (r < 0)
		return r;
	if (!rate_ok(n))
		return 0;
	size_t len = husk_notify_rewrite(msg.message, getpid(), out, sizeof out);
	if (!len)
		return 0;
	if (sendto(n->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&n->addr, n->addr_len) < 0) {
		if (!n->failed)
			log_warn("sd_notify: relaying a notification to NOTIFY_SOCKET: %s", strerror(errno));
		n->failed = true;
		return 0;
	}
	log_debug("sd_notify: relayed a notification of %zu bytes", len);
	return 0;
}
