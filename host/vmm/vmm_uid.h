/* The VM's own unprivileged uid and gid (Firecracker's jailer does the
 * same): QEMU and the vsock back-end of one VM run as it, no other VM's
 * processes do. A slot of [security] vmm_uid_base .. + vmm_uid_count - 1
 * (uid = gid) is taken by holding flock() on HUSK_VMM_UID_DIR/<uid>; the
 * monitor holds it for the VM's life, and the kernel lets go of it when
 * the monitor goes, however it goes. */
#ifndef HUSK_HOST_VMM_UID_H
#define HUSK_HOST_VMM_UID_H

#include <sys/types.h>

#include "common/err.h"

#define HUSK_VMM_UID_DIR "/run/husk-vmm-uids"

struct husk_vmm_id {
	uid_t uid;
	gid_t gid;
	int lock_fd; /* -1: none held */
};

/* Takes a free slot of [base, base + count). EAGAIN if every one is in use. */
int husk_vmm_id_alloc(unsigned long base, unsigned long count, struct husk_vmm_id *id, struct husk_err *err);
void husk_vmm_id_release(struct husk_vmm_id *id);

#endif
