/* Host half of the vsock echo check (tests/vsock/run-echo.sh), linked
 * against build/libhusk.a:
 *   vsock-echo serve VU_SOCKET HYBRID_SOCKET CID
 *       binds both sockets and runs husk_vuvsock_serve() until QEMU exits
 *   vsock-echo peer connect|listen HYBRID_SOCKET BYTES
 *       connect: husk_hybrid_connect() to guest port 1024 (retrying while
 *       refused); listen: accept the guest's connection on HYBRID_SOCKET_1234.
 *       Sends BYTES random bytes, reads the echo at the same time, checks it
 *       byte for byte and prints a checksum of each side and the throughput. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/vsock/vsock_user.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long long fnv1a(const unsigned char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "path too long: %s\n", path);
		exit(2);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static int serve(const char *vu_path, const char *hybrid_path, const char *cid)
{
	struct husk_err err = { 0 };
	int vu = listen_at(vu_path), hy = listen_at(hybrid_path);
	int r = husk_vuvsock_serve(vu, hy, hybrid_path, strtoull(cid, NULL, 10), &err);
	if (r < 0)
		fprintf(stderr, "vsock-echo: %s\n", err.msg);
	return r < 0;
}

static int peer(const char *mode, const char *path, size_t n)
{
	unsigned char *out = malloc(n), *in = malloc(n);
	int fd = -1;
	double t0 = now();

	if (!out || !in)
		return 1;
	srand((unsigned)getpid());
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)rand();
	if (strcmp(mode, "listen") == 0) {
		char p[256];
		snprintf(p, sizeof p, "%s_1234", path);
		int l = listen_at(p);
		struct pollfd pl = { .fd = l, .events = POLLIN };
		if (poll(&pl, 1, 120000) != 1) {
			fprintf(stderr, "peer: the guest never connected\n");
			return 1;
		}
		fd = accept(l, NULL, NULL);
		printf("peer: guest connected after %.3fs\n", now() - t0);
	} else {
		int refused = 0;
		for (;;) {
			struct husk_err err = { 0 };
			fd = husk_hybrid_connect(path, 1024, 2000, &err);
			if (fd >= 0)
				break;
			if ((fd != -ECONNREFUSED && fd != -ENOENT) || now() - t0 > 120) {
				fprintf(stderr, "peer: %s\n", err.msg);
				return 1;
			}
			refused++;
			usleep(50000);
		}
		printf("peer: connected after %.3fs (%d refused tries)\n", now() - t0, refused);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	size_t sent = 0, got = 0;
	int shut = 0;
	double t1 = now();
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < n ? POLLOUT : 0) };
		if (poll(&p, 1, 60000) <= 0) {
			fprintf(stderr, "peer: stalled, sent %zu got %zu\n", sent, got);
			return 1;
		}
		if (sent < n && (p.revents & POLLOUT)) {
			ssize_t w = write(fd, out + sent, n - sent > 65536 ? 65536 : n - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		if (sent == n && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in + got, n - got);
			if (r == 0 || (r < 0 && errno != EAGAIN))
				break;
			if (r > 0)
				got += (size_t)r;
		}
	}
	double dt = now() - t1;
	char c;
	fcntl(fd, F_SETFL, 0);
	bool ok = got == n && memcmp(in, out, n) == 0;
	bool eof = read(fd, &c, 1) == 0;
	printf("peer: %s sent %zu echoed %zu sum %016llx/%016llx eof=%s %.3fs %.1f MiB/s each way\n",
	       ok ? "MATCH" : "MISMATCH", n, got, fnv1a(out, n), fnv1a(in, got), eof ? "yes" : "no", dt,
	       (double)n / 1048576.0 / dt);
	return ok && eof ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "peer") == 0)
		return peer(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: vsock-echo serve VU HYBRID CID | peer connect|listen HYBRID BYTES\n");
	return 2;
}
