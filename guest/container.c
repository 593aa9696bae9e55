/* The container: its init process in new mount, pid, uts and ipc
 * namespaces, pivot_root'ed into the virtio-fs rootfs. CREATE builds it up
 * to the exec and parks it on a start pipe; START releases it (runc's
 * create/start split). */
#include <fcntl.h>
#include <stdarg.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../common/pty.h"
#include "guest.h"

#define SETUP_TIMEOUT_MS 60000
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct proc *the_container;

struct proc *container_proc(void)
{
	return the_container;
}

/* What the child needs; everything is prepared before clone. */
struct child_ctx {
	const struct husk_create_msg *m;
	int sync_fd;          /* write: "R" when parked, "E<message>" on failure */
	int start_fd;         /* read: one byte means exec */
	int stdio[3];         /* fds to become 0, 1, 2 (unused with a terminal) */
	bool terminal;
	int pty_sock;         /* with a terminal: the child sends the pty master here */
};

static void __attribute__((noreturn, format(printf, 2, 3))) child_fail(int sync_fd, const char *fmt, ...)
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

struct dev_node {
	const char *name;
	unsigned major, minor;
};

static const struct dev_node default_devices[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const char *const default_links[][2] = {
	{ "/proc/self/fd", "fd" },        { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },         { "/proc/kcore", "core" },
};

static void ensure_dir(int sync_fd, const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		child_fail(sync_fd, "creating mount point %s in the rootfs: %s", path, strerror(errno));
}

static void mount_or_fail(int sync_fd, const char *src, const char *target, const char *fstype, unsigned long flags,
			  const char *data)
{
	ensure_dir(sync_fd, target);
	if (mount(src, target, fstype, flags, data) < 0)
		child_fail(sync_fd, "mounting %s on %s: %s", fstype, target, strerror(errno));
}

/* The default runc mounts; the spec's mounts list replaces them later. */
static void child_mounts(int sync_fd)
{
	mount_or_fail(sync_fd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail(sync_fd, "tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "dev/%s", default_devices[i].name);
		if (mknod(path, S_IFCHR | 0666, makedev(default_devices[i].major, default_devices[i].minor)) < 0)
			child_fail(sync_fd, "mknod %s: %s", path, strerror(errno));
		chmod(path, 0666);
	}
	for (size_t i = 0; i < sizeof default_links / sizeof default_links[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "dev/%s", default_links[i][1]);
		if (symlink(default_links[i][0], path) < 0)
			child_fail(sync_fd, "symlink %s: %s", path, strerror(errno));
	}
	mount_or_fail(sync_fd, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_or_fail(sync_fd, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
	mount_or_fail(sync_fd, "mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail(sync_fd, "sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

/* Finds the program as execvp would, with the container's PATH. */
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

static void __attribute__((noreturn)) child_main(struct child_ctx *ctx)
{
	const struct husk_create_msg *m = ctx->m;
	const struct husk_process_spec *p = &m->process;
	int sfd = ctx->sync_fd;
	sigset_t none;
	char program[4096];
	char c;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (setsid() < 0)
		child_fail(sfd, "setsid: %s", strerror(errno));

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(sfd, "making mounts private: %s", strerror(errno));
	if (chdir(GUEST_ROOTFS_DIR) < 0)
		child_fail(sfd, "entering the rootfs: %s", strerror(errno));
	child_mounts(sfd);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(sfd, "pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(sfd, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		child_fail(sfd, "chdir /: %s", strerror(errno));
	if (m->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		child_fail(sfd, "making the rootfs read-only: %s", strerror(errno));
	if (m->hostname && sethostname(m->hostname, strlen(m->hostname)) < 0)
		child_fail(sfd, "sethostname: %s", strerror(errno));

	if (ctx->terminal) {
		/* a pty of the container's own devpts, so ttyname() works inside */
		int master = -1, slave = -1;
		struct husk_err perr = { 0 };
		if (husk_pty_open(&master, &slave, O_NONBLOCK, p->rows, p->cols, &perr) < 0 ||
		    husk_fd_send(ctx->pty_sock, master, "M", &perr) < 0)
			child_fail(sfd, "container terminal: %s", perr.msg);
		close(master);
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			child_fail(sfd, "setting the controlling terminal: %s", strerror(errno));
		for (int i = 0; i < 3; i++)
			if (dup2(slave, i) < 0)
				child_fail(sfd, "dup2 of the terminal: %s", strerror(errno));
		if (slave > 2)
			close(slave);
	} else {
		for (int i = 0; i < 3; i++)
			if (dup2(ctx->stdio[i], i) < 0)
				child_fail(sfd, "dup2 of stdio %d: %s", i, strerror(errno));
	}

	if (setgroups(p->n_gids, p->gids) < 0)
		child_fail(sfd, "setgroups: %s", strerror(errno));
	if (setgid(p->gid) < 0)
		child_fail(sfd, "setgid %u: %s", p->gid, strerror(errno));
	if (setuid(p->uid) < 0)
		child_fail(sfd, "setuid %u: %s", p->uid, strerror(errno));
	if (chdir(p->cwd) < 0)
		child_fail(sfd, "chdir to cwd %s: %s", p->cwd, strerror(errno));
	int r = resolve_program(p->args[0], p->env, program, sizeof program);
	if (r < 0)
		child_fail(sfd, "exec: \"%s\": %s", p->args[0],
			   r == -ENOENT ? "executable file not found in $PATH" : strerror(-r));

	/* parked: the host's START releases us */
	if (write(sfd, "R", 1) != 1)
		_exit(1);
	close(sfd);
	if (read(ctx->start_fd, &c, 1) != 1)
		_exit(1); /* deleted before start */
	close(ctx->start_fd);

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

/* Waits for the parked child's "R" or its error message. */
static int wait_child_ready(int sync_fd, pid_t pid, struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 1];
	struct pollfd pfd = { .fd = sync_fd, .events = POLLIN };
	int r = poll(&pfd, 1, SETUP_TIMEOUT_MS);
	if (r == 0)
		return husk_err_set(err, ETIMEDOUT, "container setup did not finish in %d s", SETUP_TIMEOUT_MS / 1000);
	ssize_t n = read(sync_fd, msg, sizeof msg - 1);
	if (n == 1 && msg[0] == 'R')
		return 0;
	if (n > 1 && msg[0] == 'E') {
		msg[n] = '\0';
		return husk_err_set(err, EINVAL, "%s", msg + 1);
	}
	return husk_err_set(err, EIO, "container process %d died during setup", (int)pid);
}

int container_create(struct conn *c, const struct husk_create_msg *m, pid_t *pid_out, struct husk_err *err)
{
	/* fds: sync[2], start[2], in[2], out[2], errp[2], pty master/slave */
	int sync_p[2] = { -1, -1 }, start_p[2] = { -1, -1 };
	int in_p[2] = { -1, -1 }, out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 };
	int master = -1, pty_sp[2] = { -1, -1 };
	int r;

	r = mount_rootfs(m->rootfs_tag, m->readonly, err);
	if (r < 0)
		return r;
	if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(start_p, O_CLOEXEC) < 0) {
		r = husk_err_sys(err, errno, "pipe");
		goto fail;
	}
	struct child_ctx ctx = { .m = m, .sync_fd = sync_p[1], .start_fd = start_p[0], .pty_sock = -1 };
	if (m->process.terminal) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty_sp) < 0) {
			r = husk_err_sys(err, errno, "socketpair");
			goto fail;
		}
		ctx.terminal = true;
		ctx.pty_sock = pty_sp[1];
	} else {
		if (m->stdin_open) {
			if (pipe2(in_p, O_CLOEXEC) < 0) {
				r = husk_err_sys(err, errno, "pipe");
				goto fail;
			}
		} else {
			in_p[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (in_p[0] < 0) {
				r = husk_err_sys(err, errno, "opening /dev/null");
				goto fail;
			}
		}
		if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
			r = husk_err_sys(err, errno, "pipe");
			goto fail;
		}
		ctx.stdio[0] = in_p[0];
		ctx.stdio[1] = out_p[1];
		ctx.stdio[2] = err_p[1];
	}

	long pid = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, NULL, NULL,
			   NULL, NULL);
	if (pid < 0) {
		r = husk_err_sys(err, errno, "clone of the container process");
		goto fail;
	}
	if (pid == 0)
		child_main(&ctx);

	close(sync_p[1]);
	sync_p[1] = -1;
	close(start_p[0]);
	start_p[0] = -1;
	r = wait_child_ready(sync_p[0], (pid_t)pid, err);
	if (r == 0 && m->process.terminal) {
		master = husk_fd_recv(pty_sp[0], MSG_DONTWAIT, err);
		r = master < 0 ? master : 0;
		if (master >= 0)
			fcntl(master, F_SETFL, O_NONBLOCK);
	}
	if (r < 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		goto fail;
	}

	struct proc *p = calloc(1, sizeof *p);
	if (!p) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
		r = husk_err_set(err, ENOMEM, "out of memory");
		goto fail;
	}
	p->pid = (pid_t)pid;
	p->conn = c;
	p->terminal = m->process.terminal;
	p->start_fd = start_p[1];
	start_p[1] = -1;
	if (p->terminal) {
		p->out_w.fd = master;
		p->in_w.fd = dup(master);
		p->err_w.fd = -1;
		master = -1;
	} else {
		p->out_w.fd = out_p[0];
		p->err_w.fd = err_p[0];
		p->in_w.fd = m->stdin_open ? in_p[1] : -1;
		out_p[0] = err_p[0] = -1;
		if (m->stdin_open)
			in_p[1] = -1;
		fcntl(p->out_w.fd, F_SETFL, O_NONBLOCK);
		fcntl(p->err_w.fd, F_SETFL, O_NONBLOCK);
		if (p->in_w.fd >= 0)
			fcntl(p->in_w.fd, F_SETFL, O_NONBLOCK);
	}
	close(sync_p[0]);
	sync_p[0] = -1;
	int rest[] = { in_p[0], in_p[1], out_p[1], err_p[1], pty_sp[0], pty_sp[1] };
	close_fds(rest, sizeof rest / sizeof rest[0]);
	c->proc = p;
	the_container = p;
	proc_register(p);
	*pid_out = p->pid;
	GLOG_INFO("container %s created, pid %d", m->id, (int)p->pid);
	return 0;

fail:;
	int all[] = { sync_p[0], sync_p[1], start_p[0], start_p[1], in_p[0], in_p[1], out_p[0],
		      out_p[1], err_p[0], err_p[1], master, pty_sp[0], pty_sp[1] };
	close_fds(all, sizeof all / sizeof all[0]);
	umount2(GUEST_ROOTFS_DIR, MNT_DETACH);
	return r;
}

int container_start(struct conn *c, struct husk_err *err)
{
	struct proc *p = the_container;
	if (!p || c->proc != p)
		return husk_err_set(err, ENOENT, "no container was created on this session");
	if (p->start_fd < 0)
		return husk_err_set(err, EALREADY, p->exited ? "the container process has exited"
							       : "the container was started already");
	if (write(p->start_fd, "S", 1) != 1)
		return husk_err_sys(err, errno, "releasing the container process");
	close(p->start_fd);
	p->start_fd = -1;
	return 0;
}
