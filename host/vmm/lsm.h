/* process.apparmorProfile and process.selinuxLabel: the container's code
 * runs in the guest, so on the host they confine the process that holds the
 * container, the VMM (QEMU). Applied at QEMU's exec where the host has that
 * LSM enabled; accepted with a debug log where it does not. */
#ifndef HUSK_HOST_LSM_H
#define HUSK_HOST_LSM_H

#include <jansson.h>

#include "common/err.h"

#define HUSK_LSM_LABEL_MAX 4096

struct husk_lsm {
	const char *apparmor_profile; /* NULL: none or AppArmor not enabled */
	const char *selinux_label;    /* NULL: none or SELinux not enabled */
};

/* Reads both keys from config.json's process object (strings point into
 * it); a key of the wrong type or size is a one-line error. What the host
 * cannot apply is dropped here, with a debug log. */
int husk_lsm_from_process(json_t *process, struct husk_lsm *out, struct husk_err *err);
/* For husk_spawn's setup hook (arg: struct husk_lsm *), in the child just
 * before exec: arranges the exec to enter the profile and label. */
int husk_lsm_exec_setup(void *arg);

#endif
