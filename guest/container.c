/* The container: its init process in the namespaces of linux.namespaces
 * (spawn.c creates them), pivot_root'ed into the virtio-fs rootfs (GUEST_ROOTFS_DIR). CREATE builds it up
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

#include "common/pty.h"
#include "proto/msg_container.h"
#include "guest/guest.h"

static struct proc *the_container;

struct proc *container_proc(void)
{
	return the_container;
}

uint32_t container_namespaces(const struct husk_create_msg *m)
{
	return m->container ? m->container->namespaces : HUSK_NS_DEFAULT;
}

/* A bind remount; in a user namespace the flags the kernel locked on the
 * mount (nosuid, nodev, noexec, atime) must be kept, so retry with them. */
int container_remount(const char *path, unsigned long flags)
{
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | flags | container_mount_flags(path), NULL) == 0 ? 0
													      : -errno;
}

/* In the container init, before its stdio and user are set up: the
 * rootfs bound on itself (pivot_root needs a mount point), sysctl, the
 * spec's mounts and /dev (container_fs.c), pivot_root, read-only root,
 * hostname, domainname, then read-only and masked paths. Failures end the
 * child with a message for the host. */
void container_child_root(const struct husk_create_msg *m, int sfd)
{
	const struct husk_container_config *c = m->container;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		spawn_child_fail(sfd, "making mounts private: %s", strerror(errno));
	if (mount(GUEST_ROOTFS_DIR, GUEST_ROOTFS_DIR, NULL, MS_BIND | MS_REC, NULL) < 0)
		spawn_child_fail(sfd, "binding the rootfs: %s", strerror(errno));
	/* the writer's namespaces decide which values a namespaced key sets */
	container_fs_sysctl(c, sfd);
	container_fs_mounts(c, GUEST_ROOTFS_DIR, sfd);
	if (m->notify_socket)
		notify_mount(m->notify_socket, GUEST_ROOTFS_DIR, sfd);
	if (chdir(GUEST_ROOTFS_DIR) < 0)
		spawn_child_fail(sfd, "entering the rootfs: %s", strerror(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		spawn_child_fail(sfd, "pivot_root: %s", strerror(errno));
	if (umount2(".", MNT_DETACH) < 0)
		spawn_child_fail(sfd, "detaching the old root: %s", strerror(errno));
	if (chdir("/") < 0)
		spawn_child_fail(sfd, "chdir /: %s", strerror(errno));
	container_fs_cwd(m->process.cwd, sfd);
	int r = m->readonly ? container_remount("/", MS_RDONLY) : 0;
	if (r < 0)
		spawn_child_fail(sfd, "making the rootfs read-only: %s", strerror(-r));
	/* the host refuses a name without a uts namespace (runc's rule): the
	 * guest's own names are never changed */
	bool uts = container_namespaces(m) & HUSK_NS_UTS;
	if (uts && m->hostname && sethostname(m->hostname, strlen(m->hostname)) < 0)
		spawn_child_fail(sfd, "sethostname: %s", strerror(errno));
	if (uts && c && c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
		spawn_child_fail(sfd, "setdomainname: %s", strerror(errno));
	container_fs_finish(c, sfd);
}

int container_create(struct conn *c, const struct husk_create_msg *m, pid_t *pid_out, struct husk_err *err)
{
	struct proc *p;
	int r = mount_rootfs(m->rootfs_tag, err);
	if (r < 0)
		return r;
	if (m->notify_socket && (r = notify_listen(err)) < 0)
		return r;
	struct spawn_req req = {
		.kind = SPAWN_CONTAINER_INIT,
		.process = &m->process,
		.stdin_open = m->stdin_open,
		.create = m,
	};
	r = spawn_process(c, &req, &p, err);
	if (r < 0) {
		umount2(GUEST_VFS_DIR, MNT_DETACH);
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
		.kind = SPAWN_EXEC,
		.process = process,
		.stdin_open = stdin_open,
		.target = init->pid,
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
		return husk_err_set(err, EALREADY,
				    p->exited ? "the container process has exited"
					      : "the container was started already");
	if (write(p->start_fd, "S", 1) != 1)
		return husk_err_sys(err, errno, "releasing the container process");
	close(p->start_fd);
	p->start_fd = -1;
	return 0;
}
