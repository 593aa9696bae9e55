/* Starting a process whose stdio the guest relays: the container's init
 * (new namespaces, pivot_root, parked until START) or an exec'd process
 * (joins the namespaces of a running container process). The child reports
 * "R" once it is ready to exec, or "E<message>" when its set-up failed, so
 * errors reach the host as one clear line. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/pty.h"
#include "guest.h"
#include "security.h"

#define SETUP_TIMEOUT_MS 60000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum { NS_MNT, NS_UTS, NS_IPC, NS_PID, NS_COUNT };
static const char *const ns_names[NS_COUNT] = { "mnt", "uts", "ipc", "pid" };

/* What the child needs; everything is prepared before clone. */
struct child_ctx {
	const struct spawn_req *req;
	int sync_fd;       /* write: "R" when ready, "E<message>" on failure */
	int start_fd;      /* read: one byte means exec; -1 to exec at once */
	int stdio[3];      /* fds to become 0, 1, 2 (unused with a terminal) */
	int pty_sock;      /* with a terminal: the child sends the pty master here */
	int ns_fds[NS_COUNT]; /* exec: the namespaces to join */
	int cgroup_fd;        /* the container cgroup's cgroup.procs */
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

static void child_join_namespaces(struct child_ctx *ctx)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (i == NS_PID)
			continue; /* PID 1 set it for us before clone */
		if (setns(ctx->ns_fds[i], 0) < 0)
			spawn_child_fail(ctx->sync_fd, "joining the container's %s namespace: %s", ns_names[i],
					 strerror(errno));
	}
	if (chdir("/") < 0)
		spawn_child_fail(ctx->sync_fd, "chdir /: %s", strerror(errno));
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
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		spawn_child_fail(sfd, "setting the controlling terminal: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			spawn_child_fail(sfd, "dup2 of the terminal: %s", strerror(errno));
	if (slave > 2)
		close(slave);
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
	if (setsid() < 0)
		spawn_child_fail(sfd, "setsid: %s", strerror(errno));
	/* into the container's cgroup before anything can fork */
	if (cgroup_join(ctx->cgroup_fd) < 0)
		spawn_child_fail(sfd, "joining the container cgroup: %s", strerror(errno));
	/* through PID 1's /proc, before the container's root replaces it */
	security_early(p->security, sfd);

	if (req->kind == SPAWN_CONTAINER_INIT)
		container_child_root(req->create, sfd);
	else
		child_join_namespaces(ctx);
	child_stdio(ctx);

	/* runc's order: rlimits, NNP, seccomp without NNP, bounding set and
	 * keepcaps; the user; capset and ambient; seccomp with NNP at exec */
	security_prepare(p->security, sfd);
	if (setgroups(p->n_gids, p->gids) < 0)
		spawn_child_fail(sfd, "setgroups: %s", strerror(errno));
	if (setgid(p->gid) < 0)
		spawn_child_fail(sfd, "setgid %u: %s", p->gid, strerror(errno));
	if (setuid(p->uid) < 0)
		spawn_child_fail(sfd, "setuid %u: %s", p->uid, strerror(errno));
	if (chdir(p->cwd) < 0)
		spawn_child_fail(sfd, "chdir to cwd %s: %s", p->cwd, strerror(errno));
	security_caps(p->security, sfd);
	int r = resolve_program(p->args[0], p->env, program, sizeof program);
	if (r < 0)
		spawn_child_fail(sfd, "exec: \"%s\": %s", p->args[0],
				 r == -ENOENT ? "executable file not found in $PATH" : strerror(-r));

	if (write(sfd, "R", 1) != 1)
		_exit(1);
	close(sfd);
	if (ctx->start_fd >= 0) {
		/* parked: the host's START releases us */
		if (read(ctx->start_fd, &c, 1) != 1)
			_exit(1); /* deleted before start */
		close(ctx->start_fd);
	}

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

static int open_namespaces(pid_t target, int fds[NS_COUNT], struct husk_err *err)
{
	for (int i = 0; i < NS_COUNT; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)target, ns_names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			return husk_err_sys(err, errno, "opening %s", path);
	}
	return 0;
}

/* Clones the child. For an exec, the child must be born in the container's
 * pid namespace yet stay PID 1's child (so PID 1 reaps it): PID 1 points
 * its pid_for_children at the container's namespace around the clone. */
static long clone_child(struct child_ctx *ctx, struct husk_err *err)
{
	long pid;
	if (ctx->req->kind == SPAWN_CONTAINER_INIT) {
		pid = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, NULL, NULL,
			      NULL, NULL);
		if (pid < 0)
			return husk_err_sys(err, errno, "clone of the container process");
		if (pid == 0)
			child_main(ctx);
		return pid;
	}
	int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return husk_err_sys(err, errno, "opening PID 1's pid namespace");
	if (setns(ctx->ns_fds[NS_PID], CLONE_NEWPID) < 0) {
		int e = errno;
		close(own);
		return husk_err_sys(err, e, "entering the container's pid namespace");
	}
	pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		child_main(ctx);
	int e = errno;
	if (setns(own, CLONE_NEWPID) < 0)
		GLOG_ERR("restoring PID 1's pid namespace for children: %m");
	close(own);
	if (pid < 0)
		return husk_err_sys(err, e, "clone of the exec process");
	return pid;
}

int spawn_process(struct conn *c, const struct spawn_req *req, struct proc **out, struct husk_err *err)
{
	int sync_p[2] = { -1, -1 }, start_p[2] = { -1, -1 };
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int master = -1, pty_sp[2] = { -1, -1 };
	struct child_ctx ctx = { .req = req, .pty_sock = -1, .start_fd = -1, .cgroup_fd = -1 };
	const struct husk_process_spec *p = req->process;
	long pid = -1;
	int r;

	for (int i = 0; i < NS_COUNT; i++)
		ctx.ns_fds[i] = -1;
	if (req->kind == SPAWN_EXEC && (r = open_namespaces(req->target, ctx.ns_fds, err)) < 0)
		goto fail;
	if ((ctx.cgroup_fd = cgroup_open_procs(err)) < 0) {
		r = ctx.cgroup_fd;
		goto fail;
	}
	if (pipe2(sync_p, O_CLOEXEC) < 0 ||
	    (req->kind == SPAWN_CONTAINER_INIT && pipe2(start_p, O_CLOEXEC) < 0)) {
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
	int all[] = { sync_p[0], sync_p[1], start_p[0], start_p[1], in_p[0],  in_p[1],    out_p[0], out_p[1],
		      err_p[0],  err_p[1],  master,     pty_sp[0],  pty_sp[1], ctx.ns_fds[0], ctx.ns_fds[1],
		      ctx.ns_fds[2], ctx.ns_fds[3], ctx.cgroup_fd };
	close_fds(all, sizeof all / sizeof all[0]);
	return r;
}
