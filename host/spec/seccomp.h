/* linux.seccomp of config.json compiled to classic BPF with libseccomp, on
 * the host: the guest (static musl, no libseccomp) only installs it. */
#ifndef HUSK_HOST_SECCOMP_H
#define HUSK_HOST_SECCOMP_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"

/* Compiles the OCI seccomp object. On success *bpf (malloc'd, *len bytes, a
 * whole number of struct sock_filter) and *flags (SECCOMP_FILTER_FLAG_*)
 * are set. An invalid profile fails with one line naming the bad field. */
int husk_seccomp_compile(json_t *seccomp, uint8_t **bpf, uint32_t *len, uint32_t *flags, struct husk_err *err);

#endif
