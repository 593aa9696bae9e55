/* Unit tests of the vhost-user-vsock back-end without a VM: split virtqueues
 * over malloc'd "guest memory", the vsock packet state machine driven with
 * flat buffers and real unix sockets as host peers, vhost-user messages over
 * a socketpair, and the hybrid client. */
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

#include "../../host/vhost_user.h"
#include "../../host/virtq.h"
#include "../../host/vsock_conn.h"
#include "../../host/vsock_pkt.h"
#include "../../host/vsock_queue.h"
#include "../../host/vsock_user.h"
#include "unit.h"

#define GUEST_CID 3u

static unsigned log_count;
static void quiet_sink(const char *msg)
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

static uint8_t *gmem;
static struct vq_mem mem;
static struct virtq vq;

static void vq_setup(unsigned num)
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

static void set_desc(unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = gmem + DESC_OFF + 16 * i;
	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t avail_idx(void)
{
	uint16_t v;
	memcpy(&v, gmem + AVAIL_OFF + 2, 2);
	return v;
}

static void avail_add(uint16_t head)
{
	uint16_t idx = avail_idx();
	memcpy(gmem + AVAIL_OFF + 4 + 2 * (idx % vq.num), &head, 2);
	idx++;
	memcpy(gmem + AVAIL_OFF + 2, &idx, 2);
}

static void set_avail_idx(uint16_t idx)
{
	memcpy(gmem + AVAIL_OFF + 2, &idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;
	memcpy(&v, gmem + USED_OFF + 2, 2);
	return v;
}

static void used_elem(unsigned i, uint32_t *id, uint32_t *len)
{
	memcpy(id, gmem + USED_OFF + 4 + 8 * (i % vq.num), 4);
	memcpy(len, gmem + USED_OFF + 4 + 8 * (i % vq.num) + 4, 4);
}

static enum test_result test_vq_mem_translate(void)
{
	vq_setup(16);
	CHECK(vq_mem_gpa(&mem, GPA_BASE, 1) == gmem);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 1, 1) == gmem + GMEM_SIZE - 1);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 16, 16) != NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 16, 17) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE, 1) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE - 1, 2) == NULL);
	CHECK(vq_mem_gpa(&mem, UINT64_MAX - 4, 16) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + 8, UINT64_MAX) == NULL);
	CHECK(vq_mem_uva(&mem, UVA_BASE + 100, 10) == gmem + 100);
	CHECK(vq_mem_uva(&mem, GPA_BASE, 10) == NULL); /* the two spaces differ */
	return TEST_PASS;
}

static enum test_result test_vq_map_bounds(void)
{
	vq_setup(16);
	CHECK(vq.desc != NULL);
	vq.desc_uva = UVA_BASE + GMEM_SIZE - 8; /* table would run past the region */
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL); /* misaligned first */
	vq.desc_uva = UVA_BASE + GMEM_SIZE - 16;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EFAULT);
	CHECK(vq.desc == NULL && !vq_ready(&vq));
	vq.desc_uva = UVA_BASE;
	vq.used_uva = UVA_BASE + USED_OFF + 2;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL);
	vq.used_uva = UVA_BASE + USED_OFF;
	vq.num = 12; /* not a power of two */
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL);
	vq.num = 16;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), 0);
	CHECK(vq_ready(&vq));
	return TEST_PASS;
}

static enum test_result test_vq_pop_split_chain(void)
{
	struct vq_chain c;
	vq_setup(16);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	set_desc(3, GPA_BASE + BUF_OFF, 44, VQ_DESC_F_NEXT, 7);
	set_desc(7, GPA_BASE + BUF_OFF + 100, 1000, VQ_DESC_F_NEXT, 1);
	set_desc(1, GPA_BASE + BUF_OFF + 2000, 500, VQ_DESC_F_WRITE, 0);
	avail_add(3);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(c.head, 3);
	CHECK_EQ_INT(c.nout, 2);
	CHECK_EQ_INT(c.nin, 1);
	CHECK_EQ_INT(c.out_len, 1044);
	CHECK_EQ_INT(c.in_len, 500);
	CHECK(c.out[1].iov_base == gmem + BUF_OFF + 100);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	vq_push(&vq, c.head, 77);
	uint32_t id, len;
	used_elem(0, &id, &len);
	CHECK_EQ_INT(used_idx(), 1);
	CHECK_EQ_INT(id, 3);
	CHECK_EQ_INT(len, 77);
	return TEST_PASS;
}

/* a malformed chain is consumed and reported; the ring goes on */
static enum test_result expect_chain_error(int want)
{
	struct vq_chain c;
	int r = vq_pop(&vq, &mem, &c);
	CHECK_EQ_INT(r, want);
	CHECK(!vq.broken);
	CHECK_EQ_INT(c.head, 0);
	vq_push(&vq, c.head, 0);
	set_desc(5, GPA_BASE + BUF_OFF, 64, 0, 0);
	avail_add(5);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(c.head, 5);
	return TEST_PASS;
}

static enum test_result test_vq_addr_outside_memory(void)
{
	vq_setup(16);
	set_desc(0, 0x1000, 64, 0, 0);
	avail_add(0);
	return expect_chain_error(-EFAULT);
}

static enum test_result test_vq_addr_len_overflow(void)
{
	vq_setup(16);
	set_desc(0, UINT64_MAX - 15, 64, 0, 0);
	avail_add(0);
	if (expect_chain_error(-EFAULT) != TEST_PASS)
		return TEST_FAIL;
	vq_setup(16);
	set_desc(0, GPA_BASE + GMEM_SIZE - 32, 64, 0, 0); /* runs past the region end */
	avail_add(0);
	return expect_chain_error(-EFAULT);
}

static enum test_result test_vq_chain_loop(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 1);
	set_desc(1, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 2);
	set_desc(2, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 0);
	avail_add(0);
	return expect_chain_error(-ELOOP);
}

static enum test_result test_vq_chain_too_long(void)
{
	struct vq_chain c;
	vq_setup(256);
	for (unsigned i = 0; i < VQ_MAX_CHAIN; i++)
		set_desc(i, GPA_BASE + BUF_OFF + i, 1, i + 1 < VQ_MAX_CHAIN ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1); /* exactly the limit is fine */
	CHECK_EQ_INT(c.nout, VQ_MAX_CHAIN);
	for (unsigned i = 0; i <= VQ_MAX_CHAIN; i++)
		set_desc(i, GPA_BASE + BUF_OFF + i, 1, i < VQ_MAX_CHAIN ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -E2BIG);
	CHECK(!vq.broken);
	return TEST_PASS;
}

static enum test_result test_vq_indirect_rejected(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	return expect_chain_error(-ENOTSUP);
}

static enum test_result test_vq_next_out_of_range(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_NEXT, 16);
	avail_add(0);
	return expect_chain_error(-ERANGE);
}

static enum test_result test_vq_readable_after_writable(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	set_desc(1, GPA_BASE + BUF_OFF + 64, 32, 0, 0);
	avail_add(0);
	return expect_chain_error(-EINVAL);
}

static enum test_result test_vq_avail_idx_jump(void)
{
	struct vq_chain c;
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	set_avail_idx(17); /* 17 new entries in a ring of 16 */
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -EPROTO);
	CHECK(vq.broken);
	CHECK(!vq_ready(&vq));
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	/* exactly num pending is legal */
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	set_avail_idx(16);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	/* and wrap-around of the 16-bit index is too */
	vq_setup(16);
	vq.last_avail = 0xfffe;
	set_avail_idx(0x0002);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(vq.last_avail, 0xffff);
	return TEST_PASS;
}

static enum test_result test_vq_head_out_of_range(void)
{
	struct vq_chain c;
	vq_setup(16);
	avail_add(40);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -EPROTO);
	CHECK(vq.broken);
	return TEST_PASS;
}

