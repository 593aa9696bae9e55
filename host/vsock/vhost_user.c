/* vhost-user back-end protocol for the vsock device (see vhost_user.h). */
#include "host/vsock/vhost_user.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/le.h"

#include "host/vsock/vsock_pkt.h"

/* Per-request payload limits; max_fds 0 for all but the ones that carry
 * fds. Requests missing here (or with name only) are not supported. */
struct vu_req_info {
	const char *name;
	bool supported;
	uint16_t min_size, max_size;
	uint8_t max_fds;
};

#define MEM_REGION_SIZE 32u
#define MEM_HDR_SIZE 8u
#define CONFIG_HDR_SIZE 12u
#define CONFIG_MAX 256u

static const struct vu_req_info req_info[] = {
	[VU_GET_FEATURES] = { "GET_FEATURES", true, 0, 8, 0 },
	[VU_SET_FEATURES] = { "SET_FEATURES", true, 8, 8, 0 },
	[VU_SET_OWNER] = { "SET_OWNER", true, 0, 8, 0 },
	[VU_RESET_OWNER] = { "RESET_OWNER", true, 0, 8, 0 },
	[VU_SET_MEM_TABLE] = { "SET_MEM_TABLE", true, MEM_HDR_SIZE + MEM_REGION_SIZE,
			       MEM_HDR_SIZE + MEM_REGION_SIZE *VQ_MEM_MAX_REGIONS, VU_MAX_FDS },
	[VU_SET_LOG_BASE] = { "SET_LOG_BASE", false, 0, 0, 0 },
	[VU_SET_LOG_FD] = { "SET_LOG_FD", false, 0, 0, 0 },
	[VU_SET_VRING_NUM] = { "SET_VRING_NUM", true, 8, 8, 0 },
	[VU_SET_VRING_ADDR] = { "SET_VRING_ADDR", true, 40, 40, 0 },
	[VU_SET_VRING_BASE] = { "SET_VRING_BASE", true, 8, 8, 0 },
	[VU_GET_VRING_BASE] = { "GET_VRING_BASE", true, 8, 8, 0 },
	[VU_SET_VRING_KICK] = { "SET_VRING_KICK", true, 8, 8, 1 },
	[VU_SET_VRING_CALL] = { "SET_VRING_CALL", true, 8, 8, 1 },
	[VU_SET_VRING_ERR] = { "SET_VRING_ERR", true, 8, 8, 1 },
	[VU_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", true, 0, 8, 0 },
	[VU_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", true, 8, 8, 0 },
	[VU_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", true, 0, 8, 0 },
	[VU_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", true, 8, 8, 0 },
	[19] = { "SEND_RARP", false, 0, 0, 0 },
	[20] = { "NET_SET_MTU", false, 0, 0, 0 },
	[21] = { "SET_BACKEND_REQ_FD", false, 0, 0, 0 },
	[22] = { "IOTLB_MSG", false, 0, 0, 0 },
	[23] = { "SET_VRING_ENDIAN", false, 0, 0, 0 },
	[VU_GET_CONFIG] = { "GET_CONFIG", true, CONFIG_HDR_SIZE, CONFIG_HDR_SIZE + CONFIG_MAX, 0 },
	[VU_SET_CONFIG] = { "SET_CONFIG", false, 0, 0, 0 },
	[26] = { "CREATE_CRYPTO_SESSION", false, 0, 0, 0 },
	[27] = { "CLOSE_CRYPTO_SESSION", false, 0, 0, 0 },
	[28] = { "POSTCOPY_ADVISE", false, 0, 0, 0 },
	[29] = { "POSTCOPY_LISTEN", false, 0, 0, 0 },
	[30] = { "POSTCOPY_END", false, 0, 0, 0 },
	[31] = { "GET_INFLIGHT_FD", false, 0, 0, 0 },
	[32] = { "SET_INFLIGHT_FD", false, 0, 0, 0 },
	[33] = { "GPU_SET_SOCKET", false, 0, 0, 0 },
	[34] = { "RESET_DEVICE", false, 0, 0, 0 },
	[35] = { "VRING_KICK", false, 0, 0, 0 },
	[36] = { "GET_MAX_MEM_SLOTS", false, 0, 0, 0 },
	[37] = { "ADD_MEM_REG", false, 0, 0, 0 },
	[38] = { "REM_MEM_REG", false, 0, 0, 0 },
	[39] = { "SET_STATUS", false, 0, 0, 0 },
	[40] = { "GET_STATUS", false, 0, 0, 0 },
};

#define N_REQ (sizeof req_info / sizeof req_info[0])

const char *vu_request_name(uint32_t request)
{
	if (request < N_REQ && req_info[request].name)
		return req_info[request].name;
	return "unknown";
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* A kick only wakes the loop, which then processes the rings anyway. */
static void on_kick(struct watch *w, uint32_t events)
{
	uint64_t v;
	while (read(w->fd, &v, sizeof v) == (ssize_t)sizeof v)
		;
}

void vu_dev_init(struct vu_dev *d, int sock, int epfd, uint64_t guest_cid)
{
	memset(d, 0, sizeof *d);
	d->sock = sock;
	d->epfd = epfd;
	d->guest_cid = guest_cid;
	for (unsigned i = 0; i < VU_NUM_VQS; i++) {
		vq_init(&d->vq[i]);
		d->kick_w[i] = (struct watch){ .fd = -1, .on_event = on_kick };
	}
	for (unsigned i = 0; i < VU_MAX_FDS; i++)
		d->rfds[i] = -1;
}

/* A ring's kick fd and its watch change together (closing the old fd also
 * takes it out of the epoll set). */
static void set_kick_fd(struct vu_dev *d, unsigned idx, int fd)
{
	if (d->vq[idx].kick_fd >= 0)
		close(d->vq[idx].kick_fd);
	d->vq[idx].kick_fd = fd;
	d->kick_w[idx].fd = fd;
}

static void vq_close_fds(struct vu_dev *d, unsigned idx)
{
	struct virtq *q = &d->vq[idx];
	set_kick_fd(d, idx, -1);
	if (q->call_fd >= 0)
		close(q->call_fd);
	q->call_fd = -1;
}

void vu_dev_fini(struct vu_dev *d)
{
	for (unsigned i = 0; i < VU_NUM_VQS; i++)
		vq_close_fds(d, i);
	close_fds(d->rfds, d->rnfds);
	d->rnfds = 0;
	vq_mem_clear(&d->mem);
}

int vu_check_hdr(const struct vu_hdr *h, struct husk_err *err)
{
	if ((h->flags & VU_FLAG_VERSION_MASK) != VU_FLAG_VERSION)
		return husk_err_set(err, EPROTO, "vhost-user: unsupported protocol version in flags 0x%x", h->flags);
	if (h->flags & VU_FLAG_REPLY)
		return husk_err_set(err, EPROTO, "vhost-user: request %u has the reply flag set", h->request);
	if (h->request >= N_REQ || !req_info[h->request].supported)
		return husk_err_set(err, ENOTSUP, "vhost-user: unsupported request %u (%s)", h->request,
				    vu_request_name(h->request));
	const struct vu_req_info *ri = &req_info[h->request];
	if (h->size > VU_PAYLOAD_MAX || h->size < ri->min_size || h->size > ri->max_size)
		return husk_err_set(err, EPROTO, "vhost-user: %s payload of %u bytes (expected %u..%u)", ri->name,
				    h->size, ri->min_size, ri->max_size);
	/* we never offer REPLY_ACK, so nobody may wait for an ack */
	if (h->flags & VU_FLAG_NEED_REPLY)
		return husk_err_set(err, EPROTO, "vhost-user: %s asks for a reply but REPLY_ACK was not negotiated",
				    ri->name);
	return 0;
}

static int send_reply(struct vu_dev *d, uint32_t request, const void *payload, uint32_t size, struct husk_err *err)
{
	uint8_t buf[VU_HDR_SIZE + VU_PAYLOAD_MAX];

	if (size > VU_PAYLOAD_MAX)
		return husk_err_set(err, EINVAL, "vhost-user: reply too large");
	le_put32(buf, request);
	le_put32(buf + 4, VU_FLAG_VERSION | VU_FLAG_REPLY);
	le_put32(buf + 8, size);
	memcpy(buf + VU_HDR_SIZE, payload, size);
	size_t len = VU_HDR_SIZE + size, off = 0;
	while (off < len) {
		ssize_t w = send(d->sock, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return husk_err_sys(err, errno, "vhost-user: sending %s reply", vu_request_name(request));
		off += (size_t)w;
	}
	return 0;
}

static int reply_u64(struct vu_dev *d, uint32_t request, uint64_t v, struct husk_err *err)
{
	uint8_t p[8];
	le_put64(p, v);
	return send_reply(d, request, p, sizeof p, err);
}

static void stop_device(struct vu_dev *d)
{
	if (d->on_stop)
		d->on_stop(d->ctx);
}

/* Re-translates every ring after a change of num, addresses or memory. */
static void remap(struct vu_dev *d, unsigned idx, bool read_used)
{
	struct virtq *q = &d->vq[idx];
	int r = vq_map(q, &d->mem, read_used);
	if (r < 0)
		vc_log("vring %u: ring addresses outside guest memory or misaligned", idx);
}

static int set_mem_table(struct vu_dev *d, const uint8_t *p, uint32_t size, int *fds, unsigned nfds,
			 struct husk_err *err)
{
	uint32_t n = le_get32(p);
	if (n == 0 || n > VQ_MEM_MAX_REGIONS || size != MEM_HDR_SIZE + MEM_REGION_SIZE * n)
		return husk_err_set(err, EPROTO, "vhost-user: SET_MEM_TABLE with %u regions in %u bytes", n, size);
	if (nfds != n)
		return husk_err_set(err, EPROTO, "vhost-user: SET_MEM_TABLE with %u regions but %u fds", n, nfds);

	long pg = sysconf(_SC_PAGESIZE);
	uint64_t page = pg > 0 ? (uint64_t)pg : 4096;
	struct vq_mem nm = { 0 };
	int r = 0;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = p + MEM_HDR_SIZE + MEM_REGION_SIZE * i;
		uint64_t gpa = le_get64(e), rsize = le_get64(e + 8), uva = le_get64(e + 16), off = le_get64(e + 24);
		struct stat st;

		if (rsize == 0 || gpa + rsize < gpa || uva + rsize < uva || off + rsize < off || rsize > SIZE_MAX / 2) {
			r = husk_err_set(err, EINVAL, "vhost-user: memory region %u out of range", i);
			break;
		}
		if (fstat(fds[i], &st) < 0) {
			r = husk_err_sys(err, errno, "vhost-user: fstat of memory region %u", i);
			break;
		}
		if (st.st_size < 0 || off + rsize > (uint64_t)st.st_size) {
			r = husk_err_set(err, EINVAL, "vhost-user: memory region %u extends past its file", i);
			break;
		}
		uint64_t aoff = off & ~(page - 1);
		size_t len = (size_t)(rsize + (off - aoff));
		void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i], (off_t)aoff);
		if (base == MAP_FAILED) {
			r = husk_err_sys(err, errno, "vhost-user: mapping memory region %u", i);
			break;
		}
		nm.r[i] = (struct vq_region){
			.gpa = gpa,
			.uva = uva,
			.size = rsize,
			.host = (uint8_t *)base + (off - aoff),
			.map_base = base,
			.map_len = len,
		};
		nm.n = i + 1;
	}
	close_fds(fds, nfds); /* the mappings keep the memory */
	if (r < 0) {
		vq_mem_clear(&nm);
		return r;
	}
	vq_mem_clear(&d->mem);
	d->mem = nm;
	for (unsigned i = 0; i < VU_NUM_VQS; i++)
		remap(d, i, false);
	return 0;
}

/* Ring index from a vring state / vring addr payload. */
static int ring_index(uint32_t idx, const char *what, struct husk_err *err)
{
	if (idx >= VU_NUM_VQS)
		return husk_err_set(err, EPROTO, "vhost-user: %s for ring %u (the back-end has %u)", what, idx,
				    VU_NUM_VQS);
	return (int)idx;
}

/* SET_VRING_KICK / CALL / ERR: u64 index | NOFD flag, fd iff no NOFD. */
static int set_vring_fd(struct vu_dev *d, uint32_t request, uint64_t v, int *fds, unsigned nfds, struct husk_err *err)
{
	const char *name = vu_request_name(request);
	if (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD))
		return husk_err_set(err, EPROTO, "vhost-user: %s with unknown bits 0x%llx", name,
				    (unsigned long long)v);
	int idx = ring_index((uint32_t)(v & VU_VRING_IDX_MASK), name, err);
	if (idx < 0)
		return idx;
	unsigned want = (v & VU_VRING_NOFD) ? 0 : 1;
	if (nfds != want)
		return husk_err_set(err, EPROTO, "vhost-user: %s carries %u fds, expected %u", name, nfds, want);

	struct virtq *q = &d->vq[idx];
	int fd = want ? fds[0] : -1;
	if (want)
		fds[0] = -1;
	if (request == VU_SET_VRING_ERR) {
		if (fd >= 0)
			close(fd); /* we never report ring errors this way */
		return 0;
	}
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	if (request == VU_SET_VRING_CALL) {
		if (q->call_fd >= 0)
			close(q->call_fd);
		q->call_fd = fd;
		return 0;
	}
	/* KICK: starts the ring */
	set_kick_fd(d, (unsigned)idx, fd);
	if (fd >= 0 && d->epfd >= 0) {
		int r = watch_add(d->epfd, &d->kick_w[idx], EPOLLIN);
		if (r < 0)
			return husk_err_sys(err, -r, "vhost-user: watching kick fd of ring %d", idx);
	}
	q->started = true;
	if (!(d->features & VU_F_PROTOCOL_FEATURES))
		q->enabled = true; /* without protocol features rings start enabled */
	return 0;
}

static int get_config(struct vu_dev *d, const uint8_t *p, uint32_t size, struct husk_err *err)
{
	uint32_t off = le_get32(p), len = le_get32(p + 4), flags = le_get32(p + 8);
	if (len > CONFIG_MAX || size != CONFIG_HDR_SIZE + len || off > CONFIG_MAX || len > CONFIG_MAX - off)
		return husk_err_set(err, EPROTO, "vhost-user: GET_CONFIG offset %u size %u in %u bytes", off, len,
				    size);
	uint8_t cfg[CONFIG_MAX] = { 0 }; /* struct virtio_vsock_config { le64 guest_cid; } */
	le_put64(cfg, d->guest_cid);
	uint8_t out[CONFIG_HDR_SIZE + CONFIG_MAX];
	le_put32(out, off);
	le_put32(out + 4, len);
	le_put32(out + 8, flags);
	memcpy(out + CONFIG_HDR_SIZE, cfg + off, len);
	return send_reply(d, VU_GET_CONFIG, out, CONFIG_HDR_SIZE + len, err);
}

int vu_handle(struct vu_dev *d, const struct vu_hdr *h, const uint8_t *p, int *fds, unsigned nfds, struct husk_err *err)
{
	int r = vu_check_hdr(h, err);
	if (r < 0)
		return r;
	const struct vu_req_info *ri = &req_info[h->request];
	if (nfds > ri->max_fds)
		return husk_err_set(err, EPROTO, "vhost-user: %s carries %u fds, expected at most %u", ri->name, nfds,
				    ri->max_fds);

	uint64_t u64 = h->size >= 8 ? le_get64(p) : 0;
	uint32_t idx32 = h->size >= 8 ? le_get32(p) : 0, num = h->size >= 8 ? le_get32(p + 4) : 0;
	struct virtq *q;
	int idx;

	switch (h->request) {
	case VU_GET_FEATURES:
		return reply_u64(d, h->request, VU_FEATURES, err);
	case VU_SET_FEATURES:
		if (u64 & ~VU_FEATURES)
			return husk_err_set(err, EPROTO, "vhost-user: SET_FEATURES 0x%llx beyond the offered 0x%llx",
					    (unsigned long long)u64, (unsigned long long)VU_FEATURES);
		d->features = u64;
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		return reply_u64(d, h->request, VU_PROTOCOL_FEATURES, err);
	case VU_SET_PROTOCOL_FEATURES:
		if (u64 & ~VU_PROTOCOL_FEATURES)
			return husk_err_set(err, EPROTO,
					    "vhost-user: SET_PROTOCOL_FEATURES 0x%llx beyond the offered 0x%llx",
					    (unsigned long long)u64, (unsigned long long)VU_PROTOCOL_FEATURES);
		d->protocol_features = u64;
		return 0;
	case VU_GET_QUEUE_NUM:
		return reply_u64(d, h->request, VU_NUM_VQS, err);
	case VU_SET_OWNER:
		d->owner = true;
		return 0;
	case VU_RESET_OWNER:
		for (unsigned i = 0; i < VU_NUM_VQS; i++) {
			vq_close_fds(d, i);
			vq_init(&d->vq[i]);
		}
		d->features = 0;
		stop_device(d);
		return 0;
	case VU_SET_MEM_TABLE:
		return set_mem_table(d, p, h->size, fds, nfds, err);
	case VU_GET_CONFIG:
		return get_config(d, p, h->size, err);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return set_vring_fd(d, h->request, u64, fds, nfds, err);
	default:
		break;
	}

	/* the rest address one ring: vring state or vring addr payloads */
	idx = ring_index(idx32, ri->name, err);
	if (idx < 0)
		return idx;
	q = &d->vq[idx];
	switch (h->request) {
	case VU_SET_VRING_NUM:
		if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)) != 0)
			return husk_err_set(err, EPROTO, "vhost-user: ring %d size %u is not a power of two <= %u", idx,
					    num, VQ_MAX_SIZE);
		q->num = num;
		remap(d, (unsigned)idx, false);
		return 0;
	case VU_SET_VRING_BASE:
		if (num > 0xffff)
			return husk_err_set(err, EPROTO, "vhost-user: ring %d base %u out of range", idx, num);
		q->last_avail = (uint16_t)num;
		q->broken = false;
		return 0;
	case VU_SET_VRING_ADDR:
		/* flags (p+4) only carry VHOST_VRING_F_LOG: no dirty logging here */
		q->desc_uva = le_get64(p + 8);
		q->used_uva = le_get64(p + 16);
		q->avail_uva = le_get64(p + 24);
		q->addr_set = true;
		q->broken = false;
		remap(d, (unsigned)idx, true);
		return 0;
	case VU_SET_VRING_ENABLE:
		if (num > 1)
			return husk_err_set(err, EPROTO, "vhost-user: SET_VRING_ENABLE %u for ring %d", num, idx);
		q->enabled = num == 1;
		return 0;
	case VU_GET_VRING_BASE: {
		/* stops the ring; what was in flight is gone with the device */
		uint8_t out[8];
		le_put32(out, (uint32_t)idx);
		le_put32(out + 4, q->last_avail);
		q->started = false;
		set_kick_fd(d, (unsigned)idx, -1);
		stop_device(d);
		return send_reply(d, h->request, out, sizeof out, err);
	}
	default:
		return husk_err_set(err, ENOTSUP, "vhost-user: unsupported request %u (%s)", h->request, ri->name);
	}
}

