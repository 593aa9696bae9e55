#include "host/vmm/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"

static bool is_kept(int fd, const int *keep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

void husk_close_fds_except(const int *keep, size_t n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		for (int fd = 3; fd < 4096; fd++)
			if (!is_kept(fd, keep, n))
				close(fd);
		return;
	}
	int dfd = dirfd(d);
	int fds[4096];
	size_t count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && count < sizeof fds / sizeof fds[0]) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < 3 || fd == dfd || is_kept(fd, keep, n))
			continue;
		fds[count++] = fd;
	}
	closedir(d);
	for (size_t i = 0; i < count; i++)
		close(fds[i]);
}

int husk_spawn(char *const argv[], const char *log_path, const int *keep_fds, size_t n_keep,
	       const struct husk_spawn_setup *setup, pid_t *pid_out, struct husk_err *err)
{
	int report[2];
	pid_t parent = getpid();
	if (pipe2(report, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(report[0]);
		close(report[1]);
		return husk_err_sys(err, e, "fork for %s", argv[0]);
	}
	if (pid == 0) {
		int e;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_RDONLY);
		int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (devnull < 0 || log < 0)
			goto fail;
		if (dup2(devnull, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
			goto fail;
		int keep[64];
		size_t nk = 0;
		for (size_t i = 0; i < n_keep && nk < 63; i++) {
			keep[nk++] = keep_fds[i];
			int fl = fcntl(keep_fds[i], F_GETFD);
			if (fl >= 0)
				fcntl(keep_fds[i], F_SETFD, fl & ~FD_CLOEXEC);
		}
		keep[nk++] = report[1];
		husk_close_fds_except(keep, nk);
		if (setup && setup->fn) {
			int r = setup->fn(setup->arg);
			if (r < 0) {
				errno = -r;
				goto fail;
			}
		}
		execvp(argv[0], argv);
	fail:
		e = errno;
		if (write(report[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(report[1]);
	int child_errno = 0;
	ssize_t n;
	do
		n = read(report[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof child_errno) {
		waitpid(pid, NULL, 0);
		return husk_err_sys(err, child_errno, "starting %s", argv[0]);
	}
	*pid_out = pid;
	return 0;
}