static enum test_result test_vq_notify(void)
{
	struct vq_chain c;
	uint64_t v = 0;
	vq_setup(16);
	vq.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(vq.call_fd >= 0);
	CHECK_EQ_INT(vq_notify(&vq), 0); /* nothing pushed: no signal */
	CHECK(read(vq.call_fd, &v, sizeof v) < 0 && errno == EAGAIN);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	vq_push(&vq, c.head, 0);
	CHECK_EQ_INT(vq_notify(&vq), 0);
	CHECK(read(vq.call_fd, &v, sizeof v) == sizeof v && v == 1);
	/* the guest suppressed interrupts */
	uint16_t fl = VQ_AVAIL_F_NO_INTERRUPT;
	memcpy(gmem + AVAIL_OFF, &fl, 2);
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	vq_push(&vq, c.head, 0);
	CHECK_EQ_INT(vq_notify(&vq), 0);
	CHECK(read(vq.call_fd, &v, sizeof v) < 0 && errno == EAGAIN);
	CHECK_EQ_INT(used_idx(), 2);
	close(vq.call_fd);
	return TEST_PASS;
}

/* ---- vsock state machine ---------------------------------------------------- */

static struct vc_dev D;
static char tmpdir[64];
static char hpath[128];
static int lfd = -1; /* listener at <hpath>_1234 */

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0)
		return -1;
	return fd;
}

static int dev_setup(unsigned max_conns, uint32_t buf_alloc)
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

static void dev_teardown(void)
{
	vc_dev_fini(&D);
}

static void mkhdr(struct vc_hdr *h, uint16_t op, uint32_t sport, uint32_t dport, uint32_t len)
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

/* guest -> host; the header itself is split over two descriptors and the
 * payload sits in a third */
static void tx_hdr(const struct vc_hdr *h, const void *payload, size_t plen)
{
	uint8_t raw[VC_HDR_LEN];
	vc_hdr_encode(h, raw);
	struct iovec iov[3] = {
		{ .iov_base = raw, .iov_len = 20 },
		{ .iov_base = raw + 20, .iov_len = VC_HDR_LEN - 20 },
		{ .iov_base = (void *)payload, .iov_len = plen },
	};
	vc_tx_packet(&D, iov, plen ? 3 : 2, VC_HDR_LEN + plen);
}

static void tx_op(uint16_t op, uint32_t sport, uint32_t dport, uint32_t flags)
{
	struct vc_hdr h;
	mkhdr(&h, op, sport, dport, 0);
	h.flags = flags;
	tx_hdr(&h, NULL, 0);
}

static uint8_t rxbuf[VC_HDR_LEN + VC_MAX_PAYLOAD + 64];

/* host -> guest through one flat rx buffer of cap bytes */
static int rx(size_t cap, struct vc_hdr *h)
{
	struct iovec iov = { .iov_base = rxbuf, .iov_len = cap };
	memset(h, 0, sizeof *h);
	int n = vc_rx_fill(&D, &iov, 1, cap);
	if (n >= (int)VC_HDR_LEN)
		vc_hdr_decode(rxbuf, h);
	return n;
}

/* guest port gport connects to host port 1234; returns the host peer */
static int establish(uint32_t gport)
{
	struct vc_hdr h;
	tx_op(VC_OP_REQUEST, gport, 1234, 0);
	int peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (peer < 0)
		return -1;
	if (rx(4096, &h) != (int)VC_HDR_LEN || h.op != VC_OP_RESPONSE || h.dst_port != gport || h.src_port != 1234)
		return -1;
	return peer;
}

static ssize_t read_all(int fd, void *buf, size_t len)
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

static bool fd_at_eof(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 1000) != 1)
		return false;
	return read(fd, &c, 1) == 0;
}

