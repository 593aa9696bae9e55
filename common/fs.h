/* File-system helpers shared by host and guest. */
#ifndef HUSK_COMMON_FS_H
#define HUSK_COMMON_FS_H

#include <sys/types.h>

#include "common/err.h"

/* Creates path and its missing parents with mode (existing ones are fine,
 * whatever they are). 0, or -errno with err naming the component that
 * failed. */
int mkdir_p(const char *path, mode_t mode, struct husk_err *err);

#endif
