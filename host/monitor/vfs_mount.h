/* Mount helpers of the share's staging (monitor_vfs.c): binds and
 * read-only trees. */
#ifndef HUSK_HOST_VFS_MOUNT_H
#define HUSK_HOST_VFS_MOUNT_H

#include <stdbool.h>

#include "common/err.h"

/* Binds src on dst (with its submounts when rec), private; read-only when
 * ro, submounts included (husk_mount_ro_tree). */
int husk_bind_into(const char *src, const char *dst, bool rec, bool ro, struct husk_err *err);
/* Makes the mount at path and every mount below it read-only:
 * mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE), or on a kernel without
 * it (before 5.12), or when walk is set, a remount of each mount found
 * under path in /proc/self/mountinfo, keeping its other flags. */
int husk_mount_ro_tree(const char *path, bool walk, struct husk_err *err);

#endif
