/* Mount helpers of the share's staging (monitor_vfs.c, vfs_slot.c):
 * binds, read-only trees, detached copies of trees. */
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
/* A detached copy of the mount at src (with its submounts when rec):
 * open_tree(OPEN_TREE_CLONE), made private and, when ro, read-only all
 * the way down. Returns the fd for husk_tree_attach. */
int husk_tree_open(const char *src, bool rec, bool ro, struct husk_err *err);
/* Attaches a tree from husk_tree_open on dst, in the caller's mount
 * namespace of the moment (src only names it in errors). */
int husk_tree_attach(int fd, const char *src, const char *dst, struct husk_err *err);

#endif
