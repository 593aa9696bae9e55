/* Fuzzes the vhost-user message handling of the built-in vsock back-end
 * (host/vsock/vhost_user.c) as QEMU would drive it: the input is cut into chunks
 * written to the back-end's socket, each optionally carrying fds (a memfd
 * standing in for guest memory, or eventfds for kick/call), and the
 * back-end's incremental reader is run after each. Whatever the bytes and
 * fds, it must not crash, leak fds or memory, or map past a memfd's end. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/vsock/vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GUEST_MEM_SIZE (1u << 20)

static void on_stop(void *ctx)
{
	(void)ctx;
}

static int make_fd(int memory)
{
	if (!memory)
		return eventfd(0, EFD_CLOEXEC);
	int fd = memfd_create("fuzz-guest-mem", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, GUEST_MEM_SIZE) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes one chunk with n fds; the fds are ours to close afterwards (the
 * kernel gave the receiver its own copies). */
static void send_chunk(int sock, const uint8_t *buf, size_t len, unsigned nfds, int memory)
{
	int fds[3];
	unsigned have = 0;
	for (; have < nfds; have++)
		if ((fds[have] = make_fd(memory)) < 0)
			break;
	struct iovec iov = { (void *)buf, len };
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * 3)];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (have) {
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * have);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * have);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * have);
	}
	(void)sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (unsigned i = 0; i < have; i++)
		close(fds[i]);
}

static void drain_replies(int sock)
{
	uint8_t buf[4096];
	while (recv(sock, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		abort();
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	static struct vu_dev d;
	vu_dev_init(&d, sp[1], epfd, 3);
	d.on_stop = on_stop;

	/* chunk: control byte (bits 0-1: fds, bit 2: memfd instead of eventfd),
	 * u16 length, then that many bytes (or what is left) */
	size_t off = 0;
	int alive = 1;
	while (alive && off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		off += 3;
		if (len > size - off)
			len = size - off;
		send_chunk(sp[0], data + off, len, ctl & 3u, (ctl >> 2) & 1u);
		off += len;
		struct husk_err err = { 0 };
		alive = vu_dev_read(&d, &err) == 1;
		if (!alive && getenv("FUZZ_DEBUG"))
			fprintf(stderr, "vhost-user: %s\n", err.msg);
		drain_replies(sp[0]);
	}
	vu_dev_fini(&d);
	close(sp[0]);
	close(sp[1]);
	close(epfd);
	return 0;
}
