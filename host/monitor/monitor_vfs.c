/* The directory virtiofsd shares with the guest, built in the monitor's
 * own mount namespace: <state>/vfs/rootfs is a bind mount of the container
 * rootfs (read-only for root.readonly) and <state>/vfs/mounts/N one of the
 * source of the spec's N-th bind mount. Nothing reaches the host's mount
 * table, and everything goes away with the monitor and its children. */
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

static int bind_into(const char *src, const char *dst, bool rec, bool ro, struct husk_err *err)
{
	if (mount(src, dst, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return husk_err_sys(err, errno, "bind-mounting %s on %s", src, dst);
	/* not propagated anywhere, not even between our own mounts */
	if (mount(NULL, dst, NULL, MS_PRIVATE | (rec ? MS_REC : 0), NULL) < 0)
		return husk_err_sys(err, errno, "making %s private", dst);
	if (ro && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return husk_err_sys(err, errno, "making %s read-only", dst);
	return 0;
}

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

int husk_vfs_stage(const struct husk_monitor_args *a, char *dir, size_t cap, struct husk_err *err)
{
	char path[PATH_MAX];
	if (unshare(CLONE_NEWNS) < 0)
		return husk_err_sys(err, errno, "a mount namespace for the monitor");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return husk_err_sys(err, errno, "making the monitor's mounts private");
	if (snprintf(dir, cap, "%s/vfs", a->state_dir) >= (int)cap)
		return husk_err_set(err, ENAMETOOLONG, "state directory path is too long");
	snprintf(path, sizeof path, "%s/mounts", dir);
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || (mkdir(path, 0755) < 0 && errno != EEXIST))
		return husk_err_sys(err, errno, "creating %s", path);
	const struct husk_container_config *c = a->spec->container;
	if (a->spec->readonly && c) {
		int root_fd = open(a->spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (uint32_t i = 0; root_fd >= 0 && i < c->n_mounts; i++)
			make_mount_point(root_fd, c->mounts[i].destination,
					 !c->mounts[i].bind || c->mounts[i].bind_dir);
		if (root_fd >= 0)
			close(root_fd);
	}
	snprintf(path, sizeof path, "%s/rootfs", dir);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", path);
	int r = bind_into(a->spec->rootfs, path, true, a->spec->readonly, err);
	if (r < 0)
		return husk_err_wrap(err, "staging the rootfs");
	for (uint32_t i = 0; c && i < c->n_mounts; i++) {
		const struct husk_mount *m = &c->mounts[i];
		if (!m->bind)
			continue;
		snprintf(path, sizeof path, "%s/mounts/%u", dir, m->bind_index);
		if (m->bind_dir) {
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return husk_err_sys(err, errno, "creating %s", path);
		} else {
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (fd < 0)
				return husk_err_sys(err, errno, "creating %s", path);
			close(fd);
		}
		if ((r = bind_into(m->host_source, path, (m->flags & MS_REC) != 0, (m->flags & MS_RDONLY) != 0, err)) <
		    0)
			return husk_err_wrap(err, "mount %s", m->destination);
	}
	return 0;
}
