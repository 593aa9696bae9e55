/* What QEMU keeps of the monitor's privileges: nothing. It is handed every
 * fd it needs (tap, vhost-vsock, its sockets are in the state dir it owns),
 * so it runs with no capability at all, permitted, effective, inheritable,
 * ambient or in its bounding set. */
#ifndef HUSK_HOST_VMM_PRIVS_H
#define HUSK_HOST_VMM_PRIVS_H

#include "host/vmm/lsm.h"

/* For husk_spawn's setup hook (arg: struct husk_lsm *), in the child just
 * before exec: the LSM labels (lsm.h), then every capability dropped.
 * Returns a negative errno on failure. */
int husk_vmm_exec_setup(void *arg);

#endif
