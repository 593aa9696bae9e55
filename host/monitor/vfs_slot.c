/* Slots 1 .. HUSK_POD_MAX - 1 of a running sandbox's share (and slot 0
 * of a pool VM's, whose share has ctr/0): another
 * container's tree put in (husk_vfs_inject) and taken out
 * (husk_vfs_eject) from outside, in the sandbox monitor's mount namespace.
 *
 * The share (<sandbox>/vfs) is read-only and shared there; virtiofsd's
 * copy of it is a slave. A tree built on a private tmpfs beside it and
 * then moved onto vfs/ctr/<n> reaches virtiofsd in one step, complete;
 * its lazy unmount reaches it the same way. The share itself is never
 * made writable (its superblock is virtiofsd's too). */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proto/msg_container.h"
#include "proto/proto.h"
#include "host/monitor/vfs_mount.h"
#include "host/monitor/vfs_slot.h"

/* where the caller was, to go back after a visit to the sandbox's
 * namespace; lock: <sandbox>/share.lock, held for the visit, so that a
 * slot's check and its move are one step for concurrent callers */
struct ns_visit {
	int own_ns, cwd, lock;
};

static int check_slot(uint32_t slot, struct husk_err *err)
{
	if (slot >= HUSK_POD_MAX)
		return husk_err_set(err, EINVAL, "share slot %u is not one of 0..%u", slot, HUSK_POD_MAX - 1);
	return 0;
}

/* In the sandbox's namespace: slot 0 only where the share has ctr/0 (a
 * pool VM's, built with pool_share); a cold VM's slot 0 is the share's top */
static int check_slot0(const char *dst, uint32_t slot, struct husk_err *err)
{
	struct stat st;
	if (slot == 0 && (lstat(dst, &st) < 0 || !S_ISDIR(st.st_mode)))
		return husk_err_set(err, EINVAL, "share slot 0 is not one of 1..%u (the share is no pool VM's)",
				    HUSK_POD_MAX - 1);
	return 0;
}

static int lock_share(const char *sandbox_dir, struct husk_err *err)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/share.lock", sandbox_dir) >= (int)sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "the sandbox's state directory path is too long");
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return husk_err_sys(err, errno, "locking %s", path);
	return steal_fd(fd);
}

static int enter_sandbox(const struct husk_pid_ref *sandbox, const char *sandbox_dir, struct ns_visit *v,
			 struct husk_err *err)
{
	v->own_ns = v->cwd = v->lock = -1;
	if (sandbox->pid <= 0)
		return husk_err_set(err, ESRCH, "the sandbox has no monitor");
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, sandbox->pid, 0);
	if (pidfd < 0 && errno != ESRCH)
		return husk_err_sys(err, errno, "pidfd_open of the sandbox's monitor (pid %d)", (int)sandbox->pid);
	/* checked after the pidfd is held: the pid cannot be reused under it */
	if (pidfd < 0 || !husk_pid_ref_alive(sandbox))
		return husk_err_set(err, ESRCH, "the sandbox's monitor (pid %d) is gone", (int)sandbox->pid);
	_cleanup_close_ int own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		return husk_err_sys(err, errno, "opening /proc/self/ns/mnt");
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return husk_err_sys(err, errno, "opening the working directory");
	_cleanup_close_ int lock = lock_share(sandbox_dir, err);
	if (lock < 0)
		return lock;
	if (setns(pidfd, CLONE_NEWNS) < 0)
		return husk_err_sys(err, errno, "entering the mount namespace of the sandbox's monitor");
	v->own_ns = steal_fd(own);
	v->cwd = steal_fd(cwd);
	v->lock = steal_fd(lock);
	return 0;
}

/* Staying would pin the sandbox's namespace (and every tree in it) past
 * the sandbox's end. */
static int leave_sandbox(struct ns_visit *v, struct husk_err *err)
{
	int r = 0;
	if (setns(v->own_ns, CLONE_NEWNS) < 0 || fchdir(v->cwd) < 0)
		r = husk_err_sys(err, errno, "returning to the caller's mount namespace");
	close(v->own_ns);
	close(v->cwd);
	close(v->lock);
	v->own_ns = v->cwd = v->lock = -1;
	return r;
}

/* The sources, opened here (the caller's namespace). */
static int open_trees(const struct husk_spec *spec, int *rootfs, int *mounts, uint32_t n, struct husk_err *err)
{
	husk_vfs_mount_points(spec);
	if ((*rootfs = husk_tree_open(spec->rootfs, true, husk_spec_rootfs_staged_ro(spec), err)) < 0)
		return husk_err_wrap(err, "the rootfs");
	for (uint32_t i = 0; i < n; i++) {
		const struct husk_mount *m = &spec->container->mounts[i];
		if (!m->bind)
			continue;
		mounts[i] = husk_tree_open(m->host_source, (m->flags & MS_REC) != 0, (m->flags & MS_RDONLY) != 0, err);
		if (mounts[i] < 0)
			return husk_err_wrap(err, "mount %s", m->destination);
	}
	return 0;
}

static void close_trees(int rootfs, int *mounts, uint32_t n)
{
	if (rootfs >= 0)
		close(rootfs);
	for (uint32_t i = 0; mounts && i < n; i++)
		if (mounts[i] >= 0)
			close(mounts[i]);
	free(mounts);
}

