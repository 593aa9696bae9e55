#include "host/monitor/console_log.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define PIPE_SIZE (1024 * 1024) /* what a boot writes before the loop reads it */

int husk_console_log_open(struct husk_console_log *cl, const char *path, size_t cap, int *qemu_fd, struct husk_err *err)
{
	int p[2];
	*cl = (struct husk_console_log){ .rfd = -1, .file = -1, .cap = (off_t)cap };
	cl->file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (cl->file < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	if (pipe2(p, O_CLOEXEC) < 0) {
		int e = errno;
		close(cl->file);
		cl->file = -1;
		return husk_err_sys(err, e, "a pipe for the console");
	}
	fcntl(p[0], F_SETPIPE_SZ, PIPE_SIZE); /* best effort: the default 64 KiB works too */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		close(cl->file);
		cl->file = -1;
		return husk_err_sys(err, e, "a non-blocking console pipe");
	}
	cl->rfd = p[0];
	*qemu_fd = p[1];
	return 0;
}

static int write_at(int fd, const char *buf, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, buf, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* The file's bytes [from, size) moved to its start (from > 0: the copy
 * runs forward, so overlapping ranges are fine). */
static int shift_down(struct husk_console_log *cl, off_t from)
{
	char buf[CHUNK];
	off_t to = 0;
	while (from < cl->size) {
		size_t want = cl->size - from < (off_t)sizeof buf ? (size_t)(cl->size - from) : sizeof buf;
		ssize_t n = pread(cl->file, buf, want, from);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		int r = write_at(cl->file, buf, (size_t)n, to);
		if (r < 0)
			return r;
		from += n;
		to += n;
	}
	cl->size = to;
	return ftruncate(cl->file, to) < 0 ? -errno : 0;
}

/* Appends n bytes, trimming the file to the newest cap / 2 bytes first
 * when they would not fit (amortised: each byte is copied about once). */
static int append(struct husk_console_log *cl, const char *buf, size_t n)
{
	if (cl->size + (off_t)n > cl->cap) {
		off_t keep = cl->cap / 2;
		if ((off_t)n >= keep) {
			/* the new bytes alone fill what is kept */
			if ((off_t)n > cl->cap) {
				buf += n - (size_t)cl->cap;
				n = (size_t)cl->cap;
			}
			cl->size = 0;
			if (ftruncate(cl->file, 0) < 0)
				return -errno;
		} else {
			off_t old = keep - (off_t)n;
			int r = shift_down(cl, cl->size > old ? cl->size - old : 0);
			if (r < 0)
				return r;
		}
	}
	int r = write_at(cl->file, buf, n, cl->size);
	if (r < 0)
		return r;
	cl->size += (off_t)n;
	return 0;
}

ssize_t husk_console_log_drain(struct husk_console_log *cl, size_t budget)
{
	char buf[CHUNK];
	size_t total = 0;
	while (cl->rfd >= 0 && total < budget) {
		ssize_t n = read(cl->rfd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? (ssize_t)total : -errno;
		if (n == 0)
			return total ? (ssize_t)total : -EPIPE;
		if (cl->file >= 0 && append(cl, buf, (size_t)n) < 0) {
			/* the log is lost (disk full?): keep emptying the pipe */
			close(cl->file);
			cl->file = -1;
		}
		total += (size_t)n;
	}
	return (ssize_t)total;
}

void husk_console_log_close(struct husk_console_log *cl)
{
	/* bounded: a writer still alive must not keep the monitor here */
	if (cl->rfd >= 0)
		husk_console_log_drain(cl, 2 * PIPE_SIZE);
	if (cl->rfd >= 0)
		close(cl->rfd);
	if (cl->file >= 0)
		close(cl->file);
	cl->rfd = cl->file = -1;
}
