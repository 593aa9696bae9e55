/* Unit tests of the vsock packet and connection state machine of the
 * vhost-user-vsock back-end without a VM: packets driven with flat buffers,
 * real unix sockets as host peers, and the glue to real split rings. */
#include "common/clock.h"
#include "tests/unit/vsock_test_util.h"
#include "tests/unit/unit.h"

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
	setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
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
	CHECK(c->state == VC_RST_PENDING && c->w.fd < 0);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_RST);
	CHECK(vc_conn_find(&D, 1234, 5300) == NULL);
	close(peer);
	dev_teardown();
	return TEST_PASS;
}

/* A guest that keeps no more in flight than its own (small) buffer, while
 * ours is large, still hears of forwarded bytes: otherwise it waits for
 * credit while we wait for a quarter of our buffer (seen as a stalled
 * stream with a 2 MiB buffer against Linux's 256 KiB). */
static enum test_result test_vc_credit_update_small_guest_window(void)
{
	struct vc_hdr h;
	static uint8_t chunk[4096], sink[1 << 16];
	CHECK_EQ_INT(dev_setup(0, 2u << 20), 0);
	int peer = establish(5310);
	CHECK(peer >= 0);
	struct vc_conn *c = vc_conn_find(&D, 1234, 5310);
	CHECK(c);
	memset(chunk, 's', sizeof chunk);
	/* the guest's buffer: 32 KiB, all of it sent */
	for (int i = 0; i < 8; i++) {
		mkhdr(&h, VC_OP_RW, 5310, 1234, sizeof chunk);
		h.buf_alloc = 32768;
		tx_hdr(&h, chunk, sizeof chunk);
	}
	CHECK_EQ_INT(read_all(peer, sink, 32768), 32768);
	CHECK_EQ_INT(c->fwd_cnt, 32768);
	CHECK(c->pend & VC_P_CREDIT_UPDATE);
	CHECK_EQ_INT(rx(4096, &h), VC_HDR_LEN);
	CHECK_EQ_INT(h.op, VC_OP_CREDIT_UPDATE);
	CHECK_EQ_INT(h.fwd_cnt, 32768);
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
	vc_sweep(&D, husk_now_ms() + 1000);
	CHECK(vc_conn_find(&D, hp, 1026) != NULL);
	vc_sweep(&D, husk_now_ms() + VC_CONNECT_TIMEOUT_MS + 1000);
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

int main(void)
{
	static const struct unit_test tests[] = {
		{ "vsock: guest connect, split header and payload", test_vc_guest_connect_split_header },
		{ "vsock: guest connect refused with RST", test_vc_guest_connect_refused },
		{ "vsock: RST for unknown flows", test_vc_unknown_flow_rst },
		{ "vsock: malformed headers answered with RST", test_vc_malformed_headers },
		{ "vsock: small and split rx buffers", test_vc_small_rx_buffers },
		{ "vsock: credit exhaustion host to guest", test_vc_credit_host_to_guest },
		{ "vsock: slow host peer, credit and CREDIT_UPDATE", test_vc_credit_guest_to_host },
		{ "vsock: CREDIT_REQUEST answered", test_vc_credit_request_answered },
		{ "vsock: CREDIT_UPDATE within a guest window smaller than ours",
		  test_vc_credit_update_small_guest_window },
		{ "vsock: counter wrap-around", test_vc_counter_wraparound },
		{ "vsock: host-initiated connection", test_vc_host_initiated },
		{ "vsock: host-initiated refused and timed out", test_vc_host_initiated_refused_and_timeout },
		{ "vsock: shutdown both ways", test_vc_shutdown },
		{ "vsock: connection limit", test_vc_connection_limit },
		{ "vsock: fairness between connections", test_vc_fairness },
		{ "vsock: tx and rx queue glue", test_vc_queues },
	};
	signal(SIGPIPE, SIG_IGN);
	vc_log_set_sink(quiet_sink);
	int r = unit_run(tests, ARRAY_SIZE(tests));
	return vt_cleanup(r);
}
