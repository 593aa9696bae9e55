/* virtiofsd's command line and the set-id filter installed before its exec
 * (host/vmm/virtiofsd.c), the filter applied in a child: set-uid and
 * set-gid modes fail with EPERM, other modes work. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/vmm/virtiofsd.h"
#include "tests/unit/unit.h"

static enum test_result test_argv(void)
{
	struct husk_virtiofsd_params p = {
		.binary = "/usr/lib/qemu/virtiofsd",
		.socket_path = "/run/husk/c/virtiofs.sock",
		.source = "/run/husk/c/vfs",
		.cache = "auto",
		.nofile = 4096,
	};
	struct husk_argv a = { 0 };
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_virtiofsd_argv(&p, &a, &err), 0);
	CHECK_STR(a.v[0], "/usr/lib/qemu/virtiofsd");
	CHECK(husk_argv_find(&a, "--socket-path=/run/husk/c/virtiofs.sock") > 0);
	CHECK(husk_argv_find(&a, "source=/run/husk/c/vfs") > 0);
	CHECK(husk_argv_find(&a, "cache=auto") > 0);
	CHECK(husk_argv_find(&a, "sandbox=namespace") > 0);
	CHECK(husk_argv_find(&a, "modcaps=-mknod:-setfcap:-fsetid") > 0);
	CHECK(husk_argv_find(&a, "--rlimit-nofile=4096") > 0);
	for (size_t i = 1; i < a.n; i++)
		if (!strcmp(a.v[i], "-o"))
			CHECK(i + 1 < a.n && a.v[i + 1][0] != '-');
	CHECK(a.v[a.n] == NULL);
	husk_argv_free(&a);
	p.nofile = 0;
	CHECK(husk_virtiofsd_argv(&p, &a, &err) < 0);
	husk_argv_free(&a);
	return TEST_PASS;
}

/* 0: -1 with errno e; otherwise the call's result */
static int fails_with(long r, int e)
{
	return r == -1 && errno == e ? 0 : 1;
}

/* child exit codes: 0 all as expected, 1.. which check failed */
static int filtered_child(const char *dir)
{
	if (chdir(dir) < 0 || husk_virtiofsd_setid_filter(NULL) < 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 2;
	int fd = open("f", O_WRONLY | O_CREAT | O_EXCL, 0755);
	if (fd < 0)
		return 3;
	if (fails_with(chmod("f", 04755), EPERM) || fails_with(chmod("f", 02755), EPERM) ||
	    fails_with(fchmod(fd, 06711), EPERM) || fails_with(fchmodat(AT_FDCWD, "f", 04700, 0), EPERM))
		return 4;
	if (chmod("f", 01755) < 0 || fchmod(fd, 0700) < 0 || fchmodat(AT_FDCWD, "f", 0644, 0) < 0)
		return 5;
	if (fails_with(open("g", O_WRONLY | O_CREAT, 04755), EPERM) ||
	    fails_with(openat(AT_FDCWD, "g", O_WRONLY | O_CREAT, 02755), EPERM) ||
	    fails_with(creat("g", 04700), EPERM) || access("g", F_OK) == 0)
		return 6;
	if (fails_with(mknod("n", S_IFREG | 04755, 0), EPERM) ||
	    fails_with(mknodat(AT_FDCWD, "n", S_IFREG | 02755, 0), EPERM))
		return 7;
	if (mkfifo("fifo", 0644) < 0 || mknod("n", S_IFREG | 0644, 0) < 0)
		return 8;
	struct stat st;
	if (stat("f", &st) < 0 || (st.st_mode & 07777) != 0644)
		return 9;
	if (fails_with(syscall(SYS_openat2, AT_FDCWD, "f", NULL, 0), ENOSYS))
		return 10;
	close(fd);
	return 0;
}

static enum test_result test_setid_filter(void)
{
	char dir[] = "/tmp/husk-unit-vfsd.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(filtered_child(dir));
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	/* the parent is not filtered */
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "virtiofsd command line", test_argv },
		{ "the set-id filter refuses set-uid and set-gid modes only", test_setid_filter },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
