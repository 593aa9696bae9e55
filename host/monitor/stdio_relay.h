/* The monitor's side of the container's stdio: the caller's fds 0/1/2
 * (pipes from conmon or containerd, a terminal, a file, a socket), used
 * without blocking the monitor and without changing flags the caller
 * shares: pipes and terminals are reopened through /proc/self/fd to get a
 * description of our own, sockets use MSG_DONTWAIT, files never block. */
#ifndef HUSK_HOST_STDIO_RELAY_H
#define HUSK_HOST_STDIO_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/bytequeue.h"

/* bytes a relay queue (or the session's queue to the guest) may hold */
#define RELAY_QUEUE_MAX (64u << 20)

/* Writes what fd takes of q without blocking; -1 with errno on a real
 * error. */
int relay_flush(struct byteq *q, int fd);

struct relay_out {
	int fd;
	bool is_socket;
	bool unpollable; /* a file or /dev/null: epoll refuses it, writes never block */
	bool eof;        /* the guest closed the stream: close once drained */
	struct byteq q;
};

struct relay_in {
	int fd;
	bool is_socket;
	bool unpollable; /* a file: always readable, read it when the window allows */
};

void relay_out_open(struct relay_out *o, int caller_fd);
int relay_out_append(struct relay_out *o, const void *p, size_t n);
int relay_out_flush(struct relay_out *o);
void relay_out_close(struct relay_out *o);

void relay_in_open(struct relay_in *in, int caller_fd);
/* bytes read, 0 at EOF, -EAGAIN when nothing is there, other negative errors */
ssize_t relay_in_read(struct relay_in *in, void *buf, size_t n);
void relay_in_close(struct relay_in *in);

#endif
