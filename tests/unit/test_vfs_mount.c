/* Read-only binds with their submounts (host/monitor/vfs_mount.c), by
 * mount_setattr and by the fallback walk of /proc/self/mountinfo: run as
 * root in a child's own mount namespace (skipped otherwise). */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/monitor/vfs_mount.h"
#include "tests/unit/unit.h"

static int writable(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return errno == EROFS ? 0 : -1;
	close(fd);
	unlink(path);
	return 1;
}

/* child exit codes: 0 all as expected, 77 cannot set up, 1.. which check failed */
static int ro_child(const char *top, bool walk)
{
	char src[128], sub[128], dst[128], dsub[128], name[128];
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	snprintf(src, sizeof src, "%s/src", top);
	snprintf(sub, sizeof sub, "%s/src/sub dir", top); /* mountinfo escapes the space */
	snprintf(dst, sizeof dst, "%s/dst", top);
	snprintf(dsub, sizeof dsub, "%s/dst/sub dir", top);
	snprintf(name, sizeof name, "%s/dstx", top); /* a sibling whose name starts alike */
	if (mkdir(src, 0755) < 0 || mkdir(dst, 0755) < 0 || mkdir(name, 0755) < 0 ||
	    mount("t", src, "tmpfs", 0, "size=64k") < 0 || mkdir(sub, 0755) < 0 ||
	    mount("t", sub, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0 ||
	    mount("t", name, "tmpfs", 0, "size=64k") < 0)
		return 77;
	struct husk_err err = { 0 };
	if (husk_bind_into(src, dst, true, false, &err) < 0)
		return 1;
	if (writable(dst) != 1 || writable(dsub) != 1)
		return 2;
	if (husk_mount_ro_tree(dst, walk, &err) < 0) {
		printf("# %s\n", err.msg);
		return 3;
	}
	if (writable(dst) != 0 || writable(dsub) != 0)
		return 4;
	/* the source, and the sibling, are untouched */
	if (writable(src) != 1 || writable(sub) != 1 || writable(name) != 1)
		return 5;
	struct statvfs sv;
	if (statvfs(dsub, &sv) < 0 || !(sv.f_flag & ST_NOSUID) || !(sv.f_flag & ST_NODEV))
		return 6;
	return 0;
}

static enum test_result run_ro(bool walk)
{
	if (geteuid() != 0)
		return TEST_SKIP;
	char top[] = "/tmp/husk-unit-vfs.XXXXXX";
	CHECK(mkdtemp(top) != NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(ro_child(top, walk));
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	CHECK(system(cmd) == 0);
	CHECK(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		return TEST_SKIP;
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	return TEST_PASS;
}

static enum test_result test_setattr(void)
{
	return run_ro(false);
}

static enum test_result test_walk(void)
{
	return run_ro(true);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a read-only rbind covers its submounts (mount_setattr)", test_setattr },
		{ "a read-only rbind covers its submounts (mountinfo walk)", test_walk },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
