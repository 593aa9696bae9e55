/* The monitor's confinement (host/monitor/monitor_confine.c), applied in a child:
 * denied calls fail with EPERM, ordinary ones work, no_new_privs is set. */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/monitor/monitor_confine.h"
#include "tests/unit/unit.h"

/* child exit codes: 0 all as expected, 1.. which check failed */
static int confined_child(void)
{
	struct husk_err err = { 0 };
	if (husk_monitor_confine(&err) < 0)
		return 1;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 2;
	errno = 0;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != -1 || errno != EPERM)
		return 3;
	errno = 0;
	if (syscall(SYS_kexec_load, 0, 0, NULL, 0) != -1 || errno != EPERM)
		return 4;
	errno = 0;
	if (syscall(SYS_open_by_handle_at, -1, NULL, 0) != -1 || errno != EPERM)
		return 5;
	/* what the monitor does all day still works, including starting hooks */
	int p[2];
	if (pipe(p) < 0 || write(p[1], "x", 1) != 1)
		return 6;
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 7;
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
		{ "confined monitor: denied calls get EPERM, the rest works", test_confine },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
