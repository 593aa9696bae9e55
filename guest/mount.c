/* Mounts of PID 1: the boot filesystems and the container rootfs. */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "guest/guest.h"

struct boot_mount {
	const char *source, *target, *fstype;
	unsigned long flags;
	const char *data;
};

static const struct boot_mount boot_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
};

int mount_boot_filesystems(struct husk_err *err)
{
	for (size_t i = 0; i < sizeof boot_mounts / sizeof boot_mounts[0]; i++) {
		const struct boot_mount *m = &boot_mounts[i];
		if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
			return husk_err_sys(err, errno, "mkdir %s", m->target);
		if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0)
			return husk_err_sys(err, errno, "mount %s on %s", m->fstype, m->target);
	}
	return 0;
}

/* The host's staging directory (rootfs/, binds/N/<name> and the links
 * mounts/N to them), mounted read-write: the host enforces read-only parts
 * with read-only mounts of its own. */
int mount_rootfs(const char *tag, const char *rootfs, struct husk_err *err)
{
	int r = mkdir_p(GUEST_VFS_DIR, 0755, err);
	if (r < 0)
		return r;
	if (mount(tag, GUEST_VFS_DIR, "virtiofs", 0, NULL) < 0)
		return husk_err_sys(err, errno, "mounting virtio-fs tag \"%s\" on %s", tag, GUEST_VFS_DIR);
	struct stat st;
	if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		umount2(GUEST_VFS_DIR, MNT_DETACH);
		return husk_err_set(err, ENOENT, "the shared directory has no rootfs");
	}
	return 0;
}