static enum test_result test_vc_guest_connect_split_header(void)
{
	struct vc_hdr h;
	uint8_t data[3000], got[3000];
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	int peer = establish(5000);
	CHECK(peer >= 0);
	for (unsigned i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 7);
	mkhdr(&h, VC_OP_RW, 5000, 1234, sizeof data);
	tx_hdr(&h, data, sizeof data);
	CHECK_EQ_INT(read_all(peer, got, sizeof got), sizeof got);
	CHECK(memcmp(data, got, sizeof data) == 0);
	/* header and payload in one descriptor, payload split in odd places */
	uint8_t one[VC_HDR_LEN + 10];
	mkhdr(&h, VC_OP_RW, 5000, 1234, 10);
	vc_hdr_encode(&h, one);
	memcpy(one + VC_HDR_LEN, "0123456789", 10);
	struct iovec iov[3] = { { one, 30 }, { one + 30, 17 }, { one + 47, sizeof one - 47 } };
	vc_tx_packet(&D, iov, 3, sizeof one);
	CHECK_EQ_INT(read_all(peer, got, 10), 10);
	CHECK(memcmp(got, "0123456789", 10) == 0);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5000);
	CHECK(c && c->fwd_cnt == sizeof data + 10 && c->rx_cnt == c->fwd_cnt);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_guest_connect_refused(void)
{
	struct vc_hdr h;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	tx_op(VC_OP_REQUEST, 5001, 4321, 0); /* nothing listens at <path>_4321 */
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_RST);
	CHECK_EQ_INT(h.src_port, 4321);
	CHECK_EQ_INT(h.dst_port, 5001);
	CHECK_EQ_INT(h.dst_cid, GUEST_CID);
	CHECK_EQ_INT(h.src_cid, VC_HOST_CID);
	CHECK(vc_conn_find(&D, 4321, 5001) == NULL);
	CHECK_EQ_INT(rx(4096, &h), 0);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_unknown_flow_rst(void)
{
	struct vc_hdr h;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	mkhdr(&h, VC_OP_RW, 6000, 1234, 4);
	tx_hdr(&h, "abcd", 4);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_RST);
	CHECK_EQ_INT(h.dst_port, 6000);
	tx_op(VC_OP_SHUTDOWN, 6001, 1234, 3);
	tx_op(VC_OP_CREDIT_UPDATE, 6002, 1234, 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK(h.op == VC_OP_RST && h.dst_port == 6001);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK(h.op == VC_OP_RST && h.dst_port == 6002);
	/* an RST is never answered */
	tx_op(VC_OP_RST, 6003, 1234, 0);
	CHECK(!vc_rx_pending(&D));
	CHECK_EQ_INT(rx(4096, &h), 0);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_malformed_headers(void)
{
	struct vc_hdr h;
	static uint8_t big[VC_HDR_LEN + VC_MAX_PAYLOAD + 8];
	CHECK_EQ_INT(dev_setup(0, 0), 0);

	mkhdr(&h, VC_OP_REQUEST, 7000, 1234, 0);
	h.type = 2; /* SEQPACKET: not offered */
	tx_hdr(&h, NULL, 0);
	mkhdr(&h, VC_OP_REQUEST, 7001, 1234, 0);
	h.dst_cid = 5;
	tx_hdr(&h, NULL, 0);
	mkhdr(&h, VC_OP_RW, 7002, 1234, 100); /* len beyond the chain */
	tx_hdr(&h, "short", 5);
	mkhdr(&h, VC_OP_RW, 7003, 1234, VC_MAX_PAYLOAD + 1);
	vc_hdr_encode(&h, big);
	struct iovec iov = { big, sizeof big };
	vc_tx_packet(&D, &iov, 1, sizeof big); /* the chain is big enough, len is not allowed */
	mkhdr(&h, 99, 7004, 1234, 0);
	tx_hdr(&h, NULL, 0);
	for (uint32_t port = 7000; port <= 7004; port++) {
		CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
		CHECK_EQ_INT(h.op, VC_OP_RST);
		CHECK_EQ_INT(h.dst_port, port);
	}
	CHECK(vc_conn_find(&D, 1234, 7000) == NULL); /* no connection was made */
	/* shorter than a header: dropped, nobody to answer */
	uint8_t tiny[20] = { 0 };
	struct iovec tv = { tiny, sizeof tiny };
	vc_tx_packet(&D, &tv, 1, sizeof tiny);
	CHECK(!vc_rx_pending(&D));
	CHECK(log_count >= 6);

	/* a malformed packet on a live flow resets it */
	int peer = establish(7010);
	CHECK(peer >= 0);
	mkhdr(&h, VC_OP_RW, 7010, 1234, 50);
	tx_hdr(&h, "xx", 2);
	CHECK(fd_at_eof(peer));
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK(h.op == VC_OP_RST && h.dst_port == 7010);
	CHECK(vc_conn_find(&D, 1234, 7010) == NULL);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_small_rx_buffers(void)
{
	struct vc_hdr h;
	uint8_t data[1000], got[1000];
	size_t have = 0;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	int peer = establish(5100);
	CHECK(peer >= 0);
	for (unsigned i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	CHECK_EQ_INT(write(peer, data, sizeof data), sizeof data);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5100);
	CHECK(c);
	vc_conn_event(c, EPOLLIN);
	CHECK_EQ_INT(rx(40, &h), -ENOSPC); /* cannot hold a header */
	while (have < sizeof data) {
		int n = rx(100, &h);
		CHECK(n > (int)VC_HDR_LEN && n <= 100);
		CHECK_EQ_INT(h.op, VC_OP_RW);
		CHECK_EQ_INT(h.len, n - (int)VC_HDR_LEN);
		memcpy(got + have, rxbuf + VC_HDR_LEN, h.len);
		have += h.len;
	}
	CHECK(memcmp(got, data, sizeof data) == 0);
	/* rx buffer split: header over two pieces, payload over two more */
	CHECK_EQ_INT(write(peer, "hello world", 11), 11);
	vc_conn_event(c, EPOLLIN);
	uint8_t a[10], b[40], p1[3], p2[100];
	struct iovec iov[4] = { { a, sizeof a }, { b, sizeof b }, { p1, sizeof p1 }, { p2, sizeof p2 } };
	int n = vc_rx_fill(&D, iov, 4, sizeof a + sizeof b + sizeof p1 + sizeof p2);
	CHECK_EQ_INT(n, VC_HDR_LEN + 11);
	uint8_t flat[VC_HDR_LEN + 11];
	CHECK_EQ_INT(vc_iov_to_buf(iov, 4, 0, flat, sizeof flat), sizeof flat);
	vc_hdr_decode(flat, &h);
	CHECK(h.op == VC_OP_RW && h.len == 11);
	CHECK(memcmp(flat + VC_HDR_LEN, "hello world", 11) == 0);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_credit_host_to_guest(void)
{
	struct vc_hdr h;
	uint8_t data[3000];
	uint32_t got = 0;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	tx_op(VC_OP_REQUEST, 5200, 1234, 0);
	int peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(peer >= 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5200);
	CHECK(c);
	/* the guest only has room for 1000 bytes */
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5200, 1234, 0);
	h.buf_alloc = 1000;
	tx_hdr(&h, NULL, 0);
	memset(data, 'x', sizeof data);
	CHECK_EQ_INT(write(peer, data, sizeof data), sizeof data);
	vc_conn_event(c, EPOLLIN);
	for (;;) {
		int n = rx(4096, &h);
		CHECK(n > 0);
		if (h.op != VC_OP_RW)
			break;
		got += h.len;
	}
	CHECK_EQ_INT(got, 1000);
	CHECK_EQ_INT(h.op, VC_OP_CREDIT_REQUEST); /* out of credit with data waiting */
	CHECK_EQ_INT(vc_peer_credit(c), 0);
	CHECK_EQ_INT(rx(4096, &h), 0); /* asked once, then silence */
	CHECK(!(c->ep_mask & EPOLLIN));
	/* the guest read 600 bytes */
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5200, 1234, 0);
	h.buf_alloc = 1000;
	h.fwd_cnt = 600;
	tx_hdr(&h, NULL, 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN + 600);
	CHECK_EQ_INT(h.op, VC_OP_RW);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_CREDIT_REQUEST);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

/* the host peer does not read: our buffer fills up to the credit we gave,
 * fwd_cnt stays behind, then catches up once the peer reads */
static enum test_result test_vc_credit_guest_to_host(void)
{
	struct vc_hdr h;
	static uint8_t chunk[4096], sink[1 << 20];
	const uint32_t buf_alloc = 256 * 1024;
	CHECK_EQ_INT(dev_setup(0, buf_alloc), 0);
	int peer = establish(5300);
	CHECK(peer >= 0);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5300);
	CHECK(c);
	int small = 4096;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	memset(chunk, 'g', sizeof chunk);
	for (uint32_t sent = 0; sent < buf_alloc; sent += sizeof chunk) {
		mkhdr(&h, VC_OP_RW, 5300, 1234, sizeof chunk);
		tx_hdr(&h, chunk, sizeof chunk);
		CHECK(vc_conn_find(&D, 1234, 5300) == c);
	}
	CHECK_EQ_INT(c->rx_cnt, buf_alloc);
	CHECK(c->fwd_cnt < buf_alloc / 2); /* the socket took little */
	CHECK_EQ_INT(c->olen, c->rx_cnt - c->fwd_cnt);
	CHECK(c->ep_mask & EPOLLOUT);
	/* credit headers only ever report what really left */
	while (rx(4096, &h) > 0)
		CHECK(h.fwd_cnt == c->fwd_cnt);
	uint32_t before = c->fwd_cnt;

	/* the peer drains; each EPOLLOUT moves more and frees credit */
	size_t total = 0;
	for (int i = 0; i < 1000 && total < buf_alloc; i++) {
		ssize_t n = recv(peer, sink, sizeof sink, MSG_DONTWAIT);
		if (n > 0)
			total += (size_t)n;
		vc_conn_event(c, EPOLLOUT);
	}
	CHECK_EQ_INT(total, buf_alloc);
	CHECK_EQ_INT(c->fwd_cnt, buf_alloc);
	CHECK_EQ_INT(c->olen, 0);
	CHECK(c->obuf == NULL);
	CHECK(c->fwd_cnt != before);
	CHECK(c->pend & VC_P_CREDIT_UPDATE);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_CREDIT_UPDATE);
	CHECK_EQ_INT(h.fwd_cnt, buf_alloc);
	CHECK_EQ_INT(h.buf_alloc, buf_alloc);

	/* overrunning the credit resets the connection: fill it exactly */
	for (int i = 0; i < 1000; i++) {
		uint32_t free_space = buf_alloc - (c->rx_cnt - c->fwd_cnt);
		if (free_space == 0)
			break;
		uint32_t k = free_space < sizeof chunk ? free_space : (uint32_t)sizeof chunk;
		mkhdr(&h, VC_OP_RW, 5300, 1234, k);
		tx_hdr(&h, chunk, k);
	}
	CHECK(vc_conn_find(&D, 1234, 5300) == c && c->state == VC_ESTABLISHED);
	CHECK_EQ_INT(c->rx_cnt - c->fwd_cnt, buf_alloc);
	unsigned logs = log_count;
	mkhdr(&h, VC_OP_RW, 5300, 1234, 1);
	tx_hdr(&h, "!", 1);
	CHECK(log_count > logs);
	CHECK(c->state == VC_RST_PENDING && c->fd < 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_RST);
	CHECK(vc_conn_find(&D, 1234, 5300) == NULL);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_credit_request_answered(void)
{
	struct vc_hdr h;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	int peer = establish(5400);
	CHECK(peer >= 0);
	mkhdr(&h, VC_OP_RW, 5400, 1234, 5);
	tx_hdr(&h, "12345", 5);
	tx_op(VC_OP_CREDIT_REQUEST, 5400, 1234, 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_CREDIT_UPDATE);
	CHECK_EQ_INT(h.fwd_cnt, 5);
	CHECK_EQ_INT(h.buf_alloc, VC_BUF_ALLOC_DEFAULT);
	CHECK_EQ_INT(rx(4096, &h), 0);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_counter_wraparound(void)
{
	struct vc_hdr h;
	static uint8_t data[2000];
	CHECK_EQ_INT(dev_setup(0, 4096), 0);
	int peer = establish(5500);
	CHECK(peer >= 0);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5500);
	CHECK(c);
	/* host -> guest across 2^32 */
	c->tx_cnt = 0xffffff00u;
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5500, 1234, 0);
	h.buf_alloc = 1024;
	h.fwd_cnt = 0xffffff00u;
	tx_hdr(&h, NULL, 0);
	CHECK_EQ_INT(vc_peer_credit(c), 1024);
	CHECK_EQ_INT(write(peer, data, sizeof data), sizeof data);
	vc_conn_event(c, EPOLLIN);
	uint32_t got = 0;
	while (rx(4096, &h) > 0 && h.op == VC_OP_RW)
		got += h.len;
	CHECK_EQ_INT(got, 1024);
	CHECK_EQ_INT(c->tx_cnt, 0x300u);
	CHECK_EQ_INT(vc_peer_credit(c), 0);
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5500, 1234, 0);
	h.buf_alloc = 1024;
	h.fwd_cnt = 0x300u; /* wrapped too */
	tx_hdr(&h, NULL, 0);
	CHECK_EQ_INT(vc_peer_credit(c), 1024);
	got = 0;
	while (rx(4096, &h) > 0 && h.op == VC_OP_RW)
		got += h.len;
	CHECK_EQ_INT(got, sizeof data - 1024);

	/* guest -> host across 2^32 */
	c->rx_cnt = c->fwd_cnt = c->last_fwd_sent = 0xfffffff0u;
	mkhdr(&h, VC_OP_RW, 5500, 1234, 100);
	tx_hdr(&h, data, 100);
	CHECK_EQ_INT(c->fwd_cnt, 0x54u);
	CHECK_EQ_INT(c->rx_cnt, 0x54u);
	uint8_t tmp[100];
	CHECK_EQ_INT(read_all(peer, tmp, 100), 100);
	/* 4096-byte buffer: 100 unacknowledged bytes are under a quarter */
	CHECK(!(c->pend & VC_P_CREDIT_UPDATE));
	mkhdr(&h, VC_OP_RW, 5500, 1234, 1000);
	tx_hdr(&h, data, 1000);
	CHECK(c->pend & VC_P_CREDIT_UPDATE);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK(h.op == VC_OP_CREDIT_UPDATE && h.fwd_cnt == 0x54u + 1000);
	/* a guest whose fwd_cnt runs ahead of what we sent gets no credit */
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5500, 1234, 0);
	h.buf_alloc = 1024;
	h.fwd_cnt = c->tx_cnt + 10;
	tx_hdr(&h, NULL, 0);
	CHECK_EQ_INT(vc_peer_credit(c), 0);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_host_initiated(void)
{
	struct vc_hdr h;
	struct husk_err err = { 0 };
	int sp[2];
	char line[32] = { 0 };
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(vc_host_connect(&D, sp[1], 1024, &err), 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_REQUEST);
	CHECK_EQ_INT(h.dst_port, 1024);
	CHECK(h.src_port >= VC_HOST_PORT_BASE);
	uint32_t hp = h.src_port;
	/* the client already wrote data: it waits in its socket */
	CHECK_EQ_INT(write(sp[0], "ping", 4), 4);
	struct vc_conn *c = vc_conn_find(&D, hp, 1024);
	CHECK(c && c->state == VC_CONNECTING);
	CHECK_EQ_INT(rx(4096, &h), 0);
	tx_op(VC_OP_RESPONSE, 1024, hp, 0);
	CHECK(c->state == VC_ESTABLISHED);
	char want[32];
	int wl = snprintf(want, sizeof want, "OK %u\n", hp);
	CHECK_EQ_INT(read_all(sp[0], line, (size_t)wl), wl);
	CHECK(memcmp(line, want, (size_t)wl) == 0);
	vc_conn_event(c, EPOLLIN);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN + 4);
	CHECK(h.op == VC_OP_RW && memcmp(rxbuf + VC_HDR_LEN, "ping", 4) == 0);
	mkhdr(&h, VC_OP_RW, 1024, hp, 4);
	tx_hdr(&h, "pong", 4);
	CHECK_EQ_INT(read_all(sp[0], line, 4), 4);
	CHECK(memcmp(line, "pong", 4) == 0);
	tx_op(VC_OP_RST, 1024, hp, 0);
	CHECK(fd_at_eof(sp[0]));
	CHECK(vc_conn_find(&D, hp, 1024) == NULL);
	CHECK_EQ_INT(rx(4096, &h), 0);
	close(sp[0]);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_host_initiated_refused_and_timeout(void)
{
	struct vc_hdr h;
	struct husk_err err = { 0 };
	int sp[2];
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(vc_host_connect(&D, sp[1], 1025, &err), 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	tx_op(VC_OP_RST, 1025, h.src_port, 0); /* nobody listens on 1025 */
	CHECK(fd_at_eof(sp[0]));
	CHECK_EQ_INT(D.connecting, 0);
	close(sp[0]);

	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(vc_host_connect(&D, sp[1], 1026, &err), 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	uint32_t hp = h.src_port;
	vc_sweep(&D, vc_now_ms() + 1000);
	CHECK(vc_conn_find(&D, hp, 1026) != NULL);
	vc_sweep(&D, vc_now_ms() + VC_CONNECT_TIMEOUT_MS + 1000);
	CHECK(fd_at_eof(sp[0]));
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN); /* the guest is told to forget it */
	CHECK(h.op == VC_OP_RST && h.src_port == hp);
	CHECK_EQ_INT(D.connecting, 0);
	CHECK_EQ_INT(D.nconns, 0);
	close(sp[0]);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_shutdown(void)
{
	struct vc_hdr h;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	int peer = establish(5600);
	CHECK(peer >= 0);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5600);
	CHECK_EQ_INT(write(peer, "bye", 3), 3);
	shutdown(peer, SHUT_WR);
	vc_conn_event(c, EPOLLIN);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN + 3);
	CHECK_EQ_INT(h.op, VC_OP_RW);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_SHUTDOWN);
	CHECK_EQ_INT(h.flags, VC_SHUTDOWN_SEND);
	CHECK_EQ_INT(rx(4096, &h), 0);
	/* the guest still sends, then closes both ways */
	mkhdr(&h, VC_OP_RW, 5600, 1234, 5);
	tx_hdr(&h, "reply", 5);
	tx_op(VC_OP_SHUTDOWN, 5600, 1234, VC_SHUTDOWN_RCV | VC_SHUTDOWN_SEND);
	char buf[8];
	CHECK_EQ_INT(read_all(peer, buf, 5), 5);
	CHECK(memcmp(buf, "reply", 5) == 0);
	CHECK(fd_at_eof(peer));
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_RST);
	CHECK(vc_conn_find(&D, 1234, 5600) == NULL);
	close(peer);

	/* SHUTDOWN(SEND) alone: the host peer sees EOF, the connection stays */
	peer = establish(5601);
	CHECK(peer >= 0);
	tx_op(VC_OP_SHUTDOWN, 5601, 1234, VC_SHUTDOWN_SEND);
	CHECK(fd_at_eof(peer));
	CHECK(vc_conn_find(&D, 1234, 5601) != NULL);
	CHECK_EQ_INT(write(peer, "more", 4), 4);
	vc_conn_event(vc_conn_find(&D, 1234, 5601), EPOLLIN);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN + 4);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

