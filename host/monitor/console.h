/* --console-socket: the monitor makes a host pty, hands its master to the
 * caller over the unix socket (SCM_RIGHTS, as runc does) and relays the
 * slave side to the container's terminal in the guest. */
#ifndef HUSK_HOST_CONSOLE_H
#define HUSK_HOST_CONSOLE_H

#include <stdint.h>
#include <termios.h>

#include "common/err.h"

/* Opens a pty pair; the slave is raw (the guest's pty does the line
 * discipline) and sized rows x cols when both are non-zero. */
int husk_console_open(int *master, int *slave, uint16_t rows, uint16_t cols, struct husk_err *err);
/* Sends fd over the unix socket at path. */
int husk_console_send(const char *socket_path, int fd, struct husk_err *err);
/* Makes slave the controlling terminal of a new session of the calling
 * process, so that it receives SIGWINCH when the master is resized. */
int husk_console_adopt(int slave, struct husk_err *err);

/* The caller's own terminal (a foreground run or exec with a terminal and
 * no --console-socket), as runc: raw while the process runs (the guest's
 * pty does the line discipline), its settings saved in *saved and put back
 * by husk_console_restore. */
int husk_console_raw(int fd, struct termios *saved);
void husk_console_restore(int fd, const struct termios *saved);

#endif
