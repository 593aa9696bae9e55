/* A verb and the monitor: requests to it, and waiting for it in the
 * foreground. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/state/fsutil.h"

int cli_wait_forwarding(pid_t pid, const sigset_t *blocked)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(blocked, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status;
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w != pid)
				continue;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (sig == SIGPIPE || sig == SIGURG)
			continue;
		/* the monitor forwards what it receives to the process in the
		 * guest (SIGWINCH: it resizes the process's terminal) */
		kill(pid, sig);
	}
}

int cli_write_pid_file(const char *path, pid_t pid, struct husk_err *err)
{
	char buf[32], abs[PATH_MAX];
	int n = snprintf(buf, sizeof buf, "%d", (int)pid);
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return husk_err_sys(err, errno, "getcwd");
		snprintf(abs, sizeof abs, "%s/%s", cwd, path);
		path = abs;
	}
	return write_file_atomic(path, buf, (size_t)n, 0644, err);
}
