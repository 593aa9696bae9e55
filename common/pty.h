/* Pseudo-terminals and passing fds over unix sockets: shared by the host
 * (--console-socket) and the guest (the container's terminal). */
#ifndef HUSK_COMMON_PTY_H
#define HUSK_COMMON_PTY_H

#include <stdint.h>

#include "common/err.h"

/* Opens /dev/ptmx (relative to the caller's root) and its slave; extra_flags
 * are added to the master's open flags (e.g. O_NONBLOCK). Sized rows x cols
 * when both are non-zero. */
int husk_pty_open(int *master, int *slave, int extra_flags, uint16_t rows, uint16_t cols, struct husk_err *err);
/* Sends fd with a short payload (SCM_RIGHTS). */
int husk_fd_send(int sock, int fd, const char *payload, struct husk_err *err);
/* Receives one fd (close-on-exec); flags are recvmsg flags. */
int husk_fd_recv(int sock, int flags, struct husk_err *err);

#endif