static enum test_result test_vc_connection_limit(void)
{
	struct vc_hdr h;
	struct husk_err err = { 0 };
	int sp[2];
	CHECK_EQ_INT(dev_setup(2, 0), 0);
	int p1 = establish(5700), p2 = establish(5701);
	CHECK(p1 >= 0 && p2 >= 0);
	tx_op(VC_OP_REQUEST, 5702, 1234, 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK(h.op == VC_OP_RST && h.dst_port == 5702);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(vc_host_connect(&D, sp[1], 1024, &err), -EAGAIN);
	CHECK(fd_at_eof(sp[0]));
	close(sp[0]);
	/* a closed connection frees its slot */
	tx_op(VC_OP_RST, 5700, 1234, 0);
	CHECK(fd_at_eof(p1));
	int p3 = establish(5703);
	CHECK(p3 >= 0);
	close(p1);
	close(p2);
	close(p3);
	dev_teardown();
	return TEST_PASS;
}

/* one connection without credit does not hold up another; connections
 * with data take turns */
static enum test_result test_vc_fairness(void)
{
	struct vc_hdr h;
	static uint8_t data[8192];
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	int pa = establish(5800), pb = establish(5801);
	CHECK(pa >= 0 && pb >= 0);
	struct vc_conn *a = vc_conn_find(&D, 1234, 5800), *b = vc_conn_find(&D, 1234, 5801);
	CHECK_EQ_INT(write(pa, data, sizeof data), sizeof data);
	CHECK_EQ_INT(write(pb, data, sizeof data), sizeof data);
	vc_conn_event(a, EPOLLIN);
	vc_conn_event(b, EPOLLIN);
	uint32_t last = 0;
	for (int i = 0; i < 6; i++) {
		CHECK(rx(1024, &h) > 0 && h.op == VC_OP_RW);
		CHECK(h.dst_port != last);
		last = h.dst_port;
	}
	/* a's guest socket stops reading: its credit runs out */
	mkhdr(&h, VC_OP_CREDIT_UPDATE, 5800, 1234, 0);
	h.buf_alloc = 0;
	tx_hdr(&h, NULL, 0);
	unsigned from_b = 0;
	int n;
	while ((n = rx(4096, &h)) > 0) {
		if (h.op == VC_OP_RW) {
			CHECK_EQ_INT(h.dst_port, 5801);
			from_b += h.len;
		}
	}
	CHECK(from_b > 0);
	CHECK(b->tx_cnt == sizeof data);
	CHECK(a->tx_cnt < sizeof data);
	close(pa);
	close(pb);
	dev_teardown();
	return TEST_PASS;
}

/* the queue glue: a guest REQUEST through a real tx ring, the answer in a
 * real rx ring */
static enum test_result test_vc_queues(void)
{
	struct virtq rxq, txq;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	vq_setup(16);
	txq = vq;
	/* second ring further up in the same memory */
	vq_init(&rxq);
	rxq.num = 16;
	rxq.desc_uva = UVA_BASE + 0x4000;
	rxq.avail_uva = UVA_BASE + 0x5000;
	rxq.used_uva = UVA_BASE + 0x6000;
	rxq.addr_set = rxq.started = rxq.enabled = true;
	CHECK_EQ_INT(vq_map(&rxq, &mem, true), 0);

