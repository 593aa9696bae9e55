/* QEMU's jail, after Firecracker's jailer: in the child that execs QEMU,
 * still root, it enters mount, IPC, UTS and network namespaces of its own and
 * pivots into a small read-only tmpfs that holds only what QEMU opens by
 * name: /usr (and the host's /bin, /lib... links or read-only binds),
 * /etc/ld.so.cache, /dev/null, /dev/urandom, /dev/kvm under KVM, /proc of
 * its own (only its own processes visible) and /dev/fd; the QEMU binary
 * too if it lives outside /usr. Everything else it uses (kernel and
 * initramfs, console, QMP, virtio-fs and vsock sockets, taps, vhost-vsock)
 * is an inherited fd. Then the VM's uid and gid (vmm_uid.h), no
 * capabilities, no_new_privs; QEMU adds its own seccomp filter (-sandbox).
 * The kernel and initramfs are reopened through /proc/self/fd, so they
 * must be readable by that uid (as installed: 0644). */
#ifndef HUSK_HOST_VMM_JAIL_H
#define HUSK_HOST_VMM_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/vmm/lsm.h"

struct husk_vmm_jail {
	const struct husk_lsm *lsm; /* applied at exec, as before the jail */
	uid_t uid;
	gid_t gid;
	char qemu[4096]; /* the binary as execvp will find it: absolute, or a name found on PATH */
	bool kvm;        /* /dev/kvm in the jail, its group among the uid's groups */
	pid_t parent;    /* the monitor */
};

/* In the monitor: fills j from the configured QEMU (a name is searched on
 * PATH now, so that its file can be put in the jail). */
int husk_vmm_jail_prepare(struct husk_vmm_jail *j, const char *qemu, struct husk_err *err);
/* husk_spawn's setup hook (arg: struct husk_vmm_jail *), in the child just
 * before exec. Returns a negative errno on failure. */
int husk_vmm_jail_enter(void *arg);

#endif
