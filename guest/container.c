/* The containers of the VM, ctrs[HUSK_POD_MAX] (pods: slot 0 the first,
 * 1..15 members): each one's init process in the namespaces of
 * linux.namespaces (spawn.c creates them, or joins another slot's),
 * pivot_root'ed into its rootfs on the virtio-fs share (slot 0:
 * GUEST_ROOTFS_DIR, slot n: vfs/ctr/<n>/rootfs). CREATE builds it up to
 * the exec and parks it on a start pipe; START releases it (runc's
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
#include "proto/msg_session.h"
#include "guest/guest.h"

static struct gctr ctrs[HUSK_POD_MAX];

struct proc *container_proc(void)
{
	return ctrs[0].used ? ctrs[0].init : NULL;
}

struct gctr *container_get(uint32_t idx)
{
	return idx < HUSK_POD_MAX && ctrs[idx].used ? &ctrs[idx] : NULL;
}

struct gctr *container_by_conn(struct conn *c)
{
	for (uint32_t i = 0; i < HUSK_POD_MAX; i++)
		if (ctrs[i].used && ctrs[i].conn == c)
			return &ctrs[i];
	return NULL;
}

int container_resolve(struct conn *c, bool has_ctr, uint32_t ctr, struct gctr **out, struct husk_err *err)
{
	uint32_t idx;
	int r = ctr_resolve(ctrs, c->ctr, has_ctr, ctr, &idx, err);
	if (r < 0)
		return r;
	*out = &ctrs[idx];
	return 0;
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

/* A sandbox's root (docs/design-sandbox.md): an overlay on the rootfs
 * path, the share's rootfs its lower layer (the host staged it read-only),
 * the upper and work dirs on a tmpfs of mib MiB in this mount namespace
 * only; both go with the namespace. The upper's root takes the lower's
 * owner and mode, so / looks as the image made it. */
