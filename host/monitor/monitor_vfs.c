/* The directory virtiofsd shares with the guest, built in the monitor's
 * own mount namespace: <state>/vfs is a small tmpfs holding
 *   rootfs/            a bind mount of the container rootfs (read-only,
 *                      submounts included, for root.readonly)
 *   binds/N/<name>     a bind mount of the source of the spec's N-th bind
 *                      mount, <name> the source's own last component, so
 *                      that the guest's mountinfo shows it as the root
 *   mounts/N           a link to binds/N/<name>, the name the guest uses
 * and nothing else; it is made read-only once the binds are in place, so
 * that a guest which mounts the share again (a privileged container) can
 * write nowhere beside them. Nothing reaches the host's mount table, and
 * everything goes away with the monitor and its children. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto/msg_container.h"
#include "host/monitor/monitor_priv.h"
#include "host/monitor/vfs_mount.h"

/* Opens path (relative) under root_fd with symlinks resolved inside it. */
static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* For a read-only rootfs the guest cannot create missing mount points, so
 * the monitor creates them in the real rootfs first (as runc would), every
 * component resolved inside the rootfs. Best effort: what it cannot create
 * fails in the guest with a clear message. */
static void make_mount_point(int root_fd, const char *dst, bool dir)
{
	char buf[HUSK_MAX_PATH + 1];
	snprintf(buf, sizeof buf, "%s", dst + 1);
	if (!buf[0])
		return;
	int parent = dup(root_fd);
	for (char *comp = buf; parent >= 0;) {
		char *slash = strchr(comp, '/');
		bool last = !slash;
		if (slash)
			*slash = '\0';
		int fd = -1;
		if (last && !dir) {
			fd = openat(parent, comp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		} else {
			if (mkdirat(parent, comp, 0755) < 0 && errno != EEXIST)
				break;
			if (!last)
				fd = open_in_root(root_fd, buf, O_PATH | O_DIRECTORY);
		}
		if (fd >= 0 && last)
			close(fd);
		if (last || fd < 0)
			break;
		*slash = '/';
		close(parent);
		parent = fd;
		comp = slash + 1;
	}
	if (parent >= 0)
		close(parent);
}

/* the tmpfs holds directories and links only: no data pages beyond a few */
#define VFS_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=%u"
#define VFS_SB_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int stage_rootfs(const struct husk_monitor_args *a, const char *dir, struct husk_err *err)
{
	char path[PATH_MAX];
	const struct husk_container_config *c = a->spec->container;
	if (a->spec->readonly && c) {
		int root_fd = open(a->spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (uint32_t i = 0; root_fd >= 0 && i < c->n_mounts; i++)
			make_mount_point(root_fd, c->mounts[i].destination,
					 !c->mounts[i].bind || c->mounts[i].bind_dir);
		/* where the guest binds the container's sd_notify socket */
		if (root_fd >= 0 && a->spec->notify_container)
			make_mount_point(root_fd, a->spec->notify_container, false);
		if (root_fd >= 0)
			close(root_fd);
	}
	snprintf(path, sizeof path, "%s/rootfs", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	int r = husk_bind_into(a->spec->rootfs, path, true, a->spec->readonly, err);
	return r < 0 ? husk_err_wrap(err, "staging the rootfs") : 0;
}

/* binds/N/<last component of the source> (binds/N itself for "/"), and
 * the link mounts/N to it */
static int stage_bind(const struct husk_mount *m, const char *dir, struct husk_err *err)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *name = strrchr(m->host_source, '/');
	name = name ? name + 1 : m->host_source;
	snprintf(path, sizeof path, "%s/binds/%u", dir, m->bind_index);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	int n = snprintf(link, sizeof link, "../binds/%u%s%s", m->bind_index, name[0] ? "/" : "", name);
	if (name[0] && (size_t)snprintf(path, sizeof path, "%s/binds/%u/%s", dir, m->bind_index, name) >= sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "bind source %s: path too long", m->host_source);
	if (m->bind_dir) {
		if (name[0] && mkdir(path, 0755) < 0)
			return husk_err_sys(err, errno, "creating %s", path);
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return husk_err_sys(err, errno, "creating %s", path);
		close(fd);
	}
	int r = husk_bind_into(m->host_source, path, (m->flags & MS_REC) != 0, (m->flags & MS_RDONLY) != 0, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/mounts/%u", dir, m->bind_index);
	if (n < 0 || symlink(link, path) < 0)
		return husk_err_sys(err, errno, "linking %s", path);
	return 0;
}

int husk_vfs_stage(const struct husk_monitor_args *a, char *dir, size_t cap, struct husk_err *err)
{
	char path[PATH_MAX], opts[64];
	if (unshare(CLONE_NEWNS) < 0)
		return husk_err_sys(err, errno, "a mount namespace for the monitor");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return husk_err_sys(err, errno, "making the monitor's mounts private");
	if (snprintf(dir, cap, "%s/vfs", a->state_dir) >= (int)cap)
		return husk_err_set(err, ENAMETOOLONG, "state directory path is too long");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", dir);
	const struct husk_container_config *c = a->spec->container;
	uint32_t n_mounts = c ? c->n_mounts : 0;
	snprintf(opts, sizeof opts, VFS_TMPFS_OPTS, 3 * n_mounts + 8);
	if (mount("husk-vfs", dir, "tmpfs", VFS_SB_FLAGS, opts) < 0)
		return husk_err_sys(err, errno, "mounting a tmpfs on %s", dir);
	snprintf(path, sizeof path, "%s/mounts", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	snprintf(path, sizeof path, "%s/binds", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	int r = stage_rootfs(a, dir, err);
	for (uint32_t i = 0; r == 0 && i < n_mounts; i++)
		if (c->mounts[i].bind && (r = stage_bind(&c->mounts[i], dir, err)) < 0)
			husk_err_wrap(err, "mount %s", c->mounts[i].destination);
	if (r < 0)
		return r;
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | VFS_SB_FLAGS, NULL) < 0)
		return husk_err_sys(err, errno, "making %s read-only", dir);
	/* Shared before virtiofsd copies it into its own namespace (as a
	 * slave): a mount added here later (a pod's volume, after remounting
	 * the tmpfs read-write for a moment) reaches the running share. */
	if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
		return husk_err_sys(err, errno, "making %s shared", dir);
	return 0;
}
