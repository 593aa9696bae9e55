/* Starting a process whose stdio the guest relays: the container's init
 * (the namespaces of linux.namespaces, pivot_root, parked until START) or
 * an exec'd process (joins the namespaces of a running container process).
 * The child reports "R" once it is ready to exec, or "E<message>" when its
 * set-up failed, so errors reach the host as one clear line.
 *
 * Namespaces as runc makes them: one clone creates the user namespace
 * first and the others owned by it; PID 1 writes the id mappings while the
 * child waits on a pipe; the cgroup namespace is unshared once the child
 * is in the container's cgroup, so that cgroup is its root. No network
 * namespace: the VM's network is the container's. */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/pty.h"
#include "proto/msg_container.h"
#include "proto/msg_security.h"
#include "guest/guest.h"
#include "guest/security.h"

#define SETUP_TIMEOUT_MS 60000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* The namespaces an exec joins, in order: the user namespace first (it
 * owns the others), the mount namespace last. The pid namespace is
 * entered by PID 1 around the clone. For time, time_for_children is the
 * container's even before its init has exec'd. */
enum { NS_USER, NS_IPC, NS_UTS, NS_CGROUP, NS_TIME, NS_MNT, NS_PID, NS_COUNT };
static const struct {
	const char *link;
	int flag;
} ns_kinds[NS_COUNT] = {
	[NS_USER] = { "user", CLONE_NEWUSER },
	[NS_IPC] = { "ipc", CLONE_NEWIPC },
	[NS_UTS] = { "uts", CLONE_NEWUTS },
	[NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
	[NS_TIME] = { "time_for_children", CLONE_NEWTIME },
	[NS_MNT] = { "mnt", CLONE_NEWNS },
	[NS_PID] = { "pid", CLONE_NEWPID },
};

/* What the child needs; everything is prepared before clone. */
struct child_ctx {
	const struct spawn_req *req;
	int sync_fd;          /* write: "R" when ready, "E<message>" on failure */
	int start_fd;         /* read: one byte means exec; -1 to exec at once */
	int stdio[3];         /* fds to become 0, 1, 2 (unused with a terminal) */
	int pty_sock;         /* with a terminal: the child sends the pty master here */
	int ns_fds[NS_COUNT]; /* exec, or init joining another slot's: the namespaces to join, -1 for none */
	int cgroup_fd;        /* the container cgroup's cgroup.procs */
	uint32_t ns;          /* init: HUSK_NS_* to create */
	int idmap_fd;         /* init with a user namespace: read one byte once mapped */
};

void spawn_child_fail(int sync_fd, const char *fmt, ...)
{
	char msg[HUSK_ERR_MSG_MAX + 1];
	va_list ap;
	msg[0] = 'E';
	va_start(ap, fmt);
	vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
	va_end(ap);
	ssize_t w = write(sync_fd, msg, strlen(msg));
	(void)w;
	_exit(1);
}

/* Finds the program as execvp would, with the process's PATH. */
static int resolve_program(const char *name, char *const *env, char *out, size_t out_len)
{
	if (strchr(name, '/')) {
		if (snprintf(out, out_len, "%s", name) >= (int)out_len)
			return -ENAMETOOLONG;
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = DEFAULT_PATH;
	for (char *const *e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	int last = -ENOENT;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		if (n > 0 && (size_t)snprintf(out, out_len, "%.*s/%s", (int)n, path, name) < out_len) {
			struct stat st;
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
				if (access(out, X_OK) == 0)
					return 0;
				last = -EACCES;
			}
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return last;
}

/* In a user namespace just entered: from the guest's root, unmapped
 * there, to the namespace's root (uid and gid 0 mapped), as runc does. */
static void become_userns_root(int sfd)
{
	if (setresgid(0, 0, 0) < 0)
		spawn_child_fail(sfd, "becoming gid 0 in the user namespace: %s", strerror(errno));
	if (setgroups(0, NULL) < 0)
		spawn_child_fail(sfd, "clearing groups in the user namespace: %s", strerror(errno));
	if (setresuid(0, 0, 0) < 0)
		spawn_child_fail(sfd, "becoming uid 0 in the user namespace: %s", strerror(errno));
}

/* rlimits of pid (0: the caller) while still the guest's root: in a user
 * namespace a hard limit can no longer be raised. The child sets them
 * again later, which changes nothing. Returns the failing index or -1. */
static int apply_rlimits(pid_t pid, const struct husk_process_security *sec)
{
	for (uint32_t i = 0; sec && i < sec->n_rlimits; i++) {
		const struct husk_rlimit *l = &sec->rlimits[i];
		struct rlimit rl = {
			.rlim_cur = l->soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->soft,
			.rlim_max = l->hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->hard,
		};
		if (prlimit(pid, (int)l->type, &rl, NULL) < 0)
			return (int)i;
	}
	return -1;
}

static void child_join_namespaces(struct child_ctx *ctx)
{
	int bad = ctx->ns_fds[NS_USER] >= 0 ? apply_rlimits(0, ctx->req->process->security) : -1;
	if (bad >= 0)
		spawn_child_fail(ctx->sync_fd, "setting rlimit %u: %s", ctx->req->process->security->rlimits[bad].type,
				 strerror(errno));
	for (int i = 0; i < NS_COUNT; i++) {
		if (i == NS_PID || ctx->ns_fds[i] < 0)
			continue; /* PID 1 set pid for us before clone */
		if (setns(ctx->ns_fds[i], ns_kinds[i].flag) < 0)
			spawn_child_fail(ctx->sync_fd, "joining the container's %s namespace: %s", ns_kinds[i].link,
					 strerror(errno));
		if (i == NS_USER)
			become_userns_root(ctx->sync_fd);
	}
	if (chdir("/") < 0)
		spawn_child_fail(ctx->sync_fd, "chdir /: %s", strerror(errno));
}

static uint64_t clone_flags(uint32_t ns);

/* A pod's container init joins the ipc, uts and cgroup namespaces of the
 * slots CREATE's join names (after it joined its own cgroup: a joined
 * cgroup namespace shows it below that namespace's root); pid was PID 1's
 * part, around the clone. */
static void child_join_pod_namespaces(struct child_ctx *ctx)
{
	static const int kinds[] = { NS_IPC, NS_UTS, NS_CGROUP };
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		int k = kinds[i];
		if (ctx->ns_fds[k] >= 0 && setns(ctx->ns_fds[k], ns_kinds[k].flag) < 0)
			spawn_child_fail(ctx->sync_fd, "joining the pod's %s namespace: %s", ns_kinds[k].link,
					 strerror(errno));
	}
}

/* namespaces a new user namespace's init creates itself, as root there */
#define USERNS_LATER (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)

/* The container init in a new user namespace: wait until PID 1 has
 * written the mappings, then become the namespace's root in runc's order:
 * uid 0 first, then the mount, uts and ipc namespaces (so they are created
 * by the namespace's root: /dev/mqueue's root is owned by uid 0, with the
 * unmapped gid, as under runc), then gid 0 and no groups. */
static void child_become_userns_root(struct child_ctx *ctx)
{
	char c;
	int sfd = ctx->sync_fd;
	if (read(ctx->idmap_fd, &c, 1) != 1)
		_exit(1); /* PID 1 gave up on us */
	close(ctx->idmap_fd);
	if (setresuid(0, 0, 0) < 0)
		spawn_child_fail(sfd, "becoming uid 0 in the user namespace: %s", strerror(errno));
	int later = (int)(clone_flags(ctx->ns) & USERNS_LATER);
	if (later && unshare(later) < 0)
		spawn_child_fail(sfd, "creating the container's namespaces: %s", strerror(errno));
	if (setresgid(0, 0, 0) < 0)
		spawn_child_fail(sfd, "becoming gid 0 in the user namespace: %s", strerror(errno));
	if (setgroups(0, NULL) < 0)
		spawn_child_fail(sfd, "clearing groups in the user namespace: %s", strerror(errno));
}

static void child_stdio(struct child_ctx *ctx)
{
	const struct husk_process_spec *p = ctx->req->process;
	int sfd = ctx->sync_fd;
	if (!p->terminal) {
		for (int i = 0; i < 3; i++)
			if (dup2(ctx->stdio[i], i) < 0)
				spawn_child_fail(sfd, "dup2 of stdio %d: %s", i, strerror(errno));
		return;
	}
	/* a pty of the container's own devpts, so ttyname() works inside */
	int master = -1, slave = -1;
	struct husk_err perr = { 0 };
	if (husk_pty_open(&master, &slave, O_NONBLOCK, p->rows, p->cols, &perr) < 0 ||
	    husk_fd_send(ctx->pty_sock, master, "M", &perr) < 0)
		spawn_child_fail(sfd, "container terminal: %s", perr.msg);
	close(master);
	/* owned by the process's user, the group devpts gave it (tty), as runc */
	if (fchown(slave, p->uid, (gid_t)-1) < 0)
		spawn_child_fail(sfd, "chown of the container terminal to uid %u: %s", p->uid, strerror(errno));
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		spawn_child_fail(sfd, "setting the controlling terminal: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			spawn_child_fail(sfd, "dup2 of the terminal: %s", strerror(errno));
	if (slave > 2)
		close(slave);
}

/* An exec'd process joins the container's cgroup after it reported ready:
 * a paused (frozen) cgroup stops it there, not PID 1 waiting for "R" (a
 * resume must get through). It is the process's last step before exec. */
static void exec_join_cgroup(int cgroup_fd)
{
	if (cgroup_join(cgroup_fd) == 0)
		return;
	dprintf(2, "husk: joining the container cgroup: %s\n", strerror(errno));
	_exit(126);
}

/* CREATE's hold (sandboxes), in place of the exec: the container's init
 * keeps its namespaces for EXECs and runs nothing of the rootfs's. The
 * fds PID 1 had at the clone (the vsock listener, sessions, the other
 * containers' relays: all close-on-exec, but there is no exec) are
 * closed; stdio stays, as for a process. The seccomp filter is not
 * installed: it would confine no code of the image, and one that refuses
 * pause would kill the hold or make it spin. As PID 1 of its pid
 * namespace it gets no signal it does not handle: SIGTERM and SIGINT end
 * it with status 0 (as Kubernetes' pause container), SIGKILL from outside
 * too, others are ignored; SIGCHLD ignored makes the kernel reap the
 * orphans of EXECs that are handed to it, so none stays a zombie. Its
 * memory is PID 1's pages shared copy-on-write (about 80 KiB of its own). */
static void hold_stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void __attribute__((noreturn)) child_hold(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	signal(SIGCHLD, SIG_IGN);
	signal(SIGTERM, hold_stop);
	signal(SIGINT, hold_stop);
	prctl(PR_SET_NAME, "husk-hold"); /* ps shows it (process.args[0] of sandbox start's spec) */
	for (;;)
		pause();
}

static void __attribute__((noreturn)) child_main(struct child_ctx *ctx)
{
	const struct spawn_req *req = ctx->req;
	const struct husk_process_spec *p = req->process;
	int sfd = ctx->sync_fd;
	sigset_t none;
	char program[4096];
	char c;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	bool init = req->kind == SPAWN_CONTAINER_INIT;
	if (init && (ctx->ns & HUSK_NS_USER))
		child_become_userns_root(ctx);
	if (setsid() < 0)
		spawn_child_fail(sfd, "setsid: %s", strerror(errno));
	/* the init joins the container's cgroup before anything can fork (the
	 * fd's opener, PID 1, is what the kernel checks); an exec joins once
	 * ready (exec_join_cgroup), as the cgroup may be frozen */
	if (init && cgroup_join(ctx->cgroup_fd) < 0)
		spawn_child_fail(sfd, "joining the container cgroup: %s", strerror(errno));
	if (init && (ctx->ns & HUSK_NS_CGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		spawn_child_fail(sfd, "creating the cgroup namespace: %s", strerror(errno));
	if (init)
		child_join_pod_namespaces(ctx);
	/* through PID 1's /proc, before the container's root replaces it; in
	 * a user namespace PID 1 wrote it for us */
	if (!(init && (ctx->ns & HUSK_NS_USER)))
		security_early(p->security, sfd);

	if (init)
		container_child_root(req->create, req->ctr, sfd);
	else
		child_join_namespaces(ctx);
	child_stdio(ctx);

	/* runc's order: rlimits, NNP, seccomp without NNP, bounding set and
	 * keepcaps; the user; capset and ambient; seccomp with NNP at exec */
	security_prepare(p->security, sfd);
	/* as runc: the cwd first as root (a directory the user cannot enter
	 * still works), again as the user if root was refused */
	bool cwd_later = chdir(p->cwd) < 0;
	if (cwd_later && errno != EACCES && errno != EPERM)
		spawn_child_fail(sfd, "chdir to cwd %s: %s", p->cwd, strerror(errno));
	if (setgroups(p->n_gids, p->gids) < 0)
		spawn_child_fail(sfd, "setgroups: %s", strerror(errno));
	if (setgid(p->gid) < 0)
		spawn_child_fail(sfd, "setgid %u: %s", p->gid, strerror(errno));
	if (setuid(p->uid) < 0)
		spawn_child_fail(sfd, "setuid %u: %s", p->uid, strerror(errno));
	if (cwd_later && chdir(p->cwd) < 0)
		spawn_child_fail(sfd, "chdir to cwd %s: %s", p->cwd, strerror(errno));
	security_caps(p->security, sfd);
	bool hold = init && req->create->hold;
	int r = hold ? 0 : resolve_program(p->args[0], p->env, program, sizeof program);
	if (r < 0)
		spawn_child_fail(sfd, "exec: \"%s\": %s", p->args[0],
				 r == -ENOENT ? "executable file not found in $PATH" : strerror(-r));

	if (write(sfd, "R", 1) != 1)
		_exit(1);
	close(sfd);
	if (!init)
		exec_join_cgroup(ctx->cgroup_fd);
	if (ctx->start_fd >= 0) {
		/* parked: the host's START releases us */
		if (read(ctx->start_fd, &c, 1) != 1)
			_exit(1); /* deleted before start */
		close(ctx->start_fd);
	}
	if (hold)
		child_hold();

	r = security_final(p->security);
	if (r < 0) {
		dprintf(2, "husk: installing the seccomp filter: %s\n", strerror(-r));
		_exit(1);
	}
	extern char **environ;
	environ = p->env;
	execv(program, p->args);
	dprintf(2, "husk: exec %s: %s\n", p->args[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

/* Waits for the child's "R" or its error message. */
static int wait_child_ready(int sync_fd, pid_t pid, struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 1];
	struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };
	int r = poll(&pfd, 1, SETUP_TIMEOUT_MS);
	if (r == 0)
		return husk_err_set(err, ETIMEDOUT, "process setup did not finish in %d s", SETUP_TIMEOUT_MS / 1000);
	ssize_t n = read(sync_fd, msg, sizeof msg - 1);
	if (n == 1 && msg[0] == 'R')
		return 0;
	if (n > 1 && msg[0] == 'E') {
		msg[n] = '\0';
		return husk_err_set(err, EINVAL, "%s", msg + 1);
	}
	return husk_err_set(err, EIO, "process %d died during setup", (int)pid);
}

static int same_file(int a, int b)
{
	struct stat sa, sb;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The namespaces of the target that are not PID 1's own: exactly the set
 * the container was given. A kind the kernel lacks is left alone. */
static int open_namespaces(pid_t target, int fds[NS_COUNT], struct husk_err *err)
{
	for (int i = 0; i < NS_COUNT; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, ns_kinds[i].link);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			if (errno == ENOENT && i != NS_MNT && i != NS_PID)
				continue; /* not in this kernel */
			return husk_err_sys(err, errno, "opening %s", path);
		}
		snprintf(path, sizeof path, "/proc/self/ns/%s", ns_kinds[i].link);
		int own = open(path, O_RDONLY | O_CLOEXEC);
		if (own >= 0 && same_file(own, fds[i])) {
			close(fds[i]);
			fds[i] = -1;
		}
		if (own >= 0)
			close(own);
	}
	return 0;
}

/* CREATE's join: the namespaces of the other slots' inits */
static int open_join_namespaces(const struct spawn_req *req, int fds[NS_COUNT], struct husk_err *err)
{
	static const int ns_of[HUSK_JOIN_KINDS] = {
		[HUSK_JOIN_PID] = NS_PID,
		[HUSK_JOIN_IPC] = NS_IPC,
		[HUSK_JOIN_UTS] = NS_UTS,
		[HUSK_JOIN_CGROUP] = NS_CGROUP,
	};
	const struct husk_ns_join *j = &req->create->join;
	for (int k = 0; k < HUSK_JOIN_KINDS; k++) {
		if (!(j->mask & husk_join_ns((enum husk_join_kind)k)))
			continue;
		char path[64];
		int i = ns_of[k];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)req->join_pid[k], ns_kinds[i].link);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return husk_err_sys(err, errno, "opening the %s namespace of slot %u", ns_kinds[i].link,
					    j->slot[k]);
	}
	return 0;
}

static int write_proc_file(pid_t pid, const char *file, const char *text, struct husk_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int e = errno;
	close(fd);
	if (w != (ssize_t)n)
		return husk_err_sys(err, w < 0 ? e : EIO, "writing %s", path);
	return 0;
}

static int write_id_map(pid_t pid, const char *file, const struct husk_id_map *m, uint32_t n, struct husk_err *err)
{
	char text[HUSK_MAX_ID_MAPS * 36 + 1];
	size_t len = 0;
	text[0] = '\0';
	for (uint32_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "%u %u %u\n", m[i].container_id, m[i].host_id,
					m[i].size);
	int r = write_proc_file(pid, file, text, err);
	return r < 0 ? husk_err_wrap(err, "user namespace mapping") : 0;
}

/* PID 1's part of a new user namespace: the mappings (setgroups stays
 * "allow": PID 1 has CAP_SETGID, so nothing requires "deny"), and
 * rlimits and oom_score_adj, which the child could no longer raise or
 * lower. Then the child goes on. */
static int setup_user_namespace(pid_t pid, const struct child_ctx *ctx, int idmap_w, struct husk_err *err)
{
	const struct husk_container_config *c = ctx->req->create->container;
	const struct husk_process_security *sec = ctx->req->process->security;
	int r;
	if ((r = write_id_map(pid, "uid_map", c->uid_maps, c->n_uid_maps, err)) < 0 ||
	    (r = write_id_map(pid, "gid_map", c->gid_maps, c->n_gid_maps, err)) < 0)
		return r;
	int bad = apply_rlimits(pid, sec);
	if (bad >= 0)
		return husk_err_sys(err, errno, "setting rlimit %u", sec->rlimits[bad].type);
	if (sec && sec->has_oom_score_adj) {
		char v[16];
		snprintf(v, sizeof v, "%d", (int)sec->oom_score_adj);
		if ((r = write_proc_file(pid, "oom_score_adj", v, err)) < 0)
			return husk_err_wrap(err, "setting oom_score_adj");
	}
	if (write(idmap_w, "M", 1) != 1)
		return husk_err_sys(err, errno, "releasing the container process");
	return 0;
}

static uint64_t clone_flags(uint32_t ns)
{
	static const struct {
		uint32_t ns;
		uint64_t flag;
	} map[] = {
		{ HUSK_NS_USER, CLONE_NEWUSER }, { HUSK_NS_MOUNT, CLONE_NEWNS }, { HUSK_NS_PID, CLONE_NEWPID },
		{ HUSK_NS_UTS, CLONE_NEWUTS },   { HUSK_NS_IPC, CLONE_NEWIPC },  { HUSK_NS_TIME, CLONE_NEWTIME },
	};
	uint64_t f = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (ns & map[i].ns)
			f |= map[i].flag;
	return f;
}

/* clone3's first fields (CLONE_ARGS_SIZE_VER0): the time namespace needs
 * clone3, whose flags are wider than clone's CSIGNAL-sharing word. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* Clones the child. For an exec, the child must be born in the container's
 * pid namespace yet stay PID 1's child (so PID 1 reaps it): PID 1 points
 * its pid_for_children at the container's namespace around the clone. */
static long clone_init(struct child_ctx *ctx, struct husk_err *err)
{
	uint64_t flags = clone_flags(ctx->ns);
	if (flags & CLONE_NEWUSER)
		flags &= ~(uint64_t)USERNS_LATER; /* child_become_userns_root */
	struct clone3_args args = { .flags = flags, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid < 0)
		return husk_err_sys(err, errno, "clone of the container process");
	if (pid == 0)
		child_main(ctx);
	return pid;
}

/* Clones the child in the pid namespace of ns_fd (another slot's, or a
 * container's for an exec) while it stays PID 1's child: PID 1 points its
 * pid_for_children there around the clone. */
static long clone_in_pidns(struct child_ctx *ctx, int ns_fd, struct husk_err *err)
{
	int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return husk_err_sys(err, errno, "opening PID 1's pid namespace");
	if (setns(ns_fd, CLONE_NEWPID) < 0) {
		int e = errno;
		close(own);
		return husk_err_sys(err, e, "entering the container's pid namespace");
	}
	long pid = ctx->req->kind == SPAWN_CONTAINER_INIT ? clone_init(ctx, err)
							  : syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		child_main(ctx);
	int e = errno;
	if (setns(own, CLONE_NEWPID) < 0)
		GLOG_ERR("restoring PID 1's pid namespace for children: %m");
	close(own);
	if (pid < 0 && ctx->req->kind == SPAWN_EXEC)
		return husk_err_sys(err, e, "clone of the exec process");
	return pid;
}

static long clone_child(struct child_ctx *ctx, struct husk_err *err)
{
	long pid;
	if (ctx->req->kind == SPAWN_CONTAINER_INIT)
		return ctx->ns_fds[NS_PID] >= 0 ? clone_in_pidns(ctx, ctx->ns_fds[NS_PID], err) : clone_init(ctx, err);
	if (ctx->ns_fds[NS_PID] < 0) {
		/* the container shares PID 1's pid namespace */
		pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
		if (pid == 0)
			child_main(ctx);
		return pid < 0 ? husk_err_sys(err, errno, "clone of the exec process") : pid;
	}
	return clone_in_pidns(ctx, ctx->ns_fds[NS_PID], err);
}

int spawn_process(struct conn *c, const struct spawn_req *req, struct proc **out, struct husk_err *err)
{
	int sync_p[2] = { -1, -1 }, start_p[2] = { -1, -1 };
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int master = -1, pty_sp[2] = { -1, -1 }, idmap_p[2] = { -1, -1 };
	struct child_ctx ctx = { .req = req, .pty_sock = -1, .start_fd = -1, .cgroup_fd = -1, .idmap_fd = -1 };
	const struct husk_process_spec *p = req->process;
	long pid = -1;
	int r;

	for (int i = 0; i < NS_COUNT; i++)
		ctx.ns_fds[i] = -1;
	if (req->kind == SPAWN_EXEC && (r = open_namespaces(req->target, ctx.ns_fds, err)) < 0)
		goto fail;
	if (req->kind == SPAWN_CONTAINER_INIT && (r = open_join_namespaces(req, ctx.ns_fds, err)) < 0)
		goto fail;
	if (req->kind == SPAWN_CONTAINER_INIT) {
		ctx.ns = container_namespaces(req->create);
		if ((ctx.ns & HUSK_NS_USER) && pipe2(idmap_p, O_CLOEXEC) < 0) {
			r = husk_err_sys(err, errno, "pipe");
			goto fail;
		}
		ctx.idmap_fd = idmap_p[0];
	}
	if ((ctx.cgroup_fd = cgroup_open_procs(req->ctr, err)) < 0) {
		r = ctx.cgroup_fd;
		goto fail;
	}
	if (pipe2(sync_p, O_CLOEXEC) < 0 || (req->kind == SPAWN_CONTAINER_INIT && pipe2(start_p, O_CLOEXEC) < 0)) {
		r = husk_err_sys(err, errno, "pipe");
		goto fail;
	}
	ctx.sync_fd = sync_p[1];
	ctx.start_fd = start_p[0];
	if (p->terminal) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty_sp) < 0) {
			r = husk_err_sys(err, errno, "socketpair");
			goto fail;
		}
		ctx.pty_sock = pty_sp[1];
	} else {
		if (req->stdin_open ? pipe2(in_p, O_CLOEXEC) < 0
				    : (in_p[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
			r = husk_err_sys(err, errno, "stdin for the process");
			goto fail;
		}
		if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
			r = husk_err_sys(err, errno, "pipe");
			goto fail;
		}
		/* bigger output pipes: fewer switches between the process and
		 * the relay, each costly under TCG (failure only costs speed) */
		fcntl(out_p[1], F_SETPIPE_SZ, GUEST_OUTPUT_PIPE);
		fcntl(err_p[1], F_SETPIPE_SZ, GUEST_OUTPUT_PIPE);
		ctx.stdio[0] = in_p[0];
		ctx.stdio[1] = out_p[1];
		ctx.stdio[2] = err_p[1];
	}

	pid = clone_child(&ctx, err);
	if (pid < 0) {
		r = (int)pid;
		goto fail;
	}
	close(sync_p[1]);
	sync_p[1] = -1;
	r = 0;
	if (idmap_p[1] >= 0)
		r = setup_user_namespace((pid_t)pid, &ctx, idmap_p[1], err);
	if (r == 0)
		r = wait_child_ready(sync_p[0], (pid_t)pid, err);
	if (r == 0 && p->terminal) {
		master = husk_fd_recv(pty_sp[0], MSG_DONTWAIT, err);
		r = master < 0 ? master : 0;
	}
	struct proc *proc = r == 0 ? calloc(1, sizeof *proc) : NULL;
	if (r == 0 && !proc)
		r = husk_err_set(err, ENOMEM, "out of memory");
	if (r < 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		goto fail;
	}
	proc->pid = (pid_t)pid;
	proc->conn = c;
	proc->terminal = p->terminal;
	proc->start_fd = start_p[1];
	start_p[1] = -1;
	if (p->terminal) {
		proc->out_w.fd = master;
		proc->in_w.fd = dup(master);
		proc->err_w.fd = -1;
		master = -1;
	} else {
		proc->out_w.fd = out_p[0];
		proc->err_w.fd = err_p[0];
		proc->in_w.fd = req->stdin_open ? in_p[1] : -1;
		out_p[0] = err_p[0] = -1;
		if (req->stdin_open)
			in_p[1] = -1;
	}
	int nonblock[] = { proc->out_w.fd, proc->err_w.fd, proc->in_w.fd };
	for (size_t i = 0; i < 3; i++)
		if (nonblock[i] >= 0)
			fcntl(nonblock[i], F_SETFL, O_NONBLOCK);
	r = 0;
	*out = proc;
fail:;
	int all[] = { sync_p[0], sync_p[1], start_p[0], start_p[1], in_p[0],   in_p[1],       out_p[0],   out_p[1],
		      err_p[0],  err_p[1],  master,     pty_sp[0],  pty_sp[1], ctx.cgroup_fd, idmap_p[0], idmap_p[1] };
	close_fds(all, sizeof all / sizeof all[0]);
	close_fds(ctx.ns_fds, NS_COUNT);
	return r;
}
