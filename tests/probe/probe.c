/* husk test probe: a static multi-call binary run inside containers so the
 * end-to-end tests assert on facts, not on shell output that happens to
 * match. Usage: probe FACT [ARG]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/probe/probe.h"

static int fact_hostname(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return 1;
	printf("%s\n", u.nodename);
	return 0;
}

static int fact_kernel(void)
{
	struct utsname u;
	if (uname(&u) < 0)
		return 1;
	printf("%s\n", u.release);
	return 0;
}

static int fact_ids(void)
{
	gid_t groups[64];
	int n = getgroups(64, groups);
	printf("uid=%u gid=%u euid=%u egid=%u groups=", getuid(), getgid(), geteuid(), getegid());
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", groups[i]);
	printf("\n");
	return 0;
}

static int fact_pid(void)
{
	printf("pid=%d ppid=%d\n", (int)getpid(), (int)getppid());
	return 0;
}

static int fact_cwd(void)
{
	char buf[4096];
	if (!getcwd(buf, sizeof buf))
		return 1;
	printf("%s\n", buf);
	return 0;
}

/* writes N bytes of a deterministic pattern to stdout */
static int fact_pattern(const char *arg)
{
	long n = arg ? atol(arg) : 0;
	char buf[65536];
	unsigned x = 12345;
	while (n > 0) {
		size_t chunk = n < (long)sizeof buf ? (size_t)n : sizeof buf;
		for (size_t i = 0; i < chunk; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (char)(x >> 16);
		}
		size_t off = 0;
		while (off < chunk) {
			ssize_t w = write(1, buf + off, chunk - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				return 1;
			}
			off += (size_t)w;
		}
		n -= (long)chunk;
	}
	return 0;
}

/* lines of /proc/self/status that tell the security state */
static int fact_status(void)
{
	static const char *const keys[] = { "CapInh:", "CapPrm:",     "CapEff:", "CapBnd:",
					    "CapAmb:", "NoNewPrivs:", "Seccomp:" };
	char line[512];
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return 1;
	while (fgets(line, sizeof line, f))
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				fputs(line, stdout);
	fclose(f);
	return 0;
}

static int fact_rlimits(void)
{
	static const struct {
		const char *name;
		int res;
	} lim[] = { { "RLIMIT_NOFILE", RLIMIT_NOFILE },
		    { "RLIMIT_NPROC", RLIMIT_NPROC },
		    { "RLIMIT_CORE", RLIMIT_CORE },
		    { "RLIMIT_STACK", RLIMIT_STACK },
		    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK } };
	for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
		struct rlimit r;
		if (getrlimit(lim[i].res, &r) < 0)
			return 1;
		printf("%s %lld %lld\n", lim[i].name, r.rlim_cur == RLIM_INFINITY ? -1LL : (long long)r.rlim_cur,
		       r.rlim_max == RLIM_INFINITY ? -1LL : (long long)r.rlim_max);
	}
	return 0;
}

static int fact_umask(void)
{
	mode_t m = umask(0);
	umask(m);
	printf("%04o\n", (unsigned)m);
	return 0;
}

/* forks up to N children that wait; prints how many forks succeeded */
static int fact_forks(const char *arg)
{
	long n = arg ? atol(arg) : 0, ok = 0;
	pid_t kids[256];
	if (n > 256)
		n = 256;
	for (long i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			break;
		kids[ok++] = p;
	}
	printf("forked %ld\n", ok);
	fflush(stdout);
	for (long i = 0; i < ok; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	return 0;
}

/* syscall NR [ARG...]: runs syscall NR with up to six integer arguments
 * (the rest 0) and prints "ret N" or "errno N" (N: the errno number) */
static int fact_syscall(int argc, char **argv)
{
	long a[7] = { 0 };
	if (argc < 1 || argc > 7) {
		fprintf(stderr, "probe: syscall NR [ARG...] (at most six)\n");
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		char *end;
		errno = 0;
		a[i] = strtol(argv[i], &end, 0);
		if (errno || end == argv[i] || *end) {
			fprintf(stderr, "probe: syscall: \"%s\" is not a number\n", argv[i]);
			return 2;
		}
	}
	errno = 0;
	long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
	if (r == -1 && errno)
		printf("errno %d\n", errno);
	else
		printf("ret %ld\n", r);
	return 0;
}

/* hugepages N: maps N huge pages of the default size (2 MB) and touches
 * each; prints "mapped N", or "errno N" when the mapping is refused */
static int fact_hugepages(const char *arg)
{
	long n = arg ? atol(arg) : 0;
	size_t len = (size_t)n << 21;
	if (n <= 0 || n > 1024) {
		fprintf(stderr, "probe: hugepages N (1 to 1024)\n");
		return 2;
	}
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED) {
		printf("errno %d\n", errno);
		return 0;
	}
	for (long i = 0; i < n; i++)
		p[(size_t)i << 21] = 1;
	printf("mapped %ld\n", n);
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr,
			"usage: probe hostname|kernel|ids|pid|cwd|status|rlimits|umask|forks N|pattern N|syscall NR [ARG...]|hugepages N|report [SYSCTL...]|notify LINE...|shm-put KEY TEXT|shm-get KEY\n");
		return 2;
	}
	const char *f = argv[1];
	if (!strcmp(f, "hostname"))
		return fact_hostname();
	if (!strcmp(f, "shm-put") || !strcmp(f, "shm-get"))
		return probe_shm(argc - 2, argv + 2, f[4] == 'p');
	if (!strcmp(f, "kernel"))
		return fact_kernel();
	if (!strcmp(f, "ids"))
		return fact_ids();
	if (!strcmp(f, "pid"))
		return fact_pid();
	if (!strcmp(f, "cwd"))
		return fact_cwd();
	if (!strcmp(f, "status"))
		return fact_status();
	if (!strcmp(f, "rlimits"))
		return fact_rlimits();
	if (!strcmp(f, "forks"))
		return fact_forks(argc > 2 ? argv[2] : NULL);
	if (!strcmp(f, "umask"))
		return fact_umask();
	if (!strcmp(f, "report"))
		return probe_report(argc - 2, argv + 2);
	if (!strcmp(f, "notify"))
		return probe_notify(argc - 2, argv + 2);
	if (!strcmp(f, "pattern"))
		return fact_pattern(argc > 2 ? argv[2] : NULL);
	if (!strcmp(f, "hugepages"))
		return fact_hugepages(argc > 2 ? argv[2] : NULL);
	if (!strcmp(f, "syscall"))
		return fact_syscall(argc - 2, argv + 2);
	fprintf(stderr, "probe: unknown fact %s\n", f);
	return 2;
}
