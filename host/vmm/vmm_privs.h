/* What the monitor's helpers keep of its privileges: nothing. QEMU and the
 * vsock back-end run as the VM's own unprivileged uid (vmm_uid.h), with no
 * capability at all (permitted, effective, inheritable, ambient, bounding),
 * no_new_privs and a seccomp filter. These are the steps, in the order a
 * root child must take them: the bounding set while it still may, then
 * the ids, then what is left. */
#ifndef HUSK_HOST_VMM_PRIVS_H
#define HUSK_HOST_VMM_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Empties the bounding set and the ambient set (needs CAP_SETPCAP: before
 * the uid changes). Negative errno on failure. */
int husk_caps_drop_bounding(void);
/* setgroups (ngroups of them, may be 0), setresgid and setresuid; the
 * kernel then clears the permitted and effective sets. */
int husk_set_ids(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);
/* Clears every capability set of the caller (capset) and sets
 * no_new_privs; then PR_SET_PDEATHSIG again (a change of ids clears it)
 * and fails with -ESRCH if parent is already gone. */
int husk_privs_finish(pid_t parent);

/* A seccomp allow-list: the named calls (names unknown on this
 * architecture are skipped) are allowed, every other call fails with
 * EPERM. extra, if set, adds rules to the context before it is loaded
 * (argument-conditioned allows). Sets no_new_privs first. */
typedef int (*husk_seccomp_extra_fn)(void *ctx);
int husk_seccomp_allow_list(const char *const *names, size_t n, husk_seccomp_extra_fn extra, const char *who,
			    struct husk_err *err);

#endif
