/* The guest's serial console, bounded: QEMU writes it into a pipe (never a
 * file it could grow without end), the monitor reads the pipe and keeps
 * the last `cap` bytes or less in console.log. */
#ifndef HUSK_HOST_CONSOLE_LOG_H
#define HUSK_HOST_CONSOLE_LOG_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

struct husk_console_log {
	int rfd;  /* the pipe's read end (non-blocking), -1 once closed */
	int file; /* console.log */
	off_t size, cap;
};

/* Creates console.log at path (emptied) and the pipe; *qemu_fd is the
 * write end (non-blocking: a guest writing faster than the monitor reads
 * loses bytes, QEMU never blocks), for the caller to hand on and close. */
int husk_console_log_open(struct husk_console_log *cl, const char *path, size_t cap, int *qemu_fd,
			  struct husk_err *err);
/* Moves what the pipe holds (at most budget bytes) into the file, keeping
 * it at most cap bytes: it holds the newest cap / 2 to cap bytes. Returns
 * the bytes read, 0 when nothing is pending, -EPIPE once the writers are
 * all gone, another -errno on failure. */
ssize_t husk_console_log_drain(struct husk_console_log *cl, size_t budget);
/* Drains what is left and closes both fds. */
void husk_console_log_close(struct husk_console_log *cl);

#endif