static void overlay_root(const struct gctr *g, uint32_t mib, int sfd)
{
	char dir[64], upper[80], work[80], data[GUEST_JOIN_MAX];
	struct stat st;
	snprintf(dir, sizeof dir, "/run/husk/ovl%u", g->idx);
	if (stat(g->rootfs, &st) < 0)
		spawn_child_fail(sfd, "the rootfs: %s", strerror(errno));
	if ((mkdir("/run/husk", 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		spawn_child_fail(sfd, "creating %s: %s", dir, strerror(errno));
	snprintf(data, sizeof data, "size=%um,mode=0700", mib);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, data) < 0)
		spawn_child_fail(sfd, "mounting the overlay's tmpfs (%u MiB): %s", mib, strerror(errno));
	snprintf(upper, sizeof upper, "%s/upper", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	if (mkdir(upper, st.st_mode & 07777) < 0 || chown(upper, st.st_uid, st.st_gid) < 0 ||
	    chmod(upper, st.st_mode & 07777) < 0 || mkdir(work, 0700) < 0)
		spawn_child_fail(sfd, "preparing the overlay's upper layer: %s", strerror(errno));
	if ((size_t)snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", g->rootfs, upper, work) >=
	    sizeof data)
		spawn_child_fail(sfd, "overlay options too long");
	if (mount("overlay", g->rootfs, "overlay", 0, data) < 0)
		spawn_child_fail(sfd, "mounting the overlay on the rootfs: %s", strerror(errno));
}

/* In the container init, before its stdio and user are set up: the
 * rootfs bound on itself (pivot_root needs a mount point), sysctl, the
 * spec's mounts and /dev (container_fs.c), pivot_root, read-only root,
 * hostname, domainname, then read-only and masked paths. Failures end the
 * child with a message for the host. */
void container_child_root(const struct husk_create_msg *m, const struct gctr *g, int sfd)
{
	const struct husk_container_config *c = m->container;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		spawn_child_fail(sfd, "making mounts private: %s", strerror(errno));
	if (m->overlay_mib)
		overlay_root(g, m->overlay_mib, sfd);
	else if (mount(g->rootfs, g->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		spawn_child_fail(sfd, "binding the rootfs: %s", strerror(errno));
	/* the writer's namespaces decide which values a namespaced key sets */
	container_fs_sysctl(c, sfd);
	container_fs_mounts(c, g, sfd);
	if (m->notify_socket)
		notify_mount(m->notify_socket, g->rootfs, sfd);
	if (chdir(g->rootfs) < 0)
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
	 * guest's own names are never changed; a joined one is set (runc) */
	bool uts = (container_namespaces(m) | m->join.mask) & HUSK_NS_UTS;
	if (uts && m->hostname && sethostname(m->hostname, strlen(m->hostname)) < 0)
		spawn_child_fail(sfd, "sethostname: %s", strerror(errno));
	if (uts && c && c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
		spawn_child_fail(sfd, "setdomainname: %s", strerror(errno));
	container_fs_finish(c, sfd);
}

/* the share: slot 0 mounts it; a member finds its tree in it, injected by
 * the host before CREATE */
static int container_share(const struct husk_create_msg *m, const struct gctr *g, struct husk_err *err)
{
	if (g->idx == 0)
		return mount_rootfs(m->rootfs_tag, g->rootfs, err);
	struct stat st;
	if (stat(g->rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOENT, "the shared directory has no rootfs for container %u of the pod",
				    g->idx);
	return 0;
}

static void slot_free(struct gctr *g)
{
	cgroup_unwatch_oom(g);
	int r = cgroup_remove(g);
	if (r < 0)
		GLOG_ERR("removing %s: %s", g->cgroup, strerror(-r));
	memset(g, 0, sizeof *g);
	g->oom_w.fd = -1;
}

int container_create(struct conn *c, const struct husk_create_msg *m, pid_t *pid_out, struct husk_err *err)
{
	struct proc *p;
	container_collect(); /* a slot whose cgroup was still emptying may be free now */
	int r = ctr_check_create(ctrs, c->ctr, m->ctr, &m->join, err);
	if (r < 0)
		return r;
	if (m->ctr && m->notify_socket)
		return husk_err_set(err, EOPNOTSUPP,
				    "sd_notify (NOTIFY_SOCKET) is not supported in a pod's member yet");
	struct gctr *g = &ctrs[m->ctr];
	memset(g, 0, sizeof *g);
	g->oom_w.fd = -1;
	ctr_paths(g, m->ctr, m->tree);
	if ((r = container_share(m, g, err)) < 0)
		return r;
	if (m->notify_socket && (r = notify_listen(err)) < 0)
		return r;
	struct spawn_req req = {
		.kind = SPAWN_CONTAINER_INIT,
		.process = &m->process,
		.stdin_open = m->stdin_open,
		.create = m,
		.ctr = g,
	};
	for (int k = 0; k < HUSK_JOIN_KINDS; k++)
		if (m->join.mask & husk_join_ns((enum husk_join_kind)k))
			req.join_pid[k] = ctrs[m->join.slot[k]].init->pid;
	r = spawn_process(c, &req, &p, err);
	if (r < 0) {
		/* a member's failure must not pull the pod's share */
		if (g->idx == 0)
			umount2(GUEST_VFS_DIR, MNT_DETACH);
		slot_free(g);
		return r;
	}
	g->used = true;
	g->init = p;
	p->owner = g;
	g->conn = c;
	c->proc = p;
	c->ctr = g;
	proc_register(p);
	*pid_out = p->pid;
	GLOG_INFO("container %s created in slot %u, pid %d", m->id, g->idx, (int)p->pid);
	return 0;
}

int container_exec(struct conn *c, uint32_t ctr, const struct husk_process_spec *process, bool stdin_open,
		   pid_t *pid_out, struct husk_err *err)
{
	struct gctr *g = container_get(ctr);
	struct proc *init = g ? g->init : NULL, *p;
	if (!init && ctr == 0)
		return husk_err_set(err, ENOENT, "no container in this VM");
	if (!init || g->closing)
		return husk_err_set(err, ENOENT, "slot %u of the pod holds no container", ctr);
	if (init->exited)
		return husk_err_set(err, ESRCH, "cannot exec in a stopped container");
	if (c->proc)
		return husk_err_set(err, EBUSY, "this session already has a process");
	if (c->ctr && c->ctr != g)
		return husk_err_set(err, EPERM, "this session belongs to container %u of the pod, not %u", c->ctr->idx,
				    ctr);
	struct spawn_req req = {
		.kind = SPAWN_EXEC,
		.process = process,
		.stdin_open = stdin_open,
		.ctr = g,
		.target = init->pid,
	};
	int r = spawn_process(c, &req, &p, err);
	if (r < 0)
		return r;
	c->proc = p;
	c->ctr = g;
	proc_register(p);
	*pid_out = p->pid;
	GLOG_INFO("exec process %d started", (int)p->pid);
	return 0;
}

int container_start(struct conn *c, struct gctr *g, struct husk_err *err)
{
	struct proc *p = g ? g->init : NULL;
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

/* Slot 0's init is gone: the pod goes with it. Each live member's cgroup
 * is killed and its session told 137 first (best effort: the VM powers off
 * after slot 0's EXIT). */
void container_init_exited(struct proc *p)
{
	if (!ctrs[0].used || ctrs[0].init != p)
		return;
	for (uint32_t i = 1; i < HUSK_POD_MAX; i++) {
		struct gctr *g = &ctrs[i];
		if (!g->used)
			continue;
		int r = cgroup_kill(g);
		if (r < 0)
			GLOG_ERR("killing container %u of the pod: %s", i, strerror(-r));
		struct proc *m = g->init;
		if (m && !m->exit_sent && m->conn) {
			uint8_t buf[32];
			struct husk_cbor_enc e;
			husk_cbor_enc_init(&e, buf, sizeof buf);
			husk_msg_encode_exit(&e, &(struct husk_exit_msg){ .status = 137 });
			conn_send(m->conn, HUSK_MSG_EXIT, 0, 0, e.buf, e.len);
			m->exit_sent = true;
		}
	}
}

/* A member's own session is gone: the member goes (cgroup.kill), and its
 * slot is freed once the init is reaped (container_collect). */
void container_session_closed(struct conn *c)
{
	struct gctr *g = container_by_conn(c);
	if (!g || g->idx == 0)
		return;
	g->closing = true;
	g->conn = NULL;
	if (g->init && !g->init->exited) {
		int r = cgroup_kill(g);
		if (r < 0)
			GLOG_ERR("killing container %u of the pod: %s", g->idx, strerror(-r));
	}
}

void container_collect(void)
{
	for (uint32_t i = 1; i < HUSK_POD_MAX; i++) {
		struct gctr *g = &ctrs[i];
		if (!g->used || !g->closing || (g->init && !g->init->exited))
			continue;
		if (cgroup_remove(g) < 0)
			continue; /* processes still leaving: next round */
		/* forget the slot's dentries, so a reused slot is looked up afresh */
		int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "2", 1) != 1)
				GLOG_ERR("drop_caches: %s", strerror(errno));
			close(fd);
		}
		GLOG_INFO("container %u of the pod is gone; its slot is free", i);
		slot_free(g);
	}
}
