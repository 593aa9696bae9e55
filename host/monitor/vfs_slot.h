/* The share's tree of one container (monitor_vfs.c), for slot 0 and
 * later for the slots ctr/<n> of a pod. */
#ifndef HUSK_HOST_VFS_SLOT_H
#define HUSK_HOST_VFS_SLOT_H

#include <stdint.h>
#include <sys/mount.h>

#include "common/err.h"
#include "host/spec/spec.h"

/* a container's tree (and the share) is a tmpfs of directories and links
 * only: no data pages beyond a few, an inode per dir, file or link */
#define HUSK_VFS_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=%u"
#define HUSK_VFS_SB_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define HUSK_VFS_INODES(n_mounts) (3u * (n_mounts) + 8u)

/* The trees a container's tree is built from when they were opened
 * beforehand (husk_tree_open, in the host's mount namespace): rootfs, and
 * mounts[i] for the spec's i-th mount (-1 where it is no bind). */
struct husk_vfs_trees {
	int rootfs;
	const int *mounts;
};

/* For a read-only rootfs: creates the mount points the guest will need in
 * the real rootfs (it cannot), every path resolved inside it. Best effort. */
void husk_vfs_mount_points(const struct husk_spec *spec);
/* Builds a container's tree in dir (an empty fresh tmpfs): rootfs/,
 * binds/N/<name>, mounts/N. t NULL: the spec's paths are bound in place
 * (slot 0, in the monitor's namespace); else t's trees are attached. */
int husk_vfs_build(const char *dir, const struct husk_spec *spec, const struct husk_vfs_trees *t, struct husk_err *err);

#endif
