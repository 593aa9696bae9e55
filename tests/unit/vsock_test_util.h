/* Helpers shared by the vhost-user-vsock unit tests (test_virtq.c,
 * test_vsock_conn.c, test_vhost_user.c): malloc'd fake guest memory with one
 * split ring in it, a vsock device whose host side is real unix sockets
 * under a temporary directory, packet headers and small socket helpers.
 * Everything is static inline or marked unused, so each test binary
 * compiles cleanly with -Wall -Wextra -Werror whatever it uses. */
#ifndef HUSK_TESTS_VSOCK_TEST_UTIL_H
#define HUSK_TESTS_VSOCK_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/vsock/vhost_user.h"
#include "host/vsock/virtq.h"
#include "host/vsock/vsock_mux.h"
#include "host/vsock/vsock_pkt.h"
#include "host/vsock/vsock_queue.h"
#include "host/vsock/vsock_user.h"

#define GUEST_CID 3u

__attribute__((unused)) static unsigned log_count;
static inline void quiet_sink(const char *msg)
{
	(void)msg;
	log_count++;
}

/* ---- virtqueue over malloc'd guest memory --------------------------------- */

#define GMEM_SIZE (1u << 20)
#define GPA_BASE 0x100000ull
#define UVA_BASE 0x7f0000000000ull
#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define BUF_OFF 0x10000u

__attribute__((unused)) static uint8_t *gmem;
__attribute__((unused)) static struct vq_mem mem;
__attribute__((unused)) static struct virtq vq;

static inline void vq_setup(unsigned num)
{
	if (!gmem)
		gmem = aligned_alloc(4096, GMEM_SIZE);
	memset(gmem, 0, GMEM_SIZE);
	memset(&mem, 0, sizeof mem);
	mem.n = 1;
	mem.r[0] = (struct vq_region){ .gpa = GPA_BASE, .uva = UVA_BASE, .size = GMEM_SIZE, .host = gmem };
	vq_init(&vq);
	vq.num = num;
	vq.desc_uva = UVA_BASE + DESC_OFF;
	vq.avail_uva = UVA_BASE + AVAIL_OFF;
	vq.used_uva = UVA_BASE + USED_OFF;
	vq.addr_set = true;
	vq.started = vq.enabled = true;
	vq_map(&vq, &mem, true);
}

static inline void set_desc(unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = gmem + DESC_OFF + 16 * i;
	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline uint16_t avail_idx(void)
{
	uint16_t v;
	memcpy(&v, gmem + AVAIL_OFF + 2, 2);
	return v;
}

static inline void avail_add(uint16_t head)
{
	uint16_t idx = avail_idx();
	memcpy(gmem + AVAIL_OFF + 4 + 2 * (idx % vq.num), &head, 2);
	idx++;
	memcpy(gmem + AVAIL_OFF + 2, &idx, 2);
}

static inline void set_avail_idx(uint16_t idx)
{
	memcpy(gmem + AVAIL_OFF + 2, &idx, 2);
}

static inline uint16_t used_idx(void)
{
	uint16_t v;
	memcpy(&v, gmem + USED_OFF + 2, 2);
	return v;
}

static inline void used_elem(unsigned i, uint32_t *id, uint32_t *len)
{
	memcpy(id, gmem + USED_OFF + 4 + 8 * (i % vq.num), 4);
	memcpy(len, gmem + USED_OFF + 4 + 8 * (i % vq.num) + 4, 4);
}

/* ---- vsock device with unix-socket host peers ------------------------------ */

__attribute__((unused)) static struct vc_dev D;
__attribute__((unused)) static char tmpdir[64];
__attribute__((unused)) static char hpath[128];
__attribute__((unused)) static int lfd = -1; /* listener at <hpath>_1234 */

static inline int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0)
		return -1;
	return fd;
}

static inline int dev_setup(unsigned max_conns, uint32_t buf_alloc)
{
	struct husk_err err = { 0 };
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/husk-vsock-test-XXXXXX");
		if (!mkdtemp(tmpdir))
			return -1;
		snprintf(hpath, sizeof hpath, "%s/hv", tmpdir);
	}
	char p[160];
	snprintf(p, sizeof p, "%s_1234", hpath);
	if (lfd < 0)
		lfd = listen_at(p);
	struct vc_cfg cfg = {
		.guest_cid = GUEST_CID,
		.hybrid_path = hpath,
		.buf_alloc = buf_alloc,
		.max_conns = max_conns,
		.epfd = -1,
	};
	log_count = 0;
	return vc_dev_init(&D, &cfg, &err);
}

static inline void dev_teardown(void)
{
	vc_dev_fini(&D);
}

static inline void mkhdr(struct vc_hdr *h, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len)
{
	*h = (struct vc_hdr){
		.src_cid = GUEST_CID,
		.dst_cid = VC_HOST_CID,
		.src_port = sport,
		.dst_port = dport,
		.len = len,
		.type = VC_TYPE_STREAM,
		.op = op,
		.buf_alloc = 65536,
	};
}

static inline ssize_t read_all(int fd, void *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = read(fd, (uint8_t *)buf + off, len - off);
		if (n <= 0)
			return n < 0 ? -1 : (ssize_t)off;
		off += (size_t)n;
	}
	return (ssize_t)off;
}

static inline bool fd_at_eof(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		return false;
	return read(fd, &c, 1) == 0;
}

/* end of a test binary: close the listener, remove the temporary directory
 * and free the guest memory; returns the exit status */
static inline int vt_cleanup(int r)
{
	if (lfd >= 0)
		close(lfd);
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			r = 1;
	}
	free(gmem);
	return r;
}

#endif
