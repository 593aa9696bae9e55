/* The container's file system view, built in its init process (still root
 * with every capability) the way runc builds it: the spec's mounts in
 * order, the /dev nodes and links, linux.devices, sysctl, and after
 * pivot_root the propagation, read-only and masked paths. Failures end the
 * child with a one-line message for the host (spawn_child_fail).
 *
 * In a user namespace (root there, not in the guest) runc's fallbacks
 * apply: device nodes cannot be created, so the guest's are bind-mounted;
 * sysfs cannot be mounted without a network namespace owned by the user
 * namespace (the VM's network is never a new one), so the guest's /sys is
 * bound; cgroup2 cannot be mounted without a cgroup namespace owned by
 * the user namespace, so the guest's cgroup tree is bound; remounts keep
 * the flags the kernel locked. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/mount.h>

#include "proto/msg_container.h"
#include "guest/guest.h"

#define JOIN_MAX GUEST_JOIN_MAX

static void join_or_fail(int sfd, const char *root, const char *path, char *out, size_t cap)
{
	int r = container_secure_join(root, path, out, cap);
	if (r < 0)
		spawn_child_fail(sfd, "resolving %s in the rootfs: %s", path, strerror(-r));
}

static void mkdir_p_or_fail(int sfd, const char *path, size_t keep)
{
	char buf[JOIN_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + keep + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			spawn_child_fail(sfd, "creating directory %s: %s", buf + keep, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		spawn_child_fail(sfd, "creating directory %s: %s", buf + keep, strerror(errno));
}

/* The mount point of a non-directory bind mount: an empty file. */
static void mkfile_or_fail(int sfd, const char *path, size_t keep)
{
	char parent[JOIN_MAX];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash && (size_t)(slash - parent) > keep) {
		*slash = '\0';
		mkdir_p_or_fail(sfd, parent, keep);
	}
	struct stat st;
	if (stat(path, &st) == 0)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		spawn_child_fail(sfd, "creating mount point %s: %s", path + keep, strerror(errno));
	close(fd);
}

#define REMOUNT_FLAGS                                                                                                  \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME |    \
	 MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME | MS_MANDLOCK)

/* runc's fallback for sysfs in a user namespace that does not own the
 * network namespace: the guest's /sys, bound recursively. */
