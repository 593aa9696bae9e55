/* probe notify LINE... : one sd_notify datagram, its lines joined by
 * newlines, sent to $NOTIFY_SOCKET (a path or @abstract), as sd_notify(3)
 * does. probe notify --bytes N : a datagram of N bytes ("STATUS=xxx...").
 * Exits 0 once the datagram was sent, 1 with the reason otherwise. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/probe/probe.h"

#define PROBE_NOTIFY_MAX (256 * 1024)

static int build(int argc, char **argv, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	if (argc == 2 && !strcmp(argv[0], "--bytes")) {
		long n = atol(argv[1]);
		if (n < 8 || (size_t)n > cap) {
			fprintf(stderr, "probe notify: --bytes takes 8 to %zu\n", cap);
			return -1;
		}
		memcpy(buf, "STATUS=", 7);
		memset(buf + 7, 'x', (size_t)n - 7);
		*len = (size_t)n;
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (*len + n + 1 > cap) {
			fprintf(stderr, "probe notify: message too long\n");
			return -1;
		}
		if (i)
			buf[(*len)++] = '\n';
		memcpy(buf + *len, argv[i], n);
		*len += n;
	}
	return 0;
}

int probe_notify(int argc, char **argv)
{
	static char buf[PROBE_NOTIFY_MAX];
	size_t len;
	const char *path = getenv("NOTIFY_SOCKET");
	if (argc < 1) {
		fprintf(stderr, "usage: probe notify LINE... | --bytes N\n");
		return 2;
	}
	if (!path || !path[0]) {
		fprintf(stderr, "probe notify: NOTIFY_SOCKET is not set\n");
		return 1;
	}
	if (build(argc, argv, buf, sizeof buf, &len) < 0)
		return 2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	if (plen >= sizeof sa.sun_path) {
		fprintf(stderr, "probe notify: NOTIFY_SOCKET is too long\n");
		return 1;
	}
	memcpy(sa.sun_path, path, plen);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '@' ? 0 : 1));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int sndbuf = PROBE_NOTIFY_MAX + 4096;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0) {
		fprintf(stderr, "probe notify: socket: %s\n", strerror(errno));
		return 1;
	}
	if (sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) != (ssize_t)len) {
		fprintf(stderr, "probe notify: sending to %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
