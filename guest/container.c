/* The container: its init process in new mount, pid, uts and ipc
 * namespaces, pivot_root'ed into the virtio-fs rootfs. CREATE builds it up
 * to the exec and parks it on a start pipe; START releases it (runc's
 * create/start split). EXEC adds processes in its namespaces. */
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

static struct proc *the_container;

struct proc *container_proc(void)
{
	return the_container;
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
		spawn_child_fail(sync_fd, "creating mount point %s in the rootfs: %s", path, strerror(errno));
}

static void mount_or_fail(int sync_fd, const char *src, const char *target, const char *fstype, unsigned long flags,
			  const char *data)
{
	ensure_dir(sync_fd, target);
	if (mount(src, target, fstype, flags, data) < 0)
		spawn_child_fail(sync_fd, "mounting %s on %s: %s", fstype, target, strerror(errno));
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
			spawn_child_fail(sync_fd, "mknod %s: %s", path, strerror(errno));
		chmod(path, 0666);
	}
	for (size_t i = 0; i < sizeof default_links / sizeof default_links[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "dev/%s", default_links[i][1]);
		if (symlink(default_links[i][0], path) < 0)
			spawn_child_fail(sync_fd, "symlink %s: %s", path, strerror(errno));
	}
	mount_or_fail(sync_fd, "devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		      "newinstance,ptmxmode=0666,mode=0620,gid=5");
	mount_or_fail(sync_fd, "shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
	mount_or_fail(sync_fd, "mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail(sync_fd, "sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

/* In the container init, before its stdio and user are set up: runc's
 * default mounts in the rootfs, pivot_root into it, read-only root and
 * hostname. Failures end the child with a message for the host. */
void container_child_root(const struct husk_create_msg *m, int sfd)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		spawn_child_fail(sfd, "making mounts private: %s", strerror(errno));
	if (chdir(GUEST_ROOTFS_DIR) < 0)
		spawn_child_fail(sfd, "entering the rootfs: %s", strerror(errno));
	child_mounts(sfd);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		spawn_child_fail(sfd, "pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		spawn_child_fail(sfd, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		spawn_child_fail(sfd, "chdir /: %s", strerror(errno));
	if (m->readonly && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		spawn_child_fail(sfd, "making the rootfs read-only: %s", strerror(errno));
	if (m->hostname && sethostname(m->hostname, strlen(m->hostname)) < 0)
		spawn_child_fail(sfd, "sethostname: %s", strerror(errno));
}

int container_create(struct conn *c, const struct husk_create_msg *m, pid_t *pid_out, struct husk_err *err)
{
	struct proc *p;
	int r = mount_rootfs(m->rootfs_tag, m->readonly, err);
	if (r < 0)
		return r;
	struct spawn_req req = {
		.kind = SPAWN_CONTAINER_INIT, .process = &m->process, .stdin_open = m->stdin_open, .create = m,
	};
	r = spawn_process(c, &req, &p, err);
	if (r < 0) {
		umount2(GUEST_ROOTFS_DIR, MNT_DETACH);
		return r;
	}
	c->proc = p;
	the_container = p;
	proc_register(p);
	*pid_out = p->pid;
	GLOG_INFO("container %s created, pid %d", m->id, (int)p->pid);
	return 0;
}

int container_exec(struct conn *c, const struct husk_process_spec *process, bool stdin_open, pid_t *pid_out,
		   struct husk_err *err)
{
	struct proc *init = the_container, *p;
	if (!init)
		return husk_err_set(err, ENOENT, "no container in this VM");
	if (init->exited)
		return husk_err_set(err, ESRCH, "cannot exec in a stopped container");
	if (c->proc)
		return husk_err_set(err, EBUSY, "this session already has a process");
	struct spawn_req req = {
		.kind = SPAWN_EXEC, .process = process, .stdin_open = stdin_open, .target = init->pid,
	};
	int r = spawn_process(c, &req, &p, err);
	if (r < 0)
		return r;
	c->proc = p;
	proc_register(p);
	*pid_out = p->pid;
	GLOG_INFO("exec process %d started", (int)p->pid);
	return 0;
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