	struct vc_hdr h;
	mkhdr(&h, VC_OP_REQUEST, 5900, 1234, 0);
	vc_hdr_encode(&h, gmem + BUF_OFF);
	set_desc(0, GPA_BASE + BUF_OFF, 20, VQ_DESC_F_NEXT, 1);
	set_desc(1, GPA_BASE + BUF_OFF + 20, 24, 0, 0);
	avail_add(0);
	/* guest rx buffer: descriptor 2 of the rx ring */
	uint8_t *rd = gmem + 0x4000 + 16 * 2;
	uint64_t addr = GPA_BASE + BUF_OFF + 0x1000;
	uint32_t len = 3776;
	uint16_t fl = VQ_DESC_F_WRITE, nx = 0, head = 2, one = 1;
	memcpy(rd, &addr, 8);
	memcpy(rd + 8, &len, 4);
	memcpy(rd + 12, &fl, 2);
	memcpy(rd + 14, &nx, 2);
	memcpy(gmem + 0x5000 + 4, &head, 2);
	memcpy(gmem + 0x5000 + 2, &one, 2);

	CHECK_EQ_INT(vc_process_tx(&D, &txq, &mem, 16), 0);
	CHECK_EQ_INT(used_idx(), 1);
	int peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(peer >= 0);
	CHECK_EQ_INT(vc_process_rx(&D, &rxq, &mem, 16), 0);
	uint16_t ru;
	uint32_t id, ul;
	memcpy(&ru, gmem + 0x6000 + 2, 2);
	memcpy(&id, gmem + 0x6000 + 4, 4);
	memcpy(&ul, gmem + 0x6000 + 8, 4);
	CHECK_EQ_INT(ru, 1);
	CHECK_EQ_INT(id, 2);
	CHECK_EQ_INT(ul, VC_HDR_LEN);
	vc_hdr_decode(gmem + BUF_OFF + 0x1000, &h);
	CHECK(h.op == VC_OP_RESPONSE && h.dst_port == 5900);
	/* nothing more owed: the ring keeps its buffers */
	CHECK_EQ_INT(vc_process_rx(&D, &rxq, &mem, 16), 0);
	CHECK_EQ_INT(rxq.last_avail, 1);
	/* a malformed tx chain is returned with length 0 and logged */
	unsigned logs = log_count;
	set_desc(3, 0x10, 44, 0, 0);
	avail_add(3);
	CHECK_EQ_INT(vc_process_tx(&D, &txq, &mem, 16), 0);
	CHECK_EQ_INT(used_idx(), 2);
	CHECK(log_count > logs);
	/* a ring the guest broke stops the glue */
	set_avail_idx((uint16_t)(avail_idx() + 100));
	CHECK_EQ_INT(vc_process_tx(&D, &txq, &mem, 16), -EPROTO);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

/* ---- vhost-user messages ----------------------------------------------------- */

static struct vu_dev V;
static int qemu_fd = -1; /* our fake QEMU end */
static unsigned stops;

static void on_stop(void *ctx)
{
	(void)ctx;
	stops++;
}

static int vu_setup(void)
{
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) < 0)
		return -1;
	vu_dev_init(&V, sp[1], -1, 42);
	V.on_stop = on_stop;
	qemu_fd = sp[0];
	stops = 0;
	return 0;
}

static void vu_teardown(void)
{
	vu_dev_fini(&V);
	close(V.sock);
	close(qemu_fd);
}

static int vu_send(uint32_t req, uint32_t flags, const void *payload, uint32_t size, uint32_t wire_size,
		   const int *fds, unsigned nfds)
{
	uint8_t buf[VU_HDR_SIZE + 512];
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &wire_size, 4);
	if (size)
		memcpy(buf + VU_HDR_SIZE, payload, size);
	struct iovec iov = { buf, VU_HDR_SIZE + size };
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(qemu_fd, &mh, 0) == (ssize_t)iov.iov_len ? 0 : -1;
}

static int vu_req(uint32_t req, const void *payload, uint32_t size, const int *fds, unsigned nfds,
		  struct husk_err *err)
{
	if (vu_send(req, VU_FLAG_VERSION, payload, size, size, fds, nfds) < 0)
		return -999;
	return vu_dev_read(&V, err);
}

static int vu_reply(uint32_t req, void *payload, uint32_t size)
{
	uint8_t buf[VU_HDR_SIZE + 512];
	ssize_t n = recv(qemu_fd, buf, sizeof buf, MSG_DONTWAIT);
	uint32_t r, fl, sz;
	if (n < (ssize_t)VU_HDR_SIZE)
		return -1;
	memcpy(&r, buf, 4);
	memcpy(&fl, buf + 4, 4);
	memcpy(&sz, buf + 8, 4);
	if (r != req || fl != (VU_FLAG_VERSION | VU_FLAG_REPLY) || sz != size || n != (ssize_t)(VU_HDR_SIZE + size))
		return -1;
	memcpy(payload, buf + VU_HDR_SIZE, size);
	return 0;
}

