/* Built-in vhost-user-vsock back-end ("hybrid vsock"): serves QEMU's
 * vhost-user-vsock-device without a kernel module and exposes guest ports
 * as unix sockets, Firecracker / Cloud Hypervisor style. */
#ifndef HUSK_HOST_VSOCK_USER_H
#define HUSK_HOST_VSOCK_USER_H

#include <stdint.h>

#include "common/err.h"

/* Serves QEMU's vhost-user-vsock-device on an already-listening unix socket
 * (bound before QEMU starts; QEMU connects once). Guest CID is guest_cid.
 * hybrid_listen_fd is a listening unix socket at hybrid_path: a host client
 * connects, writes "CONNECT <port>\n" and gets "OK <hostport>\n" once the
 * guest accepted, or the socket is closed if the guest refused (RST).
 * Guest-initiated connections to CID 2 port P are connected to the unix
 * socket "<hybrid_path>_<P>" (RST if nothing listens there).
 * Runs until QEMU disconnects (returns 0) or a fatal error (<0, err filled).
 * Single-threaded epoll loop.
 *
 * Both listening fds stay the caller's (they are switched to O_NONBLOCK,
 * never closed). A CONNECT that arrives before the guest driver has set up
 * its rings is refused at once (the caller retries). hybrid_listen_fd may be
 * -1 (no host-initiated connections); hybrid_path may be NULL (guest
 * connections are refused). */
int husk_vuvsock_serve(int vu_listen_fd, int hybrid_listen_fd, const char *hybrid_path, uint64_t guest_cid,
		       struct husk_err *err);

/* Host side of the hybrid socket: connect to hybrid_path, send
 * "CONNECT <port>\n", read the "OK ..." line (bounded by timeout_ms; < 0
 * waits forever). Returns the connected stream fd (blocking, close-on-exec;
 * the bytes after the OK line are the guest's), or -ECONNREFUSED when the
 * guest is not (yet) listening (the caller retries), or another negative
 * errno (-ETIMEDOUT, -EPROTO for a bad answer, -ENOENT when nothing is at
 * hybrid_path). */
int husk_hybrid_connect(const char *hybrid_path, uint32_t port, int timeout_ms, struct husk_err *err);

#endif
