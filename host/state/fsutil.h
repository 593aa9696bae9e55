/* Small file-system helpers for the host. */
#ifndef HUSK_HOST_FSUTIL_H
#define HUSK_HOST_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/fs.h" /* mkdir_p() */

/* Writes data to a new temp file beside path (a random name, created
 * O_EXCL|O_NOFOLLOW, mode exactly), fsyncs it and renames it to path: a
 * symlink at path is replaced, never followed. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, struct husk_err *err);
/* reads a whole file (at most max bytes), NUL-terminated; caller frees */
int read_file(const char *path, size_t max, char **out, size_t *len_out, struct husk_err *err);
/* removes a tree (no symlinks followed, does not cross mount points) */
int remove_tree(const char *path, struct husk_err *err);
/* start time of a process in clock ticks since boot (field 22), 0 if gone */
unsigned long long proc_start_time(pid_t pid);
/* true if pid is alive and has that start time */
int pid_is_same_process(pid_t pid, unsigned long long start_time);
/* directory holding the running executable */
int exe_dir(char *out, size_t cap);

#endif
