#include "host/monitor/stdio_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t write_some(int fd, bool is_socket, const void *p, size_t n)
{
	if (is_socket)
		return send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(fd, p, n);
}

static int flush_to(struct byteq *q, int fd, bool is_socket)
{
	while (byteq_pending(q)) {
		ssize_t n = write_some(fd, is_socket, byteq_peek(q), byteq_pending(q));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		byteq_consume(q, (size_t)n);
	}
	return 0;
}

int relay_flush(struct byteq *q, int fd)
{
	int one = 0;
	socklen_t l = sizeof one;
	bool is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &one, &l) == 0;
	return flush_to(q, fd, is_socket);
}

/* A non-blocking fd of our own for the caller's fd, or -1 if it is closed. */
static int own_fd(int caller_fd, int mode, bool *is_socket)
{
	struct stat st;
	char path[32];
	*is_socket = false;
	if (fstat(caller_fd, &st) < 0)
		return -1;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", caller_fd);
		int fd = open(path, mode | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			return fd;
	}
	if (S_ISSOCK(st.st_mode))
		*is_socket = true;
	/* regular files never block; sockets use MSG_DONTWAIT */
	return fcntl(caller_fd, F_DUPFD_CLOEXEC, 3);
}

void relay_out_open(struct relay_out *o, int caller_fd)
{
	memset(o, 0, sizeof *o);
	o->fd = own_fd(caller_fd, O_WRONLY, &o->is_socket);
}

int relay_out_append(struct relay_out *o, const void *p, size_t n)
{
	return byteq_append(&o->q, p, n, RELAY_QUEUE_MAX);
}

int relay_out_flush(struct relay_out *o)
{
	return flush_to(&o->q, o->fd, o->is_socket);
}

void relay_out_close(struct relay_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	byteq_free(&o->q);
}

void relay_in_open(struct relay_in *in, int caller_fd)
{
	in->fd = own_fd(caller_fd, O_RDONLY, &in->is_socket);
}

ssize_t relay_in_read(struct relay_in *in, void *buf, size_t n)
{
	for (;;) {
		ssize_t r = in->is_socket ? recv(in->fd, buf, n, MSG_DONTWAIT) : read(in->fd, buf, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return -errno;
	}
}

void relay_in_close(struct relay_in *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}
