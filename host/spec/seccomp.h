/* linux.seccomp of config.json compiled to classic BPF with libseccomp, on
 * the host: the guest (static musl, no libseccomp) only installs it. */
#ifndef HUSK_HOST_SECCOMP_H
#define HUSK_HOST_SECCOMP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Compiles the OCI seccomp object. On success *bpf (malloc'd, *len bytes, a
 * whole number of struct sock_filter) and *flags (SECCOMP_FILTER_FLAG_*)
 * are set. An invalid profile fails with one line naming the bad field. */
int husk_seccomp_compile(json_t *seccomp, uint8_t **bpf, uint32_t *len, uint32_t *flags, struct husk_err *err);

/* host/spec/seccomp_enosys.c: prepends runc's -ENOSYS stub to a compiled
 * filter (*bpf, *len bytes; replaced): on each of the profile's
 * architectures (libseccomp tokens) a syscall number above the highest the
 * profile names there returns ENOSYS. Nothing when the default action is
 * allow, log, trace or ENOSYS already, or no architecture is listed (runc
 * 1.1.5's rules). */
#define HUSK_SECCOMP_MAX_ARCHES 24
int husk_seccomp_add_enosys_stub(json_t *seccomp, uint32_t def, const uint32_t *arches, size_t n_arches, uint8_t **bpf,
				 uint32_t *len, struct husk_err *err);

#endif
