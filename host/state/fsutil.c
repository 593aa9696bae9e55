#include "host/state/fsutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

/* A temp name beside path no one can guess: ".<base>.<16 hex>.tmp".
 * getrandom(); if that is refused (an early boot, a seccomp filter), the
 * clock, the pid and a counter, which O_EXCL makes safe anyway. */
static int temp_name(char *out, size_t cap, const char *path)
{
	static unsigned counter;
	uint64_t r;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ ++counter;
	}
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path + 1) : 0;
	const char *base = slash ? slash + 1 : path;
	if (!*base)
		return -EISDIR;
	if (snprintf(out, cap, "%.*s.%s.%016llx.tmp", dir_len, path, base, (unsigned long long)r) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct husk_err *err)
{
	char tmp[PATH_MAX];
	int fd = -1, r;
	/* O_EXCL|O_NOFOLLOW: never an existing file or a link someone planted
	 * under the temp name; a new name if one is taken */
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		if ((r = temp_name(tmp, sizeof tmp, path)) < 0)
			return husk_err_set(err, -r, "cannot write %s: %s", path,
					    r == -EISDIR ? "not a file name" : "path too long");
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return husk_err_sys(err, errno, "creating %s", tmp);
	}
	if (fd < 0)
		return husk_err_set(err, EEXIST, "creating a temp file beside %s: every name taken", path);
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			unlink(tmp);
			return husk_err_sys(err, e, "writing %s", tmp);
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return husk_err_sys(err, e, "fsync %s", tmp);
	}
	close(fd);
	/* rename() replaces whatever is at path, a symlink included, and never
	 * follows it: a link planted at a pid file's name is replaced, its
	 * target untouched */
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return husk_err_sys(err, e, "renaming %s to %s", tmp, path);
	}
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len_out, struct husk_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	/* read up to max + 1 bytes: one more than allowed means too large */
	size_t limit = max + 1, cap = limit < 4096 ? limit : 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap + 1);
	if (!buf)
		return husk_err_set(err, ENOMEM, "out of memory reading %s", path);
	for (;;) {
		if (len == cap) {
			if (cap >= limit)
				break;
			cap = cap * 2 > limit ? limit : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return husk_err_set(err, ENOMEM, "out of memory reading %s", path);
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return husk_err_sys(err, errno, "reading %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return husk_err_set(err, EFBIG, "%s is larger than %zu bytes", path, max);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	*out = steal_ptr(buf);
	return 0;
}

static int remove_at(int parent_fd, const char *name, dev_t dev, struct husk_err *err)
{
	struct stat st;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, errno, "stat %s", name);
	if (S_ISDIR(st.st_mode)) {
		if (st.st_dev != dev)
			return husk_err_set(err, EBUSY, "%s is a mount point", name);
		int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return husk_err_sys(err, errno, "opening %s", name);
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			return husk_err_sys(err, errno, "reading %s", name);
		}
		struct dirent *de;
		int r = 0;
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			r = remove_at(dirfd(d), de->d_name, dev, err);
			if (r < 0)
				break;
		}
		closedir(d);
		if (r < 0)
			return r;
		if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
			return husk_err_sys(err, errno, "removing %s", name);
		return 0;
	}
	if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT)
		return husk_err_sys(err, errno, "removing %s", name);
	return 0;
}

int remove_tree(const char *path, struct husk_err *err)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : husk_err_sys(err, errno, "stat %s", path);
	return remove_at(AT_FDCWD, path, st.st_dev, err);
}

/* Reads the process state (field 3) and start time (field 22) of pid from
 * /proc/PID/stat; false if the process is gone. The command name may hold
 * spaces and parentheses, so the fields are counted after the last ')'. */
static bool read_proc_stat(pid_t pid, char *state, unsigned long long *start_time)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return false;
	*state = p[2];
	p++; /* the space before field 3 */
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return false;
	*start_time = strtoull(p + 1, NULL, 10);
	return true;
}

unsigned long long proc_start_time(pid_t pid)
{
	char state;
	unsigned long long start;
	return read_proc_stat(pid, &state, &start) ? start : 0;
}

int pid_is_same_process(pid_t pid, unsigned long long start_time)
{
	char state;
	unsigned long long start;
	if (pid <= 0 || start_time == 0 || !read_proc_stat(pid, &state, &start))
		return 0;
	/* a zombie has exited: treat it as gone */
	if (state == 'Z' || state == 'X')
		return 0;
	return start == start_time;
}

int exe_dir(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	if (n <= 0)
		return -errno;
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	return 0;
}
