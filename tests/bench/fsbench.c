/* File system micro-benchmark for `make bench` (scripts/bench/fs.sh). The
 * same static binary runs inside a husk container (on virtio-fs) and on the
 * host, so both sides do exactly the same system calls; it times itself with
 * CLOCK_MONOTONIC and prints one JSON object.
 *   fsbench seqw FILE MIB     write MIB MiB in 1 MiB blocks, then fsync
 *   fsbench seqr FILE         read FILE in 1 MiB blocks
 *   fsbench randr FILE COUNT  COUNT reads of 4 KiB at random aligned offsets
 *   fsbench files DIR COUNT   create, stat, then unlink COUNT small files */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1024 * 1024)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "fsbench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static long count_arg(const char *s, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > max) {
		fprintf(stderr, "fsbench: bad count %s\n", s);
		exit(2);
	}
	return v;
}

static int seq_write(const char *path, long mib)
{
	static char buf[BLOCK];
	memset(buf, 0x5a, sizeof buf);
	double t0 = now_s();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail("open", path);
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, BLOCK) != BLOCK)
			return fail("write", path);
	if (fsync(fd) < 0)
		return fail("fsync", path);
	close(fd);
	double dt = now_s() - t0;
	printf("{\"mib\": %ld, \"seconds\": %.6f, \"mib_per_s\": %.2f}\n", mib, dt, (double)mib / dt);
	return 0;
}

static int seq_read(const char *path)
{
	static char buf[BLOCK];
	double t0 = now_s();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", path);
	long long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, BLOCK)) > 0)
		total += n;
	if (n < 0)
		return fail("read", path);
	close(fd);
	double dt = now_s() - t0;
	double mib = (double)total / BLOCK;
	printf("{\"mib\": %.2f, \"seconds\": %.6f, \"mib_per_s\": %.2f}\n", mib, dt, mib / dt);
	return 0;
}

static int rand_read(const char *path, long count)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof buf)
		return fail("fstat (too small?)", path);
	uint64_t pages = (uint64_t)st.st_size / sizeof buf, x = 88172645463325252ull;
	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		if (pread(fd, buf, sizeof buf, (off_t)(x % pages) * (off_t)sizeof buf) != (ssize_t)sizeof buf)
			return fail("pread", path);
	}
	double dt = now_s() - t0;
	close(fd);
	printf("{\"reads\": %ld, \"seconds\": %.6f, \"iops\": %.1f}\n", count, dt, (double)count / dt);
	return 0;
}

static int small_files(const char *dir, long count)
{
	char path[4096];
	static const char data[100] = "fsbench";
	double t[4];
	struct stat st;
	t[0] = now_s();
	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data)
			return fail("create", path);
		close(fd);
	}
	t[1] = now_s();
	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		if (stat(path, &st) < 0)
			return fail("stat", path);
	}
	t[2] = now_s();
	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/f%ld", dir, i);
		if (unlink(path) < 0)
			return fail("unlink", path);
	}
	t[3] = now_s();
	printf("{\"files\": %ld, \"create_per_s\": %.1f, \"stat_per_s\": %.1f, \"unlink_per_s\": %.1f}\n", count,
	       (double)count / (t[1] - t[0]), (double)count / (t[2] - t[1]), (double)count / (t[3] - t[2]));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "seqw"))
		return seq_write(argv[2], count_arg(argv[3], 1 << 20));
	if (argc == 3 && !strcmp(argv[1], "seqr"))
		return seq_read(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "randr"))
		return rand_read(argv[2], count_arg(argv[3], 100000000));
	if (argc == 4 && !strcmp(argv[1], "files"))
		return small_files(argv[2], count_arg(argv[3], 10000000));
	fprintf(stderr, "usage: fsbench seqw FILE MIB | seqr FILE | randr FILE COUNT | files DIR COUNT\n");
	return 2;
}
