/* The byte queue of common/bytequeue.c (host stdio relay and guest
 * session/stdin queues) and the monitor's relay_flush() over it. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytequeue.h"
#include "host/monitor/stdio_relay.h"
#include "tests/unit/unit.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static enum test_result test_empty(void)
{
	struct byteq q = { 0 };
	CHECK_EQ_INT(byteq_pending(&q), 0);
	CHECK(byteq_peek(&q) == NULL);
	byteq_consume(&q, 10); /* nothing to drop */
	CHECK_EQ_INT(byteq_pending(&q), 0);
	CHECK_EQ_INT(byteq_append(&q, NULL, 0, 100), 0); /* empty append allocates nothing */
	CHECK(q.data == NULL);
	byteq_free(&q);
	byteq_free(&q);
	return TEST_PASS;
}

static enum test_result test_growth(void)
{
	struct byteq q = { 0 };
	uint8_t buf[3 * BYTEQ_MIN_CAP];
	fill(buf, sizeof buf, 1);
	CHECK_EQ_INT(byteq_append(&q, buf, 10, SIZE_MAX), 0);
	CHECK_EQ_INT(q.cap, BYTEQ_MIN_CAP);
	/* 10 + 3 * min needs four times the minimum: doubled twice */
	CHECK_EQ_INT(byteq_append(&q, buf, sizeof buf, SIZE_MAX), 0);
	CHECK_EQ_INT(q.cap, 4 * BYTEQ_MIN_CAP);
	CHECK_EQ_INT(byteq_pending(&q), 10 + sizeof buf);
	CHECK(memcmp(byteq_peek(&q), buf, 10) == 0);
	CHECK(memcmp(byteq_peek(&q) + 10, buf, sizeof buf) == 0);
	byteq_free(&q);
	CHECK(q.data == NULL && q.cap == 0 && byteq_pending(&q) == 0);
	return TEST_PASS;
}

static enum test_result test_compaction(void)
{
	struct byteq q = { 0 };
	uint8_t buf[BYTEQ_MIN_CAP];
	fill(buf, sizeof buf, 3);
	CHECK_EQ_INT(byteq_append(&q, buf, sizeof buf, SIZE_MAX), 0);
	CHECK_EQ_INT(q.cap, BYTEQ_MIN_CAP);
	byteq_consume(&q, 1000);
	CHECK_EQ_INT(q.off, 1000);
	CHECK_EQ_INT(byteq_pending(&q), BYTEQ_MIN_CAP - 1000);
	/* room at the front: moved there instead of growing */
	CHECK_EQ_INT(byteq_append(&q, buf, 1000, SIZE_MAX), 0);
	CHECK_EQ_INT(q.cap, BYTEQ_MIN_CAP);
	CHECK_EQ_INT(q.off, 0);
	CHECK(memcmp(byteq_peek(&q), buf + 1000, BYTEQ_MIN_CAP - 1000) == 0);
	CHECK(memcmp(byteq_peek(&q) + BYTEQ_MIN_CAP - 1000, buf, 1000) == 0);
	/* an append that fits behind the pending bytes does not move them */
	byteq_consume(&q, 100);
	byteq_consume(&q, 0);
	CHECK_EQ_INT(q.off, 100);
	byteq_consume(&q, byteq_pending(&q) - 10);
	CHECK_EQ_INT(byteq_append(&q, buf, 5, SIZE_MAX), 0);
	CHECK_EQ_INT(byteq_pending(&q), 15);
	byteq_free(&q);
	return TEST_PASS;
}

static enum test_result test_consume_rewinds(void)
{
	struct byteq q = { 0 };
	uint8_t buf[100];
	fill(buf, sizeof buf, 5);
	CHECK_EQ_INT(byteq_append(&q, buf, sizeof buf, SIZE_MAX), 0);
	byteq_consume(&q, 60);
	CHECK(memcmp(byteq_peek(&q), buf + 60, 40) == 0);
	byteq_consume(&q, 1000); /* more than pending: drops what is there */
	CHECK_EQ_INT(byteq_pending(&q), 0);
	CHECK_EQ_INT(q.off, 0);
	CHECK(byteq_peek(&q) == q.data);
	byteq_free(&q);
	return TEST_PASS;
}

