/* The monitor's confinement (host/monitor/monitor_confine.c), applied in a child:
 * an allow-list; what is not on it fails with EPERM, what the loop does works. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/monitor/monitor_confine.h"
#include "tests/unit/unit.h"

static bool denied(long r)
{
	return r == -1 && errno == EPERM;
}

/* child exit codes: 0 all as expected, 1.. which check failed */
static int confined_child(void)
{
	struct husk_err err = { 0 };
	if (husk_monitor_confine(&err) < 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 2;
	errno = 0;
	if (!denied(ptrace(PTRACE_TRACEME, 0, NULL, NULL)) || !denied(syscall(SYS_kexec_load, 0, 0, NULL, 0)) ||
	    !denied(syscall(SYS_open_by_handle_at, -1, NULL, 0)))
		return 3;
	/* nothing is started after confinement: hooks go through the runner */
	if (!denied(fork()) || !denied(execl("/bin/true", "true", (char *)NULL)))
		return 4;
	/* no namespace at all: the monitor entered the container's netns
	 * before confining itself */
	if (!denied(mount("none", "/mnt", "tmpfs", 0, NULL)) || !denied(unshare(CLONE_NEWNS)) ||
	    !denied(setns(-1, CLONE_NEWNS)) || !denied(setns(-1, CLONE_NEWNET)) || !denied(setuid(1)))
		return 5;
	if (!denied(socket(AF_INET, SOCK_STREAM, 0)) || !denied(socket(AF_PACKET, SOCK_RAW, 0)))
		return 6;
	/* what the monitor does all day still works */
	int p[2];
	if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
		return 7;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 8;
	close(s);
	return 0;
}

static enum test_result test_confine(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(confined_child());
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "confined monitor: an allow-list, the rest gets EPERM", test_confine },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
