/* virtiofsd: its command line and what it may do to the host's files.
 * Options are those of the C virtiofsd of QEMU 7.2 (Debian 12's
 * /usr/lib/qemu/virtiofsd). */
#ifndef HUSK_HOST_VIRTIOFSD_H
#define HUSK_HOST_VIRTIOFSD_H

#include <stdbool.h>

#include "common/err.h"
#include "host/vmm/argv.h"

struct husk_virtiofsd_params {
	const char *binary;
	const char *socket_path; /* the vhost-user socket it listens on */
	const char *source;      /* the directory it shares */
	const char *cache;       /* auto, always or none */
	long nofile;             /* its RLIMIT_NOFILE */
};

/* The command line: a namespace sandbox, and none of the capabilities a
 * guest could use to leave something on the host for a host user: device
 * nodes (MKNOD), file capabilities (SETFCAP), set-gid bits kept where the
 * kernel would clear them (FSETID). */
int husk_virtiofsd_argv(const struct husk_virtiofsd_params *p, struct husk_argv *out, struct husk_err *err);

/* For husk_spawn's setup hook (arg unused), in the child just before exec:
 * a seccomp filter on top of virtiofsd's own (filters stack, the strictest
 * answer wins) that fails with EPERM every chmod, fchmod, fchmodat(2),
 * open, openat, creat, mknod and mknodat whose mode has S_ISUID or S_ISGID,
 * and openat2 (its mode cannot be inspected) with ENOSYS. Guest root then
 * cannot plant a set-uid or set-gid file on a host directory. Sets
 * no_new_privs. Returns a negative errno on failure. */
int husk_virtiofsd_setid_filter(void *arg);

#endif
