/* Unit tests of the vhost-user side of the vhost-user-vsock back-end:
 * vhost-user messages over a socketpair, the hybrid client, and the whole
 * back-end (husk_vuvsock_serve) in a child driven by a fake QEMU. */
#include "tests/unit/vsock_test_util.h"
#include "tests/unit/unit.h"

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

static int vu_send(uint32_t req, uint32_t flags, const void *payload, uint32_t size, uint32_t wire_size, const int *fds,
		   unsigned nfds)
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

static int vu_req(uint32_t req, const void *payload, uint32_t size, const int *fds, unsigned nfds, struct husk_err *err)
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

int main(void)
{
	static const struct unit_test tests[] = {
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
	signal(SIGPIPE, SIG_IGN);
	vc_log_set_sink(quiet_sink);
	int r = unit_run(tests, ARRAY_SIZE(tests));
	return vt_cleanup(r);
}