static int bind_guest_sysfs(const char *dest, uint64_t flags)
{
	if (mount("/sys", dest, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	unsigned long extra = flags & REMOUNT_FLAGS;
	return extra ? container_remount(dest, extra) : 0;
}

/* runc's fallback for cgroup2 where the user namespace does not own the
 * cgroup namespace (the container has none of its own): the guest's
 * cgroup tree bound, not recursively (with a cgroup namespace, only the
 * container's cgroup, as that namespace would show), then remounted with
 * the mount's flags (read-only stays read-only). */
static int bind_guest_cgroup(const char *dest, uint64_t flags, const char *own)
{
	if (mount(own ? own : "/sys/fs/cgroup", dest, NULL, MS_BIND, NULL) < 0)
		return -errno;
	unsigned long extra = flags & REMOUNT_FLAGS;
	return extra ? container_remount(dest, extra) : 0;
}

/* After a failed mount of the file system type itself: 1 when no
 * fallback applies, else the fallback's result (0 or -errno). */
static int mount_fallback(const char *dest, const struct husk_mount *m, const char *cgroupns, int e)
{
	if (e == EPERM && !strcmp(m->type, "sysfs"))
		return bind_guest_sysfs(dest, m->flags);
	if ((e == EPERM || e == EBUSY) && !strcmp(m->type, "cgroup2"))
		return bind_guest_cgroup(dest, m->flags, cgroupns);
	return 1;
}

/* The recursive attributes (rro, rnosuid, ...) on the mount at dest and
 * every mount below it. musl has no wrapper for mount_setattr(2). */
static void set_recursive_attrs(int sfd, const char *dest, const struct husk_mount *m)
{
	if (!m->rattr_set && !m->rattr_clr)
		return;
	struct mount_attr attr = { .attr_set = m->rattr_set, .attr_clr = m->rattr_clr };
	if (syscall(SYS_mount_setattr, AT_FDCWD, dest, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof attr) < 0)
		spawn_child_fail(sfd, "setting the recursive mount attributes of %s: %s", m->destination,
				 strerror(errno));
}

static bool is_dev(const char *dest)
{
	return !strcmp(dest, "/dev") || !strcmp(dest, "/dev/");
}

static void remount_ro_or_fail(int sfd, const char *dest, const struct husk_mount *m)
{
	int r = container_remount(dest, m->flags & REMOUNT_FLAGS);
	if (r < 0)
		spawn_child_fail(sfd, "making %s read-only: %s", m->destination, strerror(-r));
}

/* cgroupns: the container's own cgroup when it has a cgroup namespace, else NULL */
static void do_mount(int sfd, const char *root, const char *vfs, const struct husk_mount *m, const char *cgroupns)
{
	char dest[JOIN_MAX], src[64];
	size_t keep = strlen(root);
	join_or_fail(sfd, root, m->destination, dest, sizeof dest);
	if (m->bind) {
		snprintf(src, sizeof src, "%s/mounts/%u", vfs, m->bind_index);
		if (m->bind_dir)
			mkdir_p_or_fail(sfd, dest, keep);
		else
			mkfile_or_fail(sfd, dest, keep);
		if (mount(src, dest, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			spawn_child_fail(sfd, "bind mount on %s: %s", m->destination, strerror(errno));
		unsigned long extra = m->flags & REMOUNT_FLAGS;
		int r = extra ? container_remount(dest, extra) : 0;
		if (r < 0)
			spawn_child_fail(sfd, "remounting the bind mount on %s: %s", m->destination, strerror(-r));
	} else {
		mkdir_p_or_fail(sfd, dest, keep);
		/* runc mounts a tmpfs read-write and makes the mount (not the
		 * file system) read-only afterwards; /dev once its nodes exist */
		unsigned long flags = m->flags & ~(unsigned long)(MS_BIND | MS_REC);
		bool ro_later = !strcmp(m->type, "tmpfs") && (flags & MS_RDONLY);
		if (ro_later)
			flags &= ~(unsigned long)MS_RDONLY;
		if (mount(m->source ? m->source : m->type, dest, m->type, flags, m->data) < 0) {
			int e = errno, r = mount_fallback(dest, m, cgroupns, e);
			if (r > 0)
				spawn_child_fail(sfd, "mounting %s on %s: %s", m->type, m->destination, strerror(e));
			if (r < 0)
				spawn_child_fail(sfd, "mounting %s on %s: %s; binding the guest's instead: %s", m->type,
						 m->destination, strerror(e), strerror(-r));
		}
		if (ro_later && !is_dev(m->destination))
			remount_ro_or_fail(sfd, dest, m);
	}
	if (m->bind || !is_dev(m->destination))
		set_recursive_attrs(sfd, dest, m); /* a /dev tmpfs: once its nodes exist */
	if (m->propagation && mount(NULL, dest, NULL, m->propagation, NULL) < 0)
		spawn_child_fail(sfd, "setting the propagation of %s: %s", m->destination, strerror(errno));
}

struct dev_node {
	const char *name;
	unsigned major, minor;
};

static const struct dev_node default_devices[] = {
	/* runc's order, which shows in the mount table in a user namespace */
	{ "null", 1, 3 }, { "random", 1, 8 }, { "full", 1, 7 }, { "tty", 5, 0 }, { "zero", 1, 5 }, { "urandom", 1, 9 },
};

static const char *const default_links[][2] = {
	{ "/proc/self/fd", "fd" },
	{ "/proc/self/fd/0", "stdin" },
	{ "/proc/self/fd/1", "stdout" },
	{ "/proc/self/fd/2", "stderr" },
};

/* In a user namespace: the guest's node of the same path, bound on an
 * empty file (runc binds the host's). */
static void bind_node(int sfd, const char *path, const char *shown)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		spawn_child_fail(sfd, "creating %s: %s", shown, strerror(errno));
	close(fd);
	if (mount(shown, path, NULL, MS_BIND, NULL) < 0)
		spawn_child_fail(sfd, "binding the guest's %s (a user namespace cannot mknod): %s", shown,
				 strerror(errno));
}

static void make_node(int sfd, const char *path, const char *shown, mode_t type, mode_t perm, dev_t dev, uid_t uid,
		      gid_t gid)
{
	if (mknod(path, type | perm, dev) < 0) {
		if (errno == EEXIST && unlink(path) < 0)
			spawn_child_fail(sfd, "mknod %s: %s", shown, strerror(errno));
		if (mknod(path, type | perm, dev) < 0) {
			if (errno != EPERM || type == S_IFIFO)
				spawn_child_fail(sfd, "mknod %s: %s", shown, strerror(errno));
			bind_node(sfd, path, shown);
			return;
		}
	}
	if (chown(path, uid, gid) < 0 || chmod(path, perm) < 0)
		spawn_child_fail(sfd, "setting the owner and mode of %s: %s", shown, strerror(errno));
}

/* runc's /dev set-up unless /dev is a bind mount: the default nodes, the
 * ptmx link into devpts, the fd links; then linux.devices. */
static void setup_dev(int sfd, const char *root, const struct husk_container_config *c)
{
	char dev[JOIN_MAX], path[JOIN_MAX + 64];
	join_or_fail(sfd, root, "/dev", dev, sizeof dev);
	mkdir_p_or_fail(sfd, dev, strlen(root));
	for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
		const struct dev_node *d = &default_devices[i];
		snprintf(path, sizeof path, "%s/%s", dev, d->name);
		make_node(sfd, path, path + strlen(root), S_IFCHR, 0666, makedev(d->major, d->minor), 0, 0);
	}
	snprintf(path, sizeof path, "%s/ptmx", dev);
	if (unlink(path) < 0 && errno != ENOENT)
		spawn_child_fail(sfd, "removing /dev/ptmx: %s", strerror(errno));
	if (symlink("pts/ptmx", path) < 0)
		spawn_child_fail(sfd, "symlink /dev/ptmx: %s", strerror(errno));
	for (size_t i = 0; i < sizeof default_links / sizeof default_links[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dev, default_links[i][1]);
		if (symlink(default_links[i][0], path) < 0 && errno != EEXIST)
			spawn_child_fail(sfd, "symlink /dev/%s: %s", default_links[i][1], strerror(errno));
	}
	if (access("/proc/kcore", F_OK) == 0) {
		snprintf(path, sizeof path, "%s/core", dev);
		if (symlink("/proc/kcore", path) < 0 && errno != EEXIST)
			spawn_child_fail(sfd, "symlink /dev/core: %s", strerror(errno));
	}
	for (uint32_t i = 0; c && i < c->n_devices; i++) {
		const struct husk_device *d = &c->devices[i];
		char dest[JOIN_MAX];
		/* as runc: /dev/ptmx stays the link into this container's devpts
		 * (podman --privileged lists the host's /dev/ptmx) */
		if (!strcmp(d->path, "/dev/ptmx"))
			continue;
		join_or_fail(sfd, root, d->path, dest, sizeof dest);
		char *slash = strrchr(dest, '/');
		if (slash && (size_t)(slash - dest) > strlen(root)) {
			*slash = '\0';
			mkdir_p_or_fail(sfd, dest, strlen(root));
			*slash = '/';
		}
		mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
		make_node(sfd, dest, d->path, type, d->mode & 07777, makedev(d->major, d->minor), d->uid, d->gid);
	}
}

void container_fs_mounts(const struct husk_container_config *c, const struct gctr *g, int sfd)
{
	const char *root = g->rootfs;
	bool dev_bound = false;
	for (uint32_t i = 0; c && i < c->n_mounts; i++) {
		do_mount(sfd, root, g->vfs, &c->mounts[i], c->namespaces & HUSK_NS_CGROUP ? g->cgroup : NULL);
		if (c->mounts[i].bind && !strcmp(c->mounts[i].destination, "/dev"))
			dev_bound = true;
	}
	if (!dev_bound)
		setup_dev(sfd, root, c);
	for (uint32_t i = 0; c && i < c->n_mounts; i++) {
		const struct husk_mount *m = &c->mounts[i];
		char dest[JOIN_MAX];
		if (m->bind || !is_dev(m->destination))
			continue;
		join_or_fail(sfd, root, m->destination, dest, sizeof dest);
		if (!strcmp(m->type, "tmpfs") && (m->flags & MS_RDONLY))
			remount_ro_or_fail(sfd, dest, m);
		set_recursive_attrs(sfd, dest, m);
	}
}

/* After pivot_root, as runc does: the process's working directory is
 * created when missing (inside the new root, so links stay inside). */
void container_fs_cwd(const char *cwd, int sfd)
{
	struct stat st;
	if (!cwd || stat(cwd, &st) == 0)
		return;
	mkdir_p_or_fail(sfd, cwd, 0);
}

void container_fs_sysctl(const struct husk_container_config *c, int sfd)
{
	for (uint32_t i = 0; c && i < c->n_sysctl; i++) {
		const struct husk_sysctl *s = &c->sysctl[i];
		char path[300];
		snprintf(path, sizeof path, "/proc/sys/%s", s->key);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			spawn_child_fail(
				sfd, errno == ENOENT ? "sysctl %s: no such key in the guest kernel" : "sysctl %s: %s",
				s->key, strerror(errno));
		size_t n = strlen(s->value);
		if (write(fd, s->value, n) != (ssize_t)n)
			spawn_child_fail(sfd, "sysctl %s = \"%.64s\": %s", s->key, s->value, strerror(errno));
		close(fd);
	}
}

unsigned long container_mount_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME)
		f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

/* After pivot_root: rootfs propagation, read-only paths, masked paths
 * (missing paths are skipped, as runc does). */
void container_fs_finish(const struct husk_container_config *c, int sfd)
{
	if (!c)
		return;
	if (c->rootfs_propagation && mount(NULL, "/", NULL, c->rootfs_propagation, NULL) < 0)
		spawn_child_fail(sfd, "rootfsPropagation: %s", strerror(errno));
	for (uint32_t i = 0; i < c->n_readonly; i++) {
		const char *p = c->readonly_paths[i];
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			spawn_child_fail(sfd, "readonlyPaths %s: %s", p, strerror(errno));
		}
		if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | container_mount_flags(p), NULL) < 0)
			spawn_child_fail(sfd, "readonlyPaths %s: %s", p, strerror(errno));
	}
	for (uint32_t i = 0; i < c->n_masked; i++) {
		const char *p = c->masked[i];
		struct stat st;
		if (stat(p, &st) < 0) {
			if (errno == ENOENT)
				continue;
			spawn_child_fail(sfd, "maskedPaths %s: %s", p, strerror(errno));
		}
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL)
					    : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			spawn_child_fail(sfd, "maskedPaths %s: %s", p, strerror(errno));
	}
}
