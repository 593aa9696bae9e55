/* Starting a monitor (container or exec) from a verb, and waiting for it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/state/fsutil.h"

pid_t cli_fork_monitor(int (*body)(void *arg, int ready_fd), void *arg, const char *what, struct husk_err *err)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		return husk_err_sys(err, e, "fork");
	}
	if (pid == 0) {
		close(ready[0]);
		_exit(body(arg, ready[1]));
	}
	close(ready[1]);
	char msg[HUSK_ERR_MSG_MAX + 2];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(ready[0], msg + len, sizeof msg - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof msg - 1)
			break;
	}
	close(ready[0]);
	msg[len] = '\0';
	if (strcmp(msg, "OK") == 0)
		return pid;
	waitpid(pid, NULL, 0);
	if (msg[0] == 'E')
		return husk_err_set(err, EIO, "%s", msg + 1);
	return husk_err_set(err, EIO, "the %s died while starting", what);
}

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
		if (sig == SIGPIPE || sig == SIGURG || sig == SIGWINCH)
			continue;
		/* the monitor forwards what it receives to the process in the guest */
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