static enum test_result test_vu_negotiation(void)
{
	struct husk_err err = { 0 };
	uint64_t v;
	CHECK_EQ_INT(vu_setup(), 0);
	CHECK_EQ_INT(vu_req(VU_GET_FEATURES, NULL, 0, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_reply(VU_GET_FEATURES, &v, 8), 0);
	CHECK(v == (VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES));
	CHECK_EQ_INT(vu_req(VU_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_reply(VU_GET_PROTOCOL_FEATURES, &v, 8), 0);
	CHECK(v == (VU_PF_MQ | VU_PF_CONFIG)); /* no REPLY_ACK */
	v = VU_PF_MQ | VU_PF_CONFIG;
	CHECK_EQ_INT(vu_req(VU_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_req(VU_GET_QUEUE_NUM, NULL, 0, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_reply(VU_GET_QUEUE_NUM, &v, 8), 0);
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(vu_req(VU_SET_OWNER, NULL, 0, NULL, 0, &err), 1);
	uint8_t cfg[12 + 8] = { 0 }, out[12 + 8];
	uint32_t sz = 8;
	memcpy(cfg + 4, &sz, 4);
	CHECK_EQ_INT(vu_req(VU_GET_CONFIG, cfg, sizeof cfg, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_reply(VU_GET_CONFIG, out, sizeof out), 0);
	memcpy(&v, out + 12, 8);
	CHECK_EQ_INT(v, 42); /* le64 guest_cid */
	v = VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES;
	CHECK_EQ_INT(vu_req(VU_SET_FEATURES, &v, 8, NULL, 0, &err), 1);
	CHECK(V.features == v);
	v |= 1ull << 28; /* INDIRECT_DESC was never offered */
	CHECK(vu_req(VU_SET_FEATURES, &v, 8, NULL, 0, &err) < 0);
	CHECK(strstr(err.msg, "SET_FEATURES") != NULL);
	vu_teardown();
	return TEST_PASS;
}

static enum test_result test_vu_size_limits(void)
{
	struct husk_err err = { 0 };
	uint8_t p[64] = { 0 };
	CHECK_EQ_INT(vu_setup(), 0);
	/* SET_VRING_NUM carries exactly 8 bytes */
	CHECK_EQ_INT(vu_req(VU_SET_VRING_NUM, p, 16, NULL, 0, &err), -EPROTO);
	CHECK(strstr(err.msg, "SET_VRING_NUM payload of 16 bytes") != NULL);
	vu_teardown();

	/* a huge size is refused from the header alone, before any payload */
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_send(VU_SET_MEM_TABLE, VU_FLAG_VERSION, NULL, 0, 1u << 30, NULL, 0), 0);
	CHECK_EQ_INT(vu_dev_read(&V, &err), -EPROTO);
	vu_teardown();

	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(VU_GET_CONFIG, p, 8, NULL, 0, &err), -EPROTO); /* under its minimum */
	vu_teardown();

	/* GET_CONFIG whose inner size disagrees with the payload */
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	uint32_t sz = 200;
	memcpy(p + 4, &sz, 4);
	CHECK(vu_req(VU_GET_CONFIG, p, 20, NULL, 0, &err) < 0);
	vu_teardown();
	return TEST_PASS;
}

static enum test_result test_vu_bad_flags_and_requests(void)
{
	struct husk_err err = { 0 };
	uint64_t v = 0;
	CHECK_EQ_INT(vu_setup(), 0);
	CHECK_EQ_INT(vu_send(VU_SET_FEATURES, 2, &v, 8, 8, NULL, 0), 0); /* version 2 */
	CHECK_EQ_INT(vu_dev_read(&V, &err), -EPROTO);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_send(VU_SET_FEATURES, VU_FLAG_VERSION | VU_FLAG_NEED_REPLY, &v, 8, 8, NULL, 0), 0);
	CHECK_EQ_INT(vu_dev_read(&V, &err), -EPROTO);
	CHECK(strstr(err.msg, "REPLY_ACK") != NULL);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(36, NULL, 0, NULL, 0, &err), -ENOTSUP); /* GET_MAX_MEM_SLOTS */
	CHECK(strstr(err.msg, "GET_MAX_MEM_SLOTS") != NULL);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(1000, NULL, 0, NULL, 0, &err), -ENOTSUP);
	vu_teardown();
	return TEST_PASS;
}

static enum test_result test_vu_fd_count(void)
{
	struct husk_err err = { 0 };
	uint64_t v;
	int e1 = eventfd(0, EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC);
	int two[2] = { e1, e2 };
	CHECK(e1 >= 0 && e2 >= 0);

	CHECK_EQ_INT(vu_setup(), 0);
	v = 0; /* ring 0, an fd is due */
	CHECK_EQ_INT(vu_req(VU_SET_VRING_CALL, &v, 8, NULL, 0, &err), -EPROTO);
	CHECK(strstr(err.msg, "0 fds, expected 1") != NULL);
	vu_teardown();

	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	v = VU_VRING_NOFD; /* no fd due, one sent */
	CHECK_EQ_INT(vu_req(VU_SET_VRING_KICK, &v, 8, &e1, 1, &err), -EPROTO);
	vu_teardown();

	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	v = 1;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_CALL, &v, 8, two, 2, &err), -EPROTO);
	vu_teardown();

	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	v = 0;
	CHECK_EQ_INT(vu_req(VU_SET_FEATURES, &v, 8, &e1, 1, &err), -EPROTO); /* no fds allowed */
	vu_teardown();

	/* SET_MEM_TABLE: one region, two fds / no fd */
	uint8_t mt[8 + 32] = { 0 };
	uint32_t n = 1;
	uint64_t size = 4096;
	memcpy(mt, &n, 4);
	memcpy(mt + 8 + 8, &size, 8);
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, two, 2, &err), -EPROTO);
	CHECK(strstr(err.msg, "1 regions but 2 fds") != NULL);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, NULL, 0, &err), -EPROTO);
	vu_teardown();
	/* region count disagreeing with the payload size */
	n = 2;
	memcpy(mt, &n, 4);
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, two, 2, &err), -EPROTO);
	vu_teardown();
	close(e1);
	close(e2);
	return TEST_PASS;
}

static int memfd_of(size_t size)
{
	int fd = memfd_create("husk-test-guest", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void mem_region(uint8_t *mt, unsigned i, uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
{
	memcpy(mt + 8 + 32 * i, &gpa, 8);
	memcpy(mt + 8 + 32 * i + 8, &size, 8);
	memcpy(mt + 8 + 32 * i + 16, &uva, 8);
	memcpy(mt + 8 + 32 * i + 24, &off, 8);
}

static enum test_result test_vu_mem_table_bounds(void)
{
	struct husk_err err = { 0 };
	uint8_t mt[8 + 32] = { 0 };
	uint32_t n = 1;
	int fd = memfd_of(1 << 20);
	CHECK(fd >= 0);
	memcpy(mt, &n, 4);

	CHECK_EQ_INT(vu_setup(), 0);
	mem_region(mt, 0, 0x100000, 1 << 20, UVA_BASE, 0);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), 1);
	CHECK_EQ_INT(V.mem.n, 1);
	uint8_t *p = vq_mem_gpa(&V.mem, 0x100000 + 4096, 16);
	CHECK(p != NULL);
	memcpy(p, "guest", 5);
	char back[5];
	CHECK_EQ_INT(pread(fd, back, 5, 4096), 5);
	CHECK(memcmp(back, "guest", 5) == 0);
	vu_teardown();

	/* past the end of the file */
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	mem_region(mt, 0, 0x100000, 1 << 20, UVA_BASE, 4096);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), -EINVAL);
	CHECK_EQ_INT(V.mem.n, 0);
	vu_teardown();

	/* overflowing addresses */
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	mem_region(mt, 0, UINT64_MAX - 4095, 1 << 20, UVA_BASE, 0);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), -EINVAL);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	mem_region(mt, 0, 0, 1 << 20, UVA_BASE, UINT64_MAX - 100);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), -EINVAL);
	vu_teardown();
	close(fd);
	return TEST_PASS;
}

static enum test_result test_vu_rings(void)
{
	struct husk_err err = { 0 };
	uint8_t mt[8 + 32] = { 0 };
	uint32_t st[2];
	uint64_t v;
	uint32_t n = 1;
	int fd = memfd_of(1 << 20);
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	CHECK(fd >= 0 && kick >= 0 && call >= 0);
	memcpy(mt, &n, 4);
	mem_region(mt, 0, 0x100000, 1 << 20, UVA_BASE, 0);

