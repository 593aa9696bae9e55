/* __attribute__((cleanup)) helpers: early returns stay safe. Hand ownership
 * on with steal_ptr()/steal_fd(). */
#ifndef HUSK_COMMON_CLEANUP_H
#define HUSK_COMMON_CLEANUP_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void husk_freep(void *p)
{
	free(*(void **)p);
}

static inline void husk_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void husk_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void husk_killpidp(pid_t *pid)
{
	if (*pid > 0) {
		int saved = errno;
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(husk_freep)))
#define _cleanup_close_ __attribute__((cleanup(husk_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(husk_fclosep)))
#define _cleanup_pid_ __attribute__((cleanup(husk_killpidp)))

#define steal_ptr(p)                                                                                                   \
	({                                                                                                             \
		__typeof__(p) steal_tmp_ = (p);                                                                        \
		(p) = NULL;                                                                                            \
		steal_tmp_;                                                                                            \
	})

#define steal_fd(fd)                                                                                                   \
	({                                                                                                             \
		int steal_fd_tmp_ = (fd);                                                                              \
		(fd) = -1;                                                                                             \
		steal_fd_tmp_;                                                                                         \
	})

#endif
