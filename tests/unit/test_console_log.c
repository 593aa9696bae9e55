/* The bounded serial console (host/monitor/console_log.c): whatever is
 * written into the pipe, console.log holds at most the cap, and what it
 * holds is the newest bytes, in order. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/monitor/console_log.h"
#include "tests/unit/unit.h"

#define STREAM (300 * 1000)

static char stream[STREAM];

static enum test_result check_file(const char *path, size_t written, size_t cap)
{
	static char got[STREAM];
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, got, sizeof got);
	close(fd);
	CHECK(n >= 0 && (size_t)n <= cap);
	CHECK((size_t)n <= written);
	if (written > cap)
		CHECK((size_t)n >= cap / 2);
	else
		CHECK_EQ_INT(n, written);
	CHECK(memcmp(got, stream + written - (size_t)n, (size_t)n) == 0);
	return TEST_PASS;
}

static enum test_result run_with(size_t cap, size_t piece)
{
	char path[] = "/tmp/husk-unit-console.XXXXXX";
	int tmp = mkstemp(path);
	CHECK(tmp >= 0);
	close(tmp);
	struct husk_console_log cl;
	struct husk_err err = { 0 };
	int wfd = -1;
	CHECK_EQ_INT(husk_console_log_open(&cl, path, cap, &wfd, &err), 0);
	CHECK(wfd >= 0 && cl.rfd >= 0);
	size_t written = 0, rounds = 0;
	while (written < STREAM) {
		size_t n = STREAM - written < piece ? STREAM - written : piece;
		ssize_t w = write(wfd, stream + written, n);
		CHECK(w > 0);
		written += (size_t)w;
		CHECK(husk_console_log_drain(&cl, 1 << 20) == w);
		if (++rounds % (piece < 1000 ? 5000 / piece : 1) && written < STREAM)
			continue;
		enum test_result r = check_file(path, written, cap);
		if (r != TEST_PASS)
			return r;
	}
	CHECK_EQ_INT(husk_console_log_drain(&cl, 1 << 20), 0); /* nothing pending */
	close(wfd);
	CHECK_EQ_INT(husk_console_log_drain(&cl, 1 << 20), -EPIPE);
	husk_console_log_close(&cl);
	unlink(path);
	return TEST_PASS;
}

static enum test_result test_bounded(void)
{
	for (size_t i = 0; i < STREAM; i++)
		stream[i] = (char)('a' + (i * 7 + i / 26) % 26);
	static const size_t caps[] = { 4096, 10000, 65536 };
	static const size_t pieces[] = { 7, 100, 3000, 8192, 60000 };
	for (size_t c = 0; c < ARRAY_SIZE(caps); c++)
		for (size_t p = 0; p < ARRAY_SIZE(pieces); p++) {
			if (pieces[p] < 100 && caps[c] > 4096)
				continue; /* slow, and nothing new */
			enum test_result r = run_with(caps[c], pieces[p]);
			if (r != TEST_PASS) {
				printf("# cap %zu, pieces of %zu\n", caps[c], pieces[p]);
				return r;
			}
		}
	return TEST_PASS;
}

/* the write end never blocks QEMU: a full pipe says EAGAIN */
static enum test_result test_writer_never_blocks(void)
{
	char path[] = "/tmp/husk-unit-console.XXXXXX";
	int tmp = mkstemp(path);
	CHECK(tmp >= 0);
	close(tmp);
	struct husk_console_log cl;
	struct husk_err err = { 0 };
	int wfd = -1;
	CHECK_EQ_INT(husk_console_log_open(&cl, path, 4096, &wfd, &err), 0);
	CHECK(fcntl(wfd, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(wfd, F_GETFD) & FD_CLOEXEC);
	size_t total = 0;
	ssize_t w;
	while ((w = write(wfd, stream, 65536)) > 0)
		total += (size_t)w;
	CHECK(w < 0 && errno == EAGAIN);
	CHECK(total >= 65536);
	close(wfd);
	husk_console_log_close(&cl); /* drains what is left */
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size <= 4096 && st.st_size > 0);
	unlink(path);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "console.log keeps the newest bytes, at most the cap", test_bounded },
		{ "the console pipe never blocks its writer", test_writer_never_blocks },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
