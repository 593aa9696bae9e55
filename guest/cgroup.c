/* The container's cgroup v2 group in the guest, /sys/fs/cgroup/container:
 * every container process joins it before it runs anything, which makes
 * freezing (pause/resume) and, later, resource limits cover them all. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

#define CONTAINER_CGROUP "/sys/fs/cgroup/container"
#define FREEZE_TIMEOUT_MS 10000

int cgroup_open_procs(struct husk_err *err)
{
	if (mkdir(CONTAINER_CGROUP, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", CONTAINER_CGROUP);
	int fd = open(CONTAINER_CGROUP "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s/cgroup.procs", CONTAINER_CGROUP);
	return fd;
}

int cgroup_join(int procs_fd)
{
	/* "0" moves the writing process */
	return write(procs_fd, "0", 1) == 1 ? 0 : -errno;
}

static int write_text(const char *path, const char *text, struct husk_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(text))
		return husk_err_sys(err, n < 0 ? e : EIO, "writing %s", path);
	return 0;
}

/* true when cgroup.events says "frozen <want>" */
static bool frozen_is(int want)
{
	char buf[512];
	int fd = open(CONTAINER_CGROUP "/cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *f = strstr(buf, "frozen ");
	return f && f[7] == (want ? '1' : '0');
}

int cgroup_freeze(bool freeze, struct husk_err *err)
{
	int r = write_text(CONTAINER_CGROUP "/cgroup.freeze", freeze ? "1" : "0", err);
	if (r < 0)
		return r;
	/* the kernel freezes asynchronously: wait until it says so */
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 10) {
		if (frozen_is(freeze))
			return 0;
		usleep(10000);
	}
	return husk_err_set(err, ETIMEDOUT, "the container did not %s within %d s", freeze ? "freeze" : "thaw",
			    FREEZE_TIMEOUT_MS / 1000);
}
