/* Starting the monitor's helpers (QEMU, virtiofsd): fork + exec with
 * PR_SET_PDEATHSIG so they die with the monitor, stdin from /dev/null,
 * stdout/stderr to a log file, only the listed fds inherited. An exec
 * failure is reported to the caller, not lost in the child. */
#ifndef HUSK_HOST_SPAWN_H
#define HUSK_HOST_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* setup, if set, runs in the child just before exec; a negative return
 * (errno style) fails the spawn with that error. */
struct husk_spawn_setup {
	int (*fn)(void *arg);
	void *arg;
};

int husk_spawn(char *const argv[], const char *log_path, const int *keep_fds, size_t n_keep,
	       const struct husk_spawn_setup *setup, pid_t *pid_out, struct husk_err *err);
/* Close every fd >= 3 except those listed (for forked children). */
void husk_close_fds_except(const int *keep, size_t n);

#endif
