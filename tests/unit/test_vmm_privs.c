/* The VM's uid slots (host/vmm/vmm_uid.c) and the vsock back-end's
 * confinement (host/vsock/vsock_confine.c), applied in a child that the
 * test reads from /proc. Needs root (skips otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/vmm/vmm_uid.h"
#include "host/vsock/vsock_confine.h"
#include "tests/unit/unit.h"

/* a range nothing else on the machine uses */
#define BASE 4294000000UL

static enum test_result test_uid_slots(void)
{
	if (geteuid() != 0)
		return TEST_SKIP;
	struct husk_err err = { 0 };
	struct husk_vmm_id a, b, c;
	CHECK_EQ_INT(husk_vmm_id_alloc(BASE, 2, &a, &err), 0);
	CHECK_EQ_INT(husk_vmm_id_alloc(BASE, 2, &b, &err), 0);
	CHECK(a.uid != b.uid && a.uid >= BASE && a.uid < BASE + 2 && b.uid >= BASE && b.uid < BASE + 2);
	CHECK(a.gid == a.uid && b.gid == b.uid);
	CHECK_EQ_INT(husk_vmm_id_alloc(BASE, 2, &c, &err), -EAGAIN);
	CHECK(strstr(err.msg, "raise [security] vmm_uid_count") != NULL);
	husk_vmm_id_release(&a);
	CHECK_EQ_INT(a.lock_fd, -1);
	memset(&err, 0, sizeof err);
	CHECK_EQ_INT(husk_vmm_id_alloc(BASE, 2, &c, &err), 0);
	CHECK(c.uid != b.uid);
	husk_vmm_id_release(&b);
	husk_vmm_id_release(&c);
	return TEST_PASS;
}

static bool field(const char *status, const char *name, const char *want)
{
	const char *p = strstr(status, name);
	if (!p)
		return false;
	p += strlen(name);
	p += strspn(p, " \t");
	return !strncmp(p, want, strlen(want));
}

/* child: confined, tells the parent, waits for it to look, then checks
 * what is denied; exit 0 if all as expected */
static int confined_child(pid_t parent, int ready, int go)
{
	struct husk_err err = { 0 };
	if (husk_vsock_confine(BASE + 7, BASE + 7, parent, &err) < 0) {
		printf("# %s\n", err.msg);
		return 1;
	}
	char c = 'r';
	if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 2;
	errno = 0;
	if (open("/etc/hostname", O_RDONLY) != -1 || errno != EPERM)
		return 3;
	errno = 0;
	if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EPERM)
		return 4;
	errno = 0;
	if (fork() != -1 || errno != EPERM)
		return 5;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return 6;
	close(s);
	return 0;
}

static enum test_result test_vsock_confine(void)
{
	if (geteuid() != 0)
		return TEST_SKIP;
	int ready[2], go[2];
	CHECK(pipe(ready) == 0 && pipe(go) == 0);
	pid_t parent = getpid();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(confined_child(parent, ready[1], go[0]));
	char c, path[64], status[4096];
	CHECK(pid > 0 && read(ready[0], &c, 1) == 1);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, status, sizeof status - 1);
	close(fd);
	CHECK(n > 0);
	status[n] = '\0';
	CHECK(write(go[1], "g", 1) == 1);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	char uid[64];
	snprintf(uid, sizeof uid, "%lu\t%lu\t%lu\t%lu", BASE + 7, BASE + 7, BASE + 7, BASE + 7);
	CHECK(field(status, "\nUid:", uid) && field(status, "\nGid:", uid));
	CHECK(field(status, "\nGroups:", "\n"));
	CHECK(field(status, "\nCapEff:", "0000000000000000") && field(status, "\nCapPrm:", "0000000000000000"));
	CHECK(field(status, "\nCapBnd:", "0000000000000000") && field(status, "\nCapInh:", "0000000000000000"));
	CHECK(field(status, "\nNoNewPrivs:", "1") && field(status, "\nSeccomp:", "2"));
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "VMM uid slots: distinct, exhausted with a hint, free again once released", test_uid_slots },
		{ "vsock back-end confined: its uid, no capabilities, NNP, an allow-list", test_vsock_confine },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