	CHECK_EQ_INT(vu_setup(), 0);
	v = VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES;
	CHECK_EQ_INT(vu_req(VU_SET_FEATURES, &v, 8, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), 1);
	/* invalid ring sizes and indexes */
	st[0] = 1;
	st[1] = 0;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_NUM, st, 8, NULL, 0, &err), -EPROTO);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	st[1] = 100;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_NUM, st, 8, NULL, 0, &err), -EPROTO);
	vu_teardown();
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	st[0] = 2; /* the event queue stays in QEMU */
	st[1] = 256;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_NUM, st, 8, NULL, 0, &err), -EPROTO);
	vu_teardown();

	/* the sequence QEMU sends when the driver starts */
	CHECK_EQ_INT(vu_setup(), 0);
	husk_err_clear(&err);
	close(fd);
	fd = memfd_of(1 << 20);
	v = VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES;
	CHECK_EQ_INT(vu_req(VU_SET_FEATURES, &v, 8, NULL, 0, &err), 1);
	CHECK_EQ_INT(vu_req(VU_SET_MEM_TABLE, mt, sizeof mt, &fd, 1, &err), 1);
	st[0] = 1;
	st[1] = 256;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_NUM, st, 8, NULL, 0, &err), 1);
	st[1] = 7;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_BASE, st, 8, NULL, 0, &err), 1);
	uint64_t addr[5] = { 1, UVA_BASE + 0x8000, UVA_BASE + 0xa000, UVA_BASE + 0x9000, 0 };
	CHECK_EQ_INT(vu_req(VU_SET_VRING_ADDR, addr, 40, NULL, 0, &err), 1);
	CHECK(V.vq[1].desc != NULL);
	v = 1;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_KICK, &v, 8, &kick, 1, &err), 1);
	CHECK_EQ_INT(vu_req(VU_SET_VRING_CALL, &v, 8, &call, 1, &err), 1);
	CHECK(V.vq[1].kick_fd >= 0 && V.vq[1].call_fd >= 0);
	CHECK(!vq_ready(&V.vq[1])); /* disabled until SET_VRING_ENABLE */
	st[1] = 1;
	CHECK_EQ_INT(vu_req(VU_SET_VRING_ENABLE, st, 8, NULL, 0, &err), 1);
	CHECK(vq_ready(&V.vq[1]));
	CHECK_EQ_INT(V.vq[1].last_avail, 7);
	/* a ring address outside guest memory leaves it unmapped, not us dead */
	vc_log_set_sink(quiet_sink);
	uint64_t bad[5] = { 1, UVA_BASE + (1 << 20) - 16, UVA_BASE + 0xa000, UVA_BASE + 0x9000, 0 };
	CHECK_EQ_INT(vu_req(VU_SET_VRING_ADDR, bad, 40, NULL, 0, &err), 1);
	CHECK(!vq_ready(&V.vq[1]));
	CHECK_EQ_INT(vu_req(VU_SET_VRING_ADDR, addr, 40, NULL, 0, &err), 1);
	CHECK(vq_ready(&V.vq[1]));
	/* shutdown: GET_VRING_BASE replies and stops the ring */
	st[1] = 0;
	CHECK_EQ_INT(vu_req(VU_GET_VRING_BASE, st, 8, NULL, 0, &err), 1);
	uint32_t rep[2];
	CHECK_EQ_INT(vu_reply(VU_GET_VRING_BASE, rep, 8), 0);
	CHECK(rep[0] == 1 && rep[1] == 7);
	CHECK(!vq_ready(&V.vq[1]));
	CHECK_EQ_INT(stops, 1);
	/* QEMU going away */
	close(qemu_fd);
	qemu_fd = -1;
	CHECK_EQ_INT(vu_dev_read(&V, &err), 0);
	vu_dev_fini(&V);
	close(V.sock);
	close(fd);
	close(kick);
	close(call);
	return TEST_PASS;
}

/* ---- hybrid client -------------------------------------------------------------- */

/* a fake back-end at path answering one client with `answer` */
static pid_t fake_backend(const char *path, const char *answer, int delay_ms)
{
	int l = listen_at(path);
	if (l < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		char line[64];
		ssize_t n = read(c, line, sizeof line);
		(void)n;
		if (delay_ms)
			usleep((useconds_t)delay_ms * 1000);
		if (answer && write(c, answer, strlen(answer)) < 0)
			_exit(1);
		usleep(200000);
		_exit(0);
	}
	close(l);
	return pid;
}

static enum test_result test_hybrid_connect(void)
{
	struct husk_err err = { 0 };
	char path[160], buf[16];
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	dev_teardown();
	snprintf(path, sizeof path, "%s/hyb", tmpdir);

	pid_t pid = fake_backend(path, "OK 1073741824\nhello", 0);
	CHECK(pid > 0);
	int fd = husk_hybrid_connect(path, 1024, 2000, &err);
	CHECK(fd >= 0);
	CHECK_EQ_INT(read_all(fd, buf, 5), 5); /* the bytes after the line are kept */
	CHECK(memcmp(buf, "hello", 5) == 0);
	close(fd);
	waitpid(pid, NULL, 0);

	pid = fake_backend(path, NULL, 0); /* refused: closed without answer */
	CHECK(pid > 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_hybrid_connect(path, 1024, 2000, &err), -ECONNREFUSED);
	waitpid(pid, NULL, 0);

	pid = fake_backend(path, "NO\n", 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_hybrid_connect(path, 1024, 2000, &err), -EPROTO);
	waitpid(pid, NULL, 0);

	pid = fake_backend(path, "OK 1\n", 1000); /* answers too late */
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_hybrid_connect(path, 1024, 100, &err), -ETIMEDOUT);
	waitpid(pid, NULL, 0);

	unlink(path);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_hybrid_connect(path, 1024, 100, &err), -ENOENT);
	return TEST_PASS;
}

/* ---- the whole back-end in a child, driven by a fake QEMU ------------------------- */

static enum test_result test_serve_refuses_before_rings(void)
{
	struct husk_err err = { 0 };
	char vpath[96], path[96];
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	dev_teardown();
	snprintf(vpath, sizeof vpath, "%s/vu.sock", tmpdir);
	snprintf(path, sizeof path, "%s/serve", tmpdir);
	int vl = listen_at(vpath), hl = listen_at(path);
	CHECK(vl >= 0 && hl >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct husk_err e = { 0 };
		int r = husk_vuvsock_serve(vl, hl, path, GUEST_CID, &e);
		_exit(r == 0 ? 0 : 1);
	}
	close(vl);
	close(hl);
	/* QEMU connects and asks for features */
	int q = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", vpath);
	CHECK_EQ_INT(connect(q, (struct sockaddr *)&sa, sizeof sa), 0);
	uint32_t hdr[3] = { VU_GET_FEATURES, VU_FLAG_VERSION, 0 };
	CHECK_EQ_INT(write(q, hdr, sizeof hdr), sizeof hdr);
	uint8_t rep[20];
	CHECK_EQ_INT(read_all(q, rep, sizeof rep), sizeof rep);
	/* no driver yet: a CONNECT is refused at once */
	CHECK_EQ_INT(husk_hybrid_connect(path, 1024, 2000, &err), -ECONNREFUSED);
	close(q); /* QEMU exits: the back-end returns 0 */
	int status;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return TEST_PASS;
}

/* The whole back-end: husk_vuvsock_serve() in a child, this process plays
 * QEMU (vhost-user over the socket, guest memory in a memfd) and the guest
 * driver (writing rings in that memory), plus a hybrid client. */
struct fake_ring {
	uint32_t desc, avail, used; /* offsets in guest memory */
	uint16_t avail_idx, used_seen;
	int kick, call;
};

static uint8_t *fg; /* the fake guest's memory */

static void fr_post(struct fake_ring *r, uint16_t head, uint64_t off, uint32_t len, uint16_t flags)
{
	uint8_t *d = fg + r->desc + 16 * head;
	uint64_t gpa = 0x100000 + off;
	uint16_t zero = 0;
	memcpy(d, &gpa, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &zero, 2);
	memcpy(fg + r->avail + 4 + 2 * (r->avail_idx % 16), &head, 2);
	r->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(fg + r->avail + 2), r->avail_idx, __ATOMIC_RELEASE);
	uint64_t one = 1;
	if (write(r->kick, &one, sizeof one) != sizeof one)
		abort();
}

/* waits for the next used element; returns its length or -1 */
static int fr_used(struct fake_ring *r, uint32_t *id)
{
	for (int i = 0; i < 300; i++) {
		uint16_t u = __atomic_load_n((uint16_t *)(void *)(fg + r->used + 2), __ATOMIC_ACQUIRE);
		if (u != r->used_seen) {
			uint32_t len;
			memcpy(id, fg + r->used + 4 + 8 * (r->used_seen % 16), 4);
			memcpy(&len, fg + r->used + 8 + 8 * (r->used_seen % 16), 4);
			r->used_seen++;
			return (int)len;
		}
		struct pollfd p = { .fd = r->call, .events = POLLIN };
		poll(&p, 1, 10);
		uint64_t v;
		if (p.revents & POLLIN && read(r->call, &v, sizeof v) < 0)
			return -1;
	}
	return -1;
}

