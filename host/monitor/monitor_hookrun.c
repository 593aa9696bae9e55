/* The hook runner: the monitor confines itself (an allow-list without
 * fork or exec, monitor_confine.c) before it decodes a byte from the
 * guest, but the runtime's hooks (prestart, createRuntime,
 * createContainer, poststart, poststop) are arbitrary host programs that
 * must not inherit that filter. So before confining, a monitor whose
 * config.json has hooks forks this helper: it keeps the parsed hooks,
 * reads no guest data, and runs a kind of them when the monitor asks,
 * with the OCI state the monitor sends on the hooks' stdin.
 * Requests and replies on a socketpair:
 *   monitor -> runner: u32 kind, u32 warn_only, u32 len, len bytes of JSON
 *   runner -> monitor: i32 code (0 or -errno), u32 len, len bytes of message */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/monitor/monitor_priv.h"
#include "host/state/log.h"
#include "host/vmm/spawn.h"

#define DOC_MAX (8u << 20)

static int io_full(int fd, void *buf, size_t n, bool wr)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t k = wr ? write(fd, p, n) : read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPIPE;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void runner_loop(struct monitor *m, int fd)
{
	for (;;) {
		uint32_t req[3];
		if (io_full(fd, req, sizeof req, false) < 0 || req[0] >= HUSK_HOOK_KINDS || req[2] > DOC_MAX)
			_exit(0);
		char *doc = malloc((size_t)req[2] + 1);
		if (!doc || io_full(fd, doc, req[2], false) < 0)
			_exit(1);
		doc[req[2]] = '\0';
		struct husk_err err = { 0 };
		int32_t code = husk_hooks_run(&m->hooks, (enum husk_hook_kind)req[0], doc, req[1] != 0, &err);
		free(doc);
		uint32_t len = code < 0 ? (uint32_t)strlen(err.msg) : 0;
		int32_t rep[2] = { code < 0 ? -(err.code ? err.code : EIO) : 0, (int32_t)len };
		if (io_full(fd, rep, sizeof rep, true) < 0 || io_full(fd, err.msg, len, true) < 0)
			_exit(1);
	}
}

int mon_hook_runner_start(struct monitor *m, struct husk_err *err)
{
	bool any = false;
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) /* startContainer hooks run in the guest */
		any = any || (k != HUSK_HOOK_START_CONTAINER && husk_hooks_any(&m->hooks, (enum husk_hook_kind)k));
	if (!any)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return husk_err_sys(err, errno, "a socket pair for the hook runner");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return husk_err_sys(err, e, "fork for the hook runner");
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		prctl(PR_SET_NAME, "husk-hooks");
		/* the caller's stdio, the ready pipe, the terminal are the
		 * monitor's to close: an engine reading them until EOF, or a
		 * terminal's hang-up, must not wait on this helper */
		int keep[] = { sv[1], husk_log_fd(), husk_hooks_mntns() };
		husk_close_fds_except(keep, 3);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3 && null >= 0; fd++)
			dup2(null, fd);
		runner_loop(m, sv[1]);
	}
	close(sv[1]);
	m->hook_fd = sv[0];
	m->hook_pid = pid;
	return 0;
}

int mon_hook_runner_call(struct monitor *m, enum husk_hook_kind kind, const char *doc, bool warn_only,
			 struct husk_err *err)
{
	size_t n = strlen(doc);
	if (n > DOC_MAX)
		return husk_err_set(err, E2BIG, "the container's state is too large for its hooks");
	uint32_t req[3] = { (uint32_t)kind, warn_only, (uint32_t)n };
	int32_t rep[2];
	int r;
	if ((r = io_full(m->hook_fd, req, sizeof req, true)) < 0 ||
	    (r = io_full(m->hook_fd, (void *)doc, n, true)) < 0 ||
	    (r = io_full(m->hook_fd, rep, sizeof rep, false)) < 0)
		return husk_err_sys(err, -r, "the hook runner went away");
	if (rep[0] == 0)
		return 0;
	char msg[HUSK_ERR_MSG_MAX];
	uint32_t len = (uint32_t)rep[1];
	if (len >= sizeof msg || (r = io_full(m->hook_fd, msg, len, false)) < 0)
		return husk_err_set(err, EPROTO, "the hook runner sent a bad reply");
	msg[len] = '\0';
	return husk_err_set(err, -rep[0], "%s", msg);
}

void mon_hook_runner_stop(struct monitor *m)
{
	if (m->hook_fd >= 0)
		close(m->hook_fd); /* it exits at the end of its input */
	m->hook_fd = -1;
}
