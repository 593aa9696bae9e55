/* The host end of vsock, behind one small interface. Two backends:
 * - vhost: the kernel's /dev/vhost-vsock, a host-wide unique guest CID,
 *   AF_VSOCK connect(cid, port);
 * - vhost-user: husk's built-in vhost-user-vsock device (host/vsock_user.c)
 *   in a child process, reached through its hybrid unix socket.
 * The guest side is the same AF_VSOCK listener either way. */
#ifndef HUSK_HOST_VSOCK_H
#define HUSK_HOST_VSOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum husk_vsock_kind { HUSK_VSOCK_VHOST, HUSK_VSOCK_VHOST_USER };

struct husk_vsock {
	enum husk_vsock_kind kind;
	/* vhost */
	int vhost_fd;
	uint32_t cid;
	/* vhost-user */
	char vu_path[PATH_MAX];     /* QEMU connects here */
	char hybrid_path[PATH_MAX]; /* host clients connect here */
	int vu_listen_fd, hybrid_listen_fd;
	pid_t backend_pid;
};

/* mode: auto, vhost or vhost-user. Opens the vhost device and claims a CID,
 * or binds the vhost-user sockets in dir. */
int husk_vsock_prepare(struct husk_vsock *v, const char *mode, const char *dir, struct husk_err *err);
/* vhost-user: starts the backend child (before QEMU), confined from its
 * first instruction as uid/gid (vsock_confine.h). */
int husk_vsock_start(struct husk_vsock *v, uid_t uid, gid_t gid, struct husk_err *err);
/* Connects to a guest port; retries while the guest is not listening, until
 * timeout_ms. */
int husk_vsock_connect(const struct husk_vsock *v, uint32_t port, int timeout_ms, struct husk_err *err);
/* Closes what the monitor holds (the backend child dies with QEMU's
 * disconnect, or by SIGKILL here). */
void husk_vsock_close(struct husk_vsock *v);
/* For state.json, and back: how another process reaches this guest. */
struct husk_vsock_ref;
void husk_vsock_describe(const struct husk_vsock *v, struct husk_vsock_ref *ref);
int husk_vsock_attach(struct husk_vsock *v, const struct husk_vsock_ref *ref, struct husk_err *err);

/* True if /dev/vhost-vsock can be opened on this host. */
bool husk_vhost_vsock_usable(void);

#endif
