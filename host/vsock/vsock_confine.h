/* The vhost-user vsock back-end parses the guest's rings: it is confined
 * before it reads anything, in the child, before husk_vuvsock_serve():
 * the VM's unprivileged uid and gid, no capabilities, no_new_privs, and an
 * allow-list seccomp filter of what its epoll loop needs (every other call
 * fails with EPERM). It opens no file by name; the only socket it may
 * create is AF_UNIX (a guest-initiated connection to <vsock.sock>_<port>,
 * which the VM's uid cannot reach under the root-only state directory:
 * such connections are refused with RST). */
#ifndef HUSK_HOST_VSOCK_CONFINE_H
#define HUSK_HOST_VSOCK_CONFINE_H

#include <sys/types.h>

#include "common/err.h"

/* parent: the monitor (the death signal is set again after the uid changes) */
int husk_vsock_confine(uid_t uid, gid_t gid, pid_t parent, struct husk_err *err);

#endif