/* true when something is mounted on path (its device differs from its
 * parent's) */
static int mounted_on(const char *path, bool *yes, struct husk_err *err)
{
	char parent[PATH_MAX];
	struct stat st, pst;
	snprintf(parent, sizeof parent, "%s/..", path);
	if (lstat(path, &st) < 0)
		return husk_err_sys(err, errno, "the share's slot %s", path);
	if (!S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR, "the share's slot %s is no directory", path);
	if (stat(parent, &pst) < 0)
		return husk_err_sys(err, errno, "the share's slot %s", path);
	*yes = st.st_dev != pst.st_dev;
	return 0;
}

/* In the sandbox's namespace: the tree on <sandbox>/ctr<n>.stage, then
 * moved onto <sandbox>/vfs/ctr/<n>. */
static int place(const char *sandbox_dir, uint32_t slot, const struct husk_spec *spec, const struct husk_vfs_trees *t,
		 struct husk_err *err)
{
	char stage[PATH_MAX], dst[PATH_MAX], opts[64];
	bool busy;
	uint32_t n = spec->container ? spec->container->n_mounts : 0;
	if (snprintf(dst, sizeof dst, "%s/vfs/ctr/%u", sandbox_dir, slot) >= (int)sizeof dst ||
	    snprintf(stage, sizeof stage, "%s/ctr%u.stage", sandbox_dir, slot) >= (int)sizeof stage)
		return husk_err_set(err, ENAMETOOLONG, "the sandbox's state directory path is too long");
	int r = check_slot0(dst, slot, err);
	if (r < 0 || (r = mounted_on(dst, &busy, err)) < 0)
		return r;
	if (busy)
		return husk_err_set(err, EBUSY, "the share's slot %u holds a container already", slot);
	/* a stage left by a caller that died half-way (we hold the lock: no
	 * other is building) is private to this namespace: take it down */
	umount2(stage, MNT_DETACH | UMOUNT_NOFOLLOW);
	if (mkdir(stage, 0700) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", stage);
	snprintf(opts, sizeof opts, HUSK_VFS_TMPFS_OPTS, HUSK_VFS_INODES(n));
	if (mount("husk-vfs", stage, "tmpfs", HUSK_VFS_SB_FLAGS, opts) < 0)
		r = husk_err_sys(err, errno, "mounting a tmpfs on %s", stage);
	if (r == 0)
		r = husk_vfs_build(stage, spec, t, err);
	if (r == 0 && mount(NULL, stage, NULL, MS_REMOUNT | MS_RDONLY | HUSK_VFS_SB_FLAGS, NULL) < 0)
		r = husk_err_sys(err, errno, "making %s read-only", stage);
	/* one step: the guest sees the slot empty or whole */
	if (r == 0 && mount(stage, dst, NULL, MS_MOVE, NULL) < 0)
		r = husk_err_sys(err, errno, "moving %s onto %s", stage, dst);
	if (r < 0)
		umount2(stage, MNT_DETACH | UMOUNT_NOFOLLOW);
	rmdir(stage);
	return r;
}

int husk_vfs_inject(const struct husk_pid_ref *sandbox, const char *sandbox_dir, uint32_t slot,
		    const struct husk_spec *spec, struct husk_err *err)
{
	int r = check_slot(slot, err);
	if (r < 0)
		return r;
	uint32_t n = spec->container ? spec->container->n_mounts : 0;
	int rootfs = -1, *mounts = calloc(n ? n : 1, sizeof *mounts);
	if (!mounts)
		return husk_err_set(err, ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		mounts[i] = -1;
	struct ns_visit v;
	if ((r = open_trees(spec, &rootfs, mounts, n, err)) == 0 &&
	    (r = enter_sandbox(sandbox, sandbox_dir, &v, err)) == 0) {
		struct husk_vfs_trees t = { rootfs, mounts };
		r = place(sandbox_dir, slot, spec, &t, err);
		int back = leave_sandbox(&v, err);
		if (r == 0)
			r = back;
	}
	close_trees(rootfs, mounts, n);
	return r < 0 ? husk_err_wrap(err, "putting a container into slot %u of the sandbox's share", slot) : 0;
}

int husk_vfs_eject(const struct husk_pid_ref *sandbox, const char *sandbox_dir, uint32_t slot, struct husk_err *err)
{
	char dst[PATH_MAX];
	struct ns_visit v;
	int r = check_slot(slot, err);
	if (r < 0)
		return r;
	if (snprintf(dst, sizeof dst, "%s/vfs/ctr/%u", sandbox_dir, slot) >= (int)sizeof dst)
		return husk_err_set(err, ENAMETOOLONG, "the sandbox's state directory path is too long");
	if ((r = enter_sandbox(sandbox, sandbox_dir, &v, err)) < 0)
		return r;
	bool busy = false;
	if ((r = check_slot0(dst, slot, err)) == 0)
		r = mounted_on(dst, &busy, err);
	if (r == 0 && !busy)
		r = husk_err_set(err, ENOENT, "the share's slot %u holds nothing", slot);
	if (r == 0 && umount2(dst, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		r = husk_err_sys(err, errno, "unmounting %s", dst);
	int back = leave_sandbox(&v, err);
	return r < 0 ? r : back;
}
