#include "host/monitor/vfs_mount.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/cleanup.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *out = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
		    p[3] <= '7') {
			*out++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
			p += 3;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

static bool at_or_below(const char *mnt, const char *path)
{
	size_t n = strlen(path);
	return !strncmp(mnt, path, n) && (mnt[n] == '\0' || mnt[n] == '/');
}

/* A read-only bind remount keeps the flags a mount has, or the kernel
 * refuses (a locked nosuid) or clears them. */
static int remount_ro(const char *mnt, struct husk_err *err)
{
	struct statvfs sv;
	if (statvfs(mnt, &sv) < 0)
		return husk_err_sys(err, errno, "statvfs %s", mnt);
	static const struct {
		unsigned long st, ms;
	} keep[] = { { ST_NOSUID, MS_NOSUID },          { ST_NODEV, MS_NODEV },           { ST_NOEXEC, MS_NOEXEC },
		     { ST_NOATIME, MS_NOATIME },        { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
		     { ST_SYNCHRONOUS, MS_SYNCHRONOUS } };
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	if (mount(NULL, mnt, NULL, flags, NULL) < 0)
		return husk_err_sys(err, errno, "making %s read-only", mnt);
	return 0;
}

/* Every mount at or below path, parents first (mountinfo's order). */
static int walk_ro(const char *path, struct husk_err *err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return husk_err_sys(err, errno, "reading /proc/self/mountinfo");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int found = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent major:minor root mount-point ... */
		char *save = NULL, *mnt = NULL, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (!(mnt = tok))
			continue;
		unescape(mnt);
		if (!at_or_below(mnt, path))
			continue;
		int r = remount_ro(mnt, err);
		if (r < 0)
			return r;
		found++;
	}
	if (!found)
		return husk_err_set(err, ENOENT, "no mount at %s", path);
	return 0;
}

int husk_mount_ro_tree(const char *path, bool walk, struct husk_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (!walk && mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0)
		return 0;
	if (!walk && errno != ENOSYS)
		return husk_err_sys(err, errno, "making %s and its submounts read-only", path);
	return walk_ro(path, err);
}

int husk_bind_into(const char *src, const char *dst, bool rec, bool ro, struct husk_err *err)
{
	if (mount(src, dst, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return husk_err_sys(err, errno, "bind-mounting %s on %s", src, dst);
	/* not propagated anywhere, not even between our own mounts */
	if (mount(NULL, dst, NULL, MS_PRIVATE | (rec ? MS_REC : 0), NULL) < 0)
		return husk_err_sys(err, errno, "making %s private", dst);
	return ro ? husk_mount_ro_tree(dst, false, err) : 0;
}

int husk_tree_open(const char *src, bool rec, bool ro, struct husk_err *err)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0);
	_cleanup_close_ int fd = open_tree(AT_FDCWD, src, flags);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening the tree at %s", src);
	/* A clone of a shared mount would be in its peer group: mounts
	 * propagated both ways, the tree's unmount to the host's. */
	struct mount_attr attr = { .attr_set = ro ? MOUNT_ATTR_RDONLY : 0, .propagation = MS_PRIVATE };
	if (mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
		return husk_err_sys(err, errno, "making the tree at %s private%s", src, ro ? " and read-only" : "");
	return steal_fd(fd);
}

int husk_tree_attach(int fd, const char *src, const char *dst, struct husk_err *err)
{
	if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return husk_err_sys(err, errno, "attaching the tree of %s on %s", src, dst);
	return 0;
}