static int vu_msg_sync(int q, uint32_t req, const void *payload, uint32_t size, int fd)
{
	qemu_fd = q;
	return vu_send(req, VU_FLAG_VERSION, payload, size, size, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

static bool read_line_from(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 3000) != 1 || read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static enum test_result test_serve_with_fake_qemu(void)
{
	char vpath[96], path[96], line[64];
	uint32_t id;
	CHECK_EQ_INT(dev_setup(0, 0), 0);
	dev_teardown();
	snprintf(vpath, sizeof vpath, "%s/vu2.sock", tmpdir);
	snprintf(path, sizeof path, "%s/srv2", tmpdir);
	int vl = listen_at(vpath), hl = listen_at(path);
	CHECK(vl >= 0 && hl >= 0);
	int mfd = memfd_of(1 << 20);
	CHECK(mfd >= 0);
	fg = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(fg != MAP_FAILED);
	pid_t pid = fork();
	if (pid == 0) {
		struct husk_err e = { 0 };
		_exit(husk_vuvsock_serve(vl, hl, path, GUEST_CID, &e) == 0 ? 0 : 1);
	}
	close(vl);
	close(hl);
	int q = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", vpath);
	CHECK_EQ_INT(connect(q, (struct sockaddr *)&sa, sizeof sa), 0);

	struct fake_ring rr = { .desc = 0x0000, .avail = 0x1000, .used = 0x2000 };
	struct fake_ring tr = { .desc = 0x3000, .avail = 0x4000, .used = 0x5000 };
	uint64_t v = VU_F_VERSION_1 | VU_F_PROTOCOL_FEATURES;
	CHECK_EQ_INT(vu_msg_sync(q, VU_SET_FEATURES, &v, 8, -1), 0);
	uint8_t mt[8 + 32] = { 1 };
	mem_region(mt, 0, 0x100000, 1 << 20, UVA_BASE, 0);
	CHECK_EQ_INT(vu_msg_sync(q, VU_SET_MEM_TABLE, mt, sizeof mt, mfd), 0);
	struct fake_ring *rings[2] = { &rr, &tr };
	for (uint32_t i = 0; i < 2; i++) {
		struct fake_ring *r = rings[i];
		r->kick = eventfd(0, EFD_CLOEXEC);
		r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		uint32_t st[2] = { i, 16 };
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_NUM, st, 8, -1), 0);
		st[1] = 0;
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_BASE, st, 8, -1), 0);
		uint64_t addr[5] = { i, UVA_BASE + r->desc, UVA_BASE + r->used, UVA_BASE + r->avail, 0 };
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_ADDR, addr, 40, -1), 0);
		v = i;
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_KICK, &v, 8, r->kick), 0);
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_CALL, &v, 8, r->call), 0);
		st[1] = 1;
		CHECK_EQ_INT(vu_msg_sync(q, VU_SET_VRING_ENABLE, st, 8, -1), 0);
	}
	/* a reply means everything before it was handled */
	CHECK_EQ_INT(vu_msg_sync(q, VU_GET_FEATURES, NULL, 0, -1), 0);
	uint8_t rep[20];
	CHECK_EQ_INT(read_all(q, rep, sizeof rep), sizeof rep);

	for (uint16_t i = 0; i < 4; i++)
		fr_post(&rr, i, 0x10000 + 0x1000 * i, 0x1000, VQ_DESC_F_WRITE);

	/* a host client asks for guest port 1024 */
	int cl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	CHECK_EQ_INT(connect(cl, (struct sockaddr *)&sa, sizeof sa), 0);
	CHECK_EQ_INT(write(cl, "CONNECT 1024\n", 13), 13);
	CHECK_EQ_INT(fr_used(&rr, &id), VC_HDR_LEN);
	struct vc_hdr h;
	vc_hdr_decode(fg + 0x10000 + 0x1000 * id, &h);
	CHECK(h.op == VC_OP_REQUEST && h.dst_port == 1024 && h.dst_cid == GUEST_CID);
	uint32_t hp = h.src_port;

	/* the guest accepts */
	mkhdr(&h, VC_OP_RESPONSE, 1024, hp, 0);
	vc_hdr_encode(&h, fg + 0x20000);
	fr_post(&tr, 0, 0x20000, VC_HDR_LEN, 0);
	CHECK(read_line_from(cl, line, sizeof line));
	CHECK(strncmp(line, "OK ", 3) == 0);
	CHECK_EQ_INT(fr_used(&tr, &id), 0);

	/* data both ways */
	CHECK_EQ_INT(write(cl, "data!", 5), 5);
	CHECK_EQ_INT(fr_used(&rr, &id), VC_HDR_LEN + 5);
	vc_hdr_decode(fg + 0x10000 + 0x1000 * id, &h);
	CHECK(h.op == VC_OP_RW && memcmp(fg + 0x10000 + 0x1000 * id + VC_HDR_LEN, "data!", 5) == 0);
	mkhdr(&h, VC_OP_RW, 1024, hp, 5);
	vc_hdr_encode(&h, fg + 0x21000);
	memcpy(fg + 0x21000 + VC_HDR_LEN, "reply", 5);
	fr_post(&tr, 1, 0x21000, VC_HDR_LEN + 5, 0);
	char got[5];
	CHECK_EQ_INT(read_all(cl, got, 5), 5);
	CHECK(memcmp(got, "reply", 5) == 0);

	/* a hostile guest breaks its tx ring: the device fails, connections go */
	tr.avail_idx = (uint16_t)(tr.avail_idx + 100);
	fr_post(&tr, 2, 0x22000, VC_HDR_LEN, 0);
	CHECK(fd_at_eof(cl));
	close(cl);

	/* QEMU goes away: the back-end returns 0 */
	close(q);
	qemu_fd = -1;
	int status;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 2; i++) {
		close(rings[i]->kick);
		close(rings[i]->call);
	}
	munmap(fg, 1 << 20);
	close(mfd);
	return TEST_PASS;
}

static const struct unit_test tests[] = {
	{ "virtq: address translation bounds", test_vq_mem_translate },
	{ "virtq: ring addresses bounds and alignment", test_vq_map_bounds },
	{ "virtq: pop a split chain, push used", test_vq_pop_split_chain },
	{ "virtq: descriptor outside guest memory", test_vq_addr_outside_memory },
	{ "virtq: descriptor addr+len overflow", test_vq_addr_len_overflow },
	{ "virtq: descriptor chain loop", test_vq_chain_loop },
	{ "virtq: descriptor chain too long", test_vq_chain_too_long },
	{ "virtq: indirect descriptor rejected", test_vq_indirect_rejected },
	{ "virtq: next index out of range", test_vq_next_out_of_range },
	{ "virtq: readable after writable", test_vq_readable_after_writable },
	{ "virtq: avail idx jump breaks the ring", test_vq_avail_idx_jump },
	{ "virtq: head index out of range", test_vq_head_out_of_range },
	{ "virtq: notify via call eventfd", test_vq_notify },
	{ "vsock: guest connect, split header and payload", test_vc_guest_connect_split_header },
	{ "vsock: guest connect refused with RST", test_vc_guest_connect_refused },
	{ "vsock: RST for unknown flows", test_vc_unknown_flow_rst },
	{ "vsock: malformed headers answered with RST", test_vc_malformed_headers },
	{ "vsock: small and split rx buffers", test_vc_small_rx_buffers },
	{ "vsock: credit exhaustion host to guest", test_vc_credit_host_to_guest },
	{ "vsock: slow host peer, credit and CREDIT_UPDATE", test_vc_credit_guest_to_host },
	{ "vsock: CREDIT_REQUEST answered", test_vc_credit_request_answered },
	{ "vsock: counter wrap-around", test_vc_counter_wraparound },
	{ "vsock: host-initiated connection", test_vc_host_initiated },
	{ "vsock: host-initiated refused and timed out", test_vc_host_initiated_refused_and_timeout },
	{ "vsock: shutdown both ways", test_vc_shutdown },
	{ "vsock: connection limit", test_vc_connection_limit },
	{ "vsock: fairness between connections", test_vc_fairness },
	{ "vsock: tx and rx queue glue", test_vc_queues },
	{ "vhost-user: negotiation and config", test_vu_negotiation },
	{ "vhost-user: payload size limits", test_vu_size_limits },
	{ "vhost-user: bad flags and unsupported requests", test_vu_bad_flags_and_requests },
	{ "vhost-user: fd count must match", test_vu_fd_count },
	{ "vhost-user: memory table bounds", test_vu_mem_table_bounds },
	{ "vhost-user: ring setup and stop", test_vu_rings },
	{ "hybrid: husk_hybrid_connect answers", test_hybrid_connect },
	{ "serve: CONNECT refused before the driver is up", test_serve_refuses_before_rings },
	{ "serve: fake QEMU and guest driver, hybrid CONNECT", test_serve_with_fake_qemu },
};

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	vc_log_set_sink(quiet_sink);
	int r = unit_run(tests, ARRAY_SIZE(tests));
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
