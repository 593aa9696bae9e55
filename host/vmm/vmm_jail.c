#include "host/vmm/vmm_jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/vmm/vmm_privs.h"
#include "host/vmm/vmm_uid.h"

/* the mount point of every jail's tmpfs, each in its own namespace */
#define JAIL_ROOT HUSK_VMM_UID_DIR "/root"

int husk_vmm_jail_prepare(struct husk_vmm_jail *j, const char *qemu, struct husk_err *err)
{
	j->parent = getpid();
	if (strchr(qemu, '/')) {
		if (qemu[0] == '/') {
			snprintf(j->qemu, sizeof j->qemu, "%s", qemu);
			return 0;
		}
		/* relative to the monitor's directory, which the jail is not */
		if (!realpath(qemu, j->qemu))
			return husk_err_sys(err, errno, "qemu %s", qemu);
		return 0;
	}
	const char *path = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(j->qemu, sizeof j->qemu, "%s/%s", dir, qemu) < (int)sizeof j->qemu && j->qemu[0] == '/' &&
		    access(j->qemu, X_OK) == 0)
			return 0;
	}
	return husk_err_set(err, ENOENT, "qemu %s: not found on PATH", qemu);
}

static int bind_ro(const char *src, const char *dst, bool dir)
{
	if (dir) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return -errno;
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | (dir && strcmp(src, "/dev") ? MS_NODEV : 0);
	if (mount(NULL, dst, NULL, fl, NULL) < 0)
		return -errno;
	return 0;
}

/* /bin, /lib... as the host has them: a link (merged /usr) is copied, a
 * directory bound read-only */
static int top_level_dirs(void)
{
	static const char *const names[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char host[64], target[PATH_MAX];
		struct stat st;
		snprintf(host, sizeof host, "/%s", names[i]);
		if (lstat(host, &st) < 0)
			continue;
		int r = 0;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(host, target, sizeof target - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlink(target, names[i]) < 0)
				r = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			r = bind_ro(host, names[i], true);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* mkdir -p of path's parent directories inside the jail (cwd) */
static int make_parents(const char *path)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(buf + 1, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* The QEMU binary where execvp looks for it: under /usr it is there
 * already; elsewhere (an admin's build, a test's wrapper) its file alone */
static int place_binary(const char *qemu)
{
	char real[PATH_MAX];
	if (!realpath(qemu, real))
		return -errno;
	if (!strncmp(qemu, "/usr/", 5) && !strncmp(real, "/usr/", 5))
		return 0;
	int r = make_parents(qemu);
	if (r < 0)
		return r;
	return bind_ro(real, qemu + 1, false);
}

static int populate(const struct husk_vmm_jail *j)
{
	int r;
	if ((r = bind_ro("/usr", "usr", true)) < 0 || (r = top_level_dirs()) < 0)
		return r;
	if (mkdir("etc", 0755) < 0 || mkdir("dev", 0755) < 0 || mkdir("proc", 0555) < 0)
		return -errno;
	if (access("/etc/ld.so.cache", F_OK) == 0 && (r = bind_ro("/etc/ld.so.cache", "etc/ld.so.cache", false)) < 0)
		return r;
	if ((r = bind_ro("/dev/null", "dev/null", false)) < 0 ||
	    (r = bind_ro("/dev/urandom", "dev/urandom", false)) < 0)
		return r;
	if (j->kvm && (r = bind_ro("/dev/kvm", "dev/kvm", false)) < 0)
		return r;
	if (symlink("/proc/self/fd", "dev/fd") < 0)
		return -errno;
	if ((r = place_binary(j->qemu)) < 0)
		return r;
	/* a proc of its own: only the processes of its uid are visible, and
	 * nothing but their directories */
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible,subset=pid") < 0)
		return -errno;
	return 0;
}

static int enter_root(const struct husk_vmm_jail *j)
{
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mkdir(JAIL_ROOT, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mount("tmpfs", JAIL_ROOT, "tmpfs", MS_NOSUID, "mode=0755,size=256k,nr_inodes=256") < 0)
		return -errno;
	if (chdir(JAIL_ROOT) < 0)
		return -errno;
	int r = populate(j);
	if (r < 0)
		return r;
	/* the old root goes under the new one, then away */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -errno;
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return -errno;
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) < 0)
		return -errno;
	if (sethostname("husk-vmm", 8) < 0)
		return -errno;
	return 0;
}

int husk_vmm_jail_enter(void *arg)
{
	const struct husk_vmm_jail *j = arg;
	gid_t groups[1];
	size_t ngroups = 0;
	int r = husk_lsm_exec_setup((void *)j->lsm);
	if (r < 0 || (r = husk_caps_drop_bounding()) < 0)
		return r;
	if (j->kvm) {
		/* /dev/kvm is usually 0660 root:kvm: the VM's uid gets its group */
		struct stat st;
		if (stat("/dev/kvm", &st) < 0)
			return -errno;
		groups[ngroups++] = st.st_gid;
	}
	if ((r = enter_root(j)) < 0)
		return r;
	if ((r = husk_set_ids(j->uid, j->gid, groups, ngroups)) < 0)
		return r;
	return husk_privs_finish(j->parent);
}