static enum test_result test_max(void)
{
	struct byteq q = { 0 };
	uint8_t buf[64];
	fill(buf, sizeof buf, 7);
	CHECK_EQ_INT(byteq_append(&q, buf, 65, 64), -ENOBUFS);
	CHECK(q.data == NULL);
	CHECK_EQ_INT(byteq_append(&q, buf, 40, 64), 0);
	CHECK_EQ_INT(byteq_append(&q, buf, 24, 64), 0); /* exactly max */
	CHECK_EQ_INT(byteq_append(&q, buf, 1, 64), -ENOBUFS);
	CHECK_EQ_INT(byteq_append(&q, buf, SIZE_MAX, 64), -ENOBUFS); /* no wrap-around */
	CHECK_EQ_INT(byteq_append(&q, buf, SIZE_MAX - 20, SIZE_MAX), -ENOBUFS);
	CHECK_EQ_INT(byteq_pending(&q), 64); /* failures left it as it was */
	CHECK(memcmp(byteq_peek(&q) + 40, buf, 24) == 0);
	/* the max counts pending bytes, not what was ever appended */
	byteq_consume(&q, 30);
	CHECK_EQ_INT(byteq_append(&q, buf, 30, 64), 0);
	CHECK_EQ_INT(byteq_append(&q, buf, 1, 64), -ENOBUFS);
	byteq_free(&q);
	return TEST_PASS;
}

/* random appends and consumes against a flat model */
static enum test_result test_model(void)
{
	enum { MAX = 50000 };
	static uint8_t model[1 << 22], src[8192];
	size_t mhead = 0, mtail = 0;
	struct byteq q = { 0 };
	unsigned s = 12345;
	fill(src, sizeof src, 11);
	for (int i = 0; i < 20000; i++) {
		s = s * 1103515245u + 12345u;
		size_t n = (s >> 8) % sizeof src;
		if ((s >> 4) & 1) {
			size_t off = (s >> 20) % 64;
			size_t len = n > off ? n - off : 0;
			int r = byteq_append(&q, src + off, len, MAX);
			if (mtail - mhead + len > MAX) {
				CHECK_EQ_INT(r, -ENOBUFS);
			} else {
				CHECK_EQ_INT(r, 0);
				CHECK(mtail + len <= sizeof model);
				memcpy(model + mtail, src + off, len);
				mtail += len;
			}
		} else {
			byteq_consume(&q, n);
			mhead += n < mtail - mhead ? n : mtail - mhead;
		}
		CHECK_EQ_INT(byteq_pending(&q), mtail - mhead);
		CHECK(q.off + q.len <= q.cap);
		CHECK(q.cap <= 2 * MAX + BYTEQ_MIN_CAP);
		if (mtail > mhead)
			CHECK(memcmp(byteq_peek(&q), model + mhead, mtail - mhead) == 0);
		if (mtail - mhead == 0 || mtail > sizeof model / 2) {
			memmove(model, model + mhead, mtail - mhead);
			mtail -= mhead;
			mhead = 0;
		}
	}
	byteq_free(&q);
	return TEST_PASS;
}

/* relay_flush: writes what a full socket takes, keeps the rest in order */
static enum test_result test_relay_flush(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	int sz = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	static uint8_t buf[1 << 20], got[1 << 20];
	fill(buf, sizeof buf, 13);
	struct byteq q = { 0 };
	CHECK_EQ_INT(byteq_append(&q, buf, sizeof buf, RELAY_QUEUE_MAX), 0);
	size_t have = 0;
	for (int rounds = 0; byteq_pending(&q) > 0 && rounds < 100000; rounds++) {
		CHECK_EQ_INT(relay_flush(&q, sv[0]), 0);
		CHECK_EQ_INT(have + byteq_pending(&q) <= sizeof buf, 1);
		ssize_t n = read(sv[1], got + have, sizeof got - have);
		CHECK(n >= 0);
		have += (size_t)n;
	}
	CHECK_EQ_INT(byteq_pending(&q), 0);
	while (have < sizeof got) {
		ssize_t n = read(sv[1], got + have, sizeof got - have);
		CHECK(n > 0);
		have += (size_t)n;
	}
	CHECK(memcmp(got, buf, sizeof buf) == 0);
	/* a real error: the peer is gone */
	close(sv[1]);
	CHECK_EQ_INT(byteq_append(&q, buf, 10, RELAY_QUEUE_MAX), 0);
	CHECK_EQ_INT(relay_flush(&q, sv[0]), -1);
	CHECK_EQ_INT(errno, EPIPE);
	CHECK_EQ_INT(byteq_pending(&q), 10);
	close(sv[0]);
	byteq_free(&q);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "bytequeue: empty queue", test_empty },
		{ "bytequeue: growth doubles from the minimum", test_growth },
		{ "bytequeue: compaction before growth", test_compaction },
		{ "bytequeue: consume, and rewind when empty", test_consume_rewinds },
		{ "bytequeue: max counts pending bytes, failures change nothing", test_max },
		{ "bytequeue: random operations against a model", test_model },
		{ "bytequeue: relay_flush keeps order through a full socket", test_relay_flush },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
