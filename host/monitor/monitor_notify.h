/* sd_notify relay (host/monitor/monitor_notify.c): the NOTIFY frames of
 * the guest (one per datagram a container process sent to its
 * NOTIFY_SOCKET) sent on to the host socket that create found
 * (host/spec/spec_notify.c): systemd's, or conmon's for Podman. */
#ifndef HUSK_HOST_MONITOR_NOTIFY_H
#define HUSK_HOST_MONITOR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "common/err.h"
#include "proto/cbor.h"

#define MON_NOTIFY_RATE 64u /* datagrams relayed per second at most; the rest are dropped */

struct mon_notify {
	bool on;
	int fd;     /* SOCK_DGRAM, unbound */
	int dir_fd; /* a path too long for sun_path is reached through its directory; -1 */
	struct sockaddr_un addr;
	socklen_t addr_len;
	struct timespec window; /* the current second of the rate limit */
	unsigned sent, dropped; /* in that second */
	bool failed;            /* a send failed in that second (logged once) */
};

/* The datagram as the host socket gets it: the guest's MAINPID= lines
 * dropped (a guest pid means nothing on the host), and those that only
 * mean something with a file descriptor (FDSTORE=, FDSTOREREMOVE=,
 * FDNAME=, FDPOLL=, BARRIER=: none crosses the VM); after a READY=1 line,
 * MAINPID=<mainpid> (the monitor: the container's pid on the host).
 * Writes at most cap - 1 bytes and a NUL; returns the length (0: nothing
 * is left to send). */
size_t husk_notify_rewrite(const char *in, pid_t mainpid, char *out, size_t cap);

/* A socket for the relay to host ("/path" or "@abstract"). */
int mon_notify_open(struct mon_notify *n, const char *host, struct husk_err *err);
void mon_notify_close(struct mon_notify *n);

struct monitor;
/* A NOTIFY frame: checked, rate-limited, sent on; a failed send is logged,
 * never fatal. A NOTIFY the monitor did not ask for is a protocol error. */
int mon_notify_frame(struct monitor *m, const struct husk_cbor_item *root, struct husk_err *err);

#endif
