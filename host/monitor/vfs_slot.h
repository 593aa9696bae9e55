/* The share's tree of one container (monitor_vfs.c) and the slots of a
 * pod (vfs_slot.c): a running sandbox's share gets another container's
 * rootfs and binds at ctr/<n> without being made writable. */
#ifndef HUSK_HOST_VFS_SLOT_H
#define HUSK_HOST_VFS_SLOT_H

#include <stdint.h>
#include <sys/mount.h>

#include "common/err.h"
#include "host/spec/spec.h"
#include "host/state/state.h"

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

/* Puts a container's rootfs and binds into slot n (1 .. HUSK_POD_MAX - 1,
 * or 0 where the share has ctr/0: a pool VM's) of a RUNNING sandbox's share, where its guest finds them at
 * /run/husk/vfs/ctr/<n>/{rootfs,binds/N/<name>,mounts/N}, as slot 0 has
 * them at /run/husk/vfs/.
 *   sandbox      the sandbox monitor's pid ref (its state.json "monitor"):
 *                checked by start time after pidfd_open, so a recycled pid
 *                is refused (ESRCH)
 *   sandbox_dir  the sandbox's state dir (<root>/<sandbox id>)
 *   spec         the member's parsed spec: root.path, root.readonly, its
 *                bind mounts (host_source, MS_REC, MS_RDONLY), and
 *                notify_container (a mount point made for a ro rootfs)
 * The sources are opened in the caller's mount namespace (the host's:
 * the engine's rootfs mount is not in the sandbox monitor's private one),
 * read-only where asked, submounts included; the tree is built on a
 * private tmpfs in the sandbox monitor's namespace, made read-only and
 * moved onto vfs/ctr/<n> in one step, which propagates it to virtiofsd's
 * copy: the guest never sees a half-built slot. The caller must be
 * single-threaded (setns of a mount namespace) and is back in its own
 * mount namespace and working directory on return (its root too: it must
 * not be chrooted). Callers are serialized on <sandbox_dir>/share.lock
 * (flock) for the check and the move. Errors: EINVAL bad slot (0 in a
 * share without ctr/0), ESRCH the sandbox is gone,
 * EBUSY the slot holds a tree already, others from the mounts. */
int husk_vfs_inject(const struct husk_pid_ref *sandbox, const char *sandbox_dir, uint32_t slot,
		    const struct husk_spec *spec, struct husk_err *err);
/* Takes slot n's tree out of the running sandbox's share (a lazy unmount
 * of vfs/ctr/<n> in its monitor's namespace, which propagates to
 * virtiofsd's copy); the guest then finds ctr/<n> empty again (after its
 * dentries expire or are dropped). ESRCH: the sandbox is gone (its
 * namespace, and the slot with it, went with its monitor: nothing to do);
 * ENOENT: the slot holds nothing. Same caller rules as husk_vfs_inject. */
int husk_vfs_eject(const struct husk_pid_ref *sandbox, const char *sandbox_dir, uint32_t slot, struct husk_err *err);

#endif
