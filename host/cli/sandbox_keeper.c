/* The keeper of a sandbox's host side: a process of its own (own session,
 * none of its caller's fds) that mounts the --image and sets up the
 * --net nat network, reports their paths, and keeps them for exactly as
 * long as the sandbox lives. It is handed the container's monitor and
 * undoes everything once that process has ended and its caller has let
 * go (or at once on SIGTERM, or when let go before any monitor was
 * handed). So `sandbox run` killed with SIGKILL, `sandbox stop` and
 * `husk delete --force sandbox-N` all leave nothing behind: whatever ends
 * the VM ends the keeper. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/cli/sandbox_host.h"
#include "host/state/fsutil.h"

#define KEEPER_FD_MAX 1024

/* what the keeper sends back once its set-up is done or failed */
struct keeper_report {
	int rc; /* 0, or a negative errno with msg */
	char msg[HUSK_ERR_MSG_MAX];
	struct husk_sb_host host;
};

void husk_sb_close_fds_except(const int *keep, size_t n_keep)
{
	for (int fd = 3; fd < KEEPER_FD_MAX; fd++) {
		bool kept = false;
		for (size_t i = 0; i < n_keep; i++)
			kept |= keep[i] == fd;
		if (!kept)
			close(fd);
	}
}

static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static size_t read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void host_undo(struct husk_sb_host *h)
{
	husk_sb_net_teardown(&h->net);
	husk_sb_image_unmount(&h->image);
}

static int host_make(const struct husk_sb_keeper_opts *o, struct husk_sb_host *h, struct husk_err *err)
{
	int r = 0;
	if (o->image_name)
		r = husk_sb_image_mount(&h->image, o->image_name, err);
	if (r == 0 && o->nat) {
		h->net.opts = o->net;
		r = husk_sb_net_setup(&h->net, err);
	}
	if (r < 0)
		host_undo(h);
	return r;
}

/* A line "PID\n" from the caller: the monitor to watch. */
static int read_monitor(int ctl, int *pidfd, bool *ctl_open)
{
	char buf[32];
	ssize_t n = read(ctl, buf, sizeof buf - 1);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		*ctl_open = false;
		return 0;
	}
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	if (*pidfd >= 0 || pid <= 0 || *end != '\n')
		return 0; /* only one monitor, as a whole line */
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	return fd >= 0 ? (*pidfd = fd, 0) : -1; /* gone already: the watch is over */
}

/* Until the caller has let go and the monitor (if handed) has ended, or
 * SIGTERM/SIGINT/SIGHUP. */
static void keep(int ctl)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int pidfd = -1;
	bool ctl_open = true, monitor_handed = false, monitor_gone = false;
	while (sfd >= 0 && (ctl_open || (monitor_handed && !monitor_gone))) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = ctl_open ? ctl : -1, .events = POLLIN },
			{ .fd = monitor_gone ? -1 : pidfd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0)
			continue;
		if (p[0].revents)
			break;
		if (p[1].revents) {
			int had = pidfd;
			if (read_monitor(ctl, &pidfd, &ctl_open) < 0)
				monitor_gone = true;
			monitor_handed |= pidfd != had || monitor_gone;
		}
		if (p[2].revents)
			monitor_gone = true;
	}
}

static void keeper_main(const struct husk_sb_keeper_opts *o, int ctl, int report)
{
	struct keeper_report rep = { 0 };
	struct husk_err err = { 0 };
	int keep_fds[] = { ctl, report };
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL); /* SIGTERM through keep()'s signalfd; no SIGPIPE */
	setsid();
	prctl(PR_SET_NAME, "husk-sb-keeper");
	if (chdir("/") < 0) /* holds no directory of its caller's busy */
		_exit(1);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || (!o->keep_stderr && dup2(null, 2) < 0))
		_exit(1);
	husk_sb_close_fds_except(keep_fds, 2);
	rep.host.net.slot = -1;
	rep.rc = host_make(o, &rep.host, &err);
	snprintf(rep.msg, sizeof rep.msg, "%s", err.msg);
	bool told = write_all(report, &rep, sizeof rep);
	close(report);
	if (rep.rc < 0)
		_exit(1);
	if (told)
		keep(ctl);
	host_undo(&rep.host);
	_exit(0);
}

int husk_sb_keeper_start(const struct husk_sb_keeper_opts *o, struct husk_sb_keeper *k, struct husk_sb_host *host,
			 struct husk_err *err)
{
	int ctl[2], rep[2];
	memset(k, 0, sizeof *k);
	k->ctl = -1;
	if (pipe2(ctl, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "the sandbox's keeper: pipe");
	if (pipe2(rep, O_CLOEXEC) < 0) {
		int e = errno;
		close(ctl[0]);
		close(ctl[1]);
		return husk_err_sys(err, e, "the sandbox's keeper: pipe");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		keeper_main(o, ctl[0], rep[1]);
	}
	int e = errno;
	close(ctl[0]);
	close(rep[1]);
	if (pid < 0) {
		close(ctl[1]);
		close(rep[0]);
		return husk_err_sys(err, e, "the sandbox's keeper: fork");
	}
	k->pid = pid;
	k->start_time = proc_start_time(pid);
	k->ctl = ctl[1];
	struct keeper_report *r = calloc(1, sizeof *r);
	size_t got = r ? read_all(rep[0], r, sizeof *r) : 0;
	close(rep[0]);
	if (got == sizeof *r && r->rc == 0) {
		*host = r->host;
		free(r);
		return 0;
	}
	int rc = got == sizeof *r ? husk_err_set(err, -r->rc, "%s", r->msg)
				  : husk_err_set(err, EIO, "the sandbox's keeper died while setting up");
	free(r);
	husk_sb_keeper_release(k);
	husk_sb_keeper_wait(k->pid, k->start_time, true, HUSK_SB_KEEPER_WAIT_MS);
	k->pid = 0;
	return rc;
}

int husk_sb_keeper_watch(struct husk_sb_keeper *k, pid_t monitor, struct husk_err *err)
{
	char line[32];
	int n = snprintf(line, sizeof line, "%d\n", (int)monitor);
	/* a keeper that died is an error here, not a SIGPIPE */
	sigset_t pipe_only, old;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_only, &old);
	bool told = k->ctl >= 0 && write_all(k->ctl, line, (size_t)n);
	if (!told) {
		struct timespec none = { 0 };
		sigtimedwait(&pipe_only, NULL, &none);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return told ? 0 : husk_err_set(err, EIO, "the sandbox's keeper (pid %d) is gone", (int)k->pid);
}

void husk_sb_keeper_release(struct husk_sb_keeper *k)
{
	if (k->ctl >= 0)
		close(k->ctl);
	k->ctl = -1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

bool husk_sb_keeper_wait(pid_t pid, unsigned long long start_time, bool child, long timeout_ms)
{
	long start = now_ms();
	bool termed = false;
	for (;;) {
		pid_t r = child ? waitpid(pid, NULL, WNOHANG) : 0;
		if (child ? r == pid || (r < 0 && errno == ECHILD) : !pid_is_same_process(pid, start_time))
			return true;
		long spent = now_ms() - start;
		if (spent >= timeout_ms)
			return false;
		if (!termed && spent >= timeout_ms / 2) {
			/* undo now, without waiting for the monitor */
			if (pid_is_same_process(pid, start_time))
				kill(pid, SIGTERM);
			termed = true;
		}
		usleep(20000);
	}
}
