/* The directory virtiofsd shares with the guest, built in the monitor's
 * own mount namespace: <state>/vfs is a small tmpfs holding
 *   rootfs/            a bind mount of the container rootfs (read-only,
 *                      submounts included, for root.readonly or an
 *                      overlay: io.husk.rootfs.overlay_mib)
 *   binds/N/<name>     a bind mount of the source of the spec's N-th bind
 *                      mount, <name> the source's own last component, so
 *                      that the guest's mountinfo shows it as the root
 *   mounts/N           a link to binds/N/<name>, the name the guest uses
 *   ctr/1 .. ctr/15    empty directories: the slots a pod's other
 *                      containers are injected into later, each a tree of
 *                      the same shape (vfs_slot.c); a pool VM's tree
 *                      (no rootfs) has an empty rootfs/ and ctr/0 too
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
#include "proto/proto.h"
#include "host/monitor/monitor_priv.h"
#include "host/monitor/vfs_mount.h"
#include "host/monitor/vfs_slot.h"

/* Opens path (relative) under root_fd with symlinks resolved inside it. */
static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* For a read-only rootfs without an overlay the guest cannot create missing
 * mount points, so the monitor creates them in the real rootfs first (as
 * runc would), every component resolved inside the rootfs. Best effort:
 * what it cannot create fails in the guest with a clear message. With an
 * overlay the guest makes them in its upper layer. */
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

void husk_vfs_mount_points(const struct husk_spec *spec)
{
	const struct husk_container_config *c = spec->container;
	if (!spec->readonly || spec->overlay_mib || !c)
		return;
	int root_fd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return;
	for (uint32_t i = 0; i < c->n_mounts; i++)
		make_mount_point(root_fd, c->mounts[i].destination, !c->mounts[i].bind || c->mounts[i].bind_dir);
	/* where the guest binds the container's sd_notify socket */
	if (spec->notify_container)
		make_mount_point(root_fd, spec->notify_container, false);
	close(root_fd);
}

/* A tree onto dst: the one opened beforehand (fd, already private and
 * read-only where asked), or src bound there. */
static int attach(const char *src, int fd, const char *dst, bool rec, bool ro, struct husk_err *err)
{
	if (fd < 0)
		return husk_bind_into(src, dst, rec, ro, err);
	return husk_tree_attach(fd, src, dst, err);
}

/* binds/N/<last component of the source> (binds/N itself for "/"), and
 * the link mounts/N to it */
static int build_bind(const struct husk_mount *m, int fd, const char *dir, struct husk_err *err)
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
		int file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (file < 0)
			return husk_err_sys(err, errno, "creating %s", path);
		close(file);
	}
	int r = attach(m->host_source, fd, path, (m->flags & MS_REC) != 0, (m->flags & MS_RDONLY) != 0, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/mounts/%u", dir, m->bind_index);
	if (n < 0 || symlink(link, path) < 0)
		return husk_err_sys(err, errno, "linking %s", path);
	return 0;
}

int husk_vfs_build(const char *dir, const struct husk_spec *spec, const struct husk_vfs_trees *t, struct husk_err *err)
{
	char path[PATH_MAX];
	const struct husk_container_config *c = spec->container;
	snprintf(path, sizeof path, "%s/mounts", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	snprintf(path, sizeof path, "%s/binds", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	snprintf(path, sizeof path, "%s/rootfs", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	int r = spec->rootfs
			? attach(spec->rootfs, t ? t->rootfs : -1, path, true, husk_spec_rootfs_staged_ro(spec), err)
			: 0;
	if (r < 0)
		return husk_err_wrap(err, "staging the rootfs");
	for (uint32_t i = 0; c && i < c->n_mounts; i++)
		if (c->mounts[i].bind && (r = build_bind(&c->mounts[i], t ? t->mounts[i] : -1, dir, err)) < 0)
			return husk_err_wrap(err, "mount %s", c->mounts[i].destination);
	return 0;
}

/* ctr/<first> .. ctr/<HUSK_POD_MAX - 1>, empty */
static int make_slots(const char *dir, uint32_t first, struct husk_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/ctr", dir);
	if (mkdir(path, 0755) < 0)
		return husk_err_sys(err, errno, "creating %s", path);
	for (uint32_t n = first; n < HUSK_POD_MAX; n++) {
		snprintf(path, sizeof path, "%s/ctr/%u", dir, n);
		if (mkdir(path, 0755) < 0)
			return husk_err_sys(err, errno, "creating %s", path);
	}
	return 0;
}

int husk_vfs_stage(const struct husk_monitor_args *a, char *dir, size_t cap, struct husk_err *err)
{
	char opts[64];
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
	/* the slot's own inodes, then ctr/ and its slots */
	snprintf(opts, sizeof opts, HUSK_VFS_TMPFS_OPTS, HUSK_VFS_INODES(n_mounts) + HUSK_POD_MAX + 1);
	if (mount("husk-vfs", dir, "tmpfs", HUSK_VFS_SB_FLAGS, opts) < 0)
		return husk_err_sys(err, errno, "mounting a tmpfs on %s", dir);
	husk_vfs_mount_points(a->spec);
	int r = husk_vfs_build(dir, a->spec, NULL, err);
	/* a pool VM's tree is empty (or pool_share): its container comes into slot 0 */
	if (r < 0 || (r = make_slots(dir, a->spec->rootfs && !a->pool_share ? 1 : 0, err)) < 0)
		return r;
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY | HUSK_VFS_SB_FLAGS, NULL) < 0)
		return husk_err_sys(err, errno, "making %s read-only", dir);
	/* Shared before virtiofsd copies it into its own namespace (as a
	 * slave): a slot moved onto ctr/<n> later (husk_vfs_inject) reaches
	 * the running share, and its unmount too. */
	if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
		return husk_err_sys(err, errno, "making %s shared", dir);
	return 0;
}