/* Collects SCM_RIGHTS fds into the reader; too many is fatal. */
static int take_fds(struct vu_dev *d, struct msghdr *mh, struct husk_err *err)
{
	int r = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const uint8_t *data = CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, data + i * sizeof fd, sizeof fd);
			if (d->rnfds < VU_MAX_FDS) {
				d->rfds[d->rnfds++] = fd;
			} else {
				close(fd);
				r = -1;
			}
		}
	}
	if (r < 0)
		return husk_err_set(err, EPROTO, "vhost-user: more than %u fds with one message", VU_MAX_FDS);
	if (mh->msg_flags & MSG_CTRUNC)
		return husk_err_set(err, EPROTO, "vhost-user: control data truncated (too many fds)");
	return 0;
}

static void reader_reset(struct vu_dev *d)
{
	close_fds(d->rfds, d->rnfds);
	d->rnfds = 0;
	d->rhave = 0;
	d->rhdr_ok = false;
}

int vu_dev_read(struct vu_dev *d, struct husk_err *err)
{
	for (unsigned msgs = 0; msgs < 64;) {
		struct vu_hdr h = {
			.request = le_get32(d->rbuf),
			.flags = le_get32(d->rbuf + 4),
			.size = le_get32(d->rbuf + 8),
		};
		size_t need = d->rhdr_ok ? VU_HDR_SIZE + h.size : VU_HDR_SIZE;

		if (d->rhave < need) {
			union {
				struct cmsghdr align;
				char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
			} cm;
			struct iovec iov = { .iov_base = d->rbuf + d->rhave, .iov_len = need - d->rhave };
			struct msghdr mh = {
				.msg_iov = &iov,
				.msg_iovlen = 1,
				.msg_control = cm.buf,
				.msg_controllen = sizeof cm.buf,
			};
			ssize_t n = recvmsg(d->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return 1;
				return husk_err_sys(err, errno, "vhost-user: reading from QEMU");
			}
			int r = take_fds(d, &mh, err);
			if (r < 0)
				return r;
			if (n == 0)
				return 0;
			d->rhave += (size_t)n;
			continue;
		}
		if (!d->rhdr_ok) {
			/* the size is checked before any payload byte is read */
			int r = vu_check_hdr(&h, err);
			if (r < 0)
				return r;
			d->rhdr_ok = true;
			if (h.size > 0)
				continue;
		}
		int r = vu_handle(d, &h, d->rbuf + VU_HDR_SIZE, d->rfds, d->rnfds, err);
		reader_reset(d);
		if (r < 0)
			return r;
		msgs++;
	}
	return 1;
}
