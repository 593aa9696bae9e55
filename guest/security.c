#include "guest/security.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest/guest.h"

static const char *const rlimit_names[HUSK_RLIMIT_TYPES] = {
	"RLIMIT_CPU",      "RLIMIT_FSIZE",  "RLIMIT_DATA",    "RLIMIT_STACK",  "RLIMIT_CORE",  "RLIMIT_RSS",
	"RLIMIT_NPROC",    "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",     "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
	"RLIMIT_MSGQUEUE", "RLIMIT_NICE",   "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",
};

void security_early(const struct husk_process_security *s, int sfd)
{
	if (!s || !s->has_oom_score_adj)
		return;
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", (int)s->oom_score_adj);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)n) != n)
		spawn_child_fail(sfd, "setting oom_score_adj to %d: %s", (int)s->oom_score_adj, strerror(errno));
	close(fd);
}

static void set_rlimits(const struct husk_process_security *s, int sfd)
{
	for (uint32_t i = 0; i < s->n_rlimits; i++) {
		const struct husk_rlimit *l = &s->rlimits[i];
		struct rlimit rl = {
			.rlim_cur = l->soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->soft,
			.rlim_max = l->hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)l->hard,
		};
		if (setrlimit((int)l->type, &rl) < 0)
			spawn_child_fail(sfd, "setting %s to soft %llu hard %llu: %s", rlimit_names[l->type],
					 (unsigned long long)l->soft, (unsigned long long)l->hard, strerror(errno));
	}
}

static int install_seccomp(const struct husk_process_security *s)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(s->seccomp_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)s->seccomp,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s->seccomp_flags, &prog) != 0)
		return -errno;
	return 0;
}

static int last_cap(void)
{
	/* the highest capability this kernel knows */
	int c = 0;
	while (c < (int)HUSK_CAP_MAX && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

void security_prepare(const struct husk_process_security *s, int sfd)
{
	if (!s)
		return;
	set_rlimits(s, sfd);
	umask((mode_t)s->umask);
	if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		spawn_child_fail(sfd, "setting no_new_privs: %s", strerror(errno));
	/* without NNP installing a filter needs CAP_SYS_ADMIN: do it while
   * the process still has every capability, as runc does */
	if (s->seccomp && !s->no_new_privs) {
		int r = install_seccomp(s);
		if (r < 0)
			spawn_child_fail(sfd, "installing the seccomp filter: %s", strerror(-r));
	}
	if (!s->has_caps)
		return;
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(s->caps[HUSK_CAP_BOUNDING] & (1ull << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			spawn_child_fail(sfd, "dropping capability %d from the bounding set: %s", c, strerror(errno));
	/* keep the permitted set across setuid; capset then trims it */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		spawn_child_fail(sfd, "PR_SET_KEEPCAPS: %s", strerror(errno));
}

void security_caps(const struct husk_process_security *s, int sfd)
{
	if (!s || !s->has_caps)
		return;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		spawn_child_fail(sfd, "clearing PR_SET_KEEPCAPS: %s", strerror(errno));
	/* capabilities the kernel does not know are left out, as runc does */
	int last = last_cap();
	uint64_t known = last >= 63 ? UINT64_MAX : (1ull << (last + 1)) - 1;
	uint64_t eff = s->caps[HUSK_CAP_EFFECTIVE] & known, prm = s->caps[HUSK_CAP_PERMITTED] & known;
	uint64_t inh = s->caps[HUSK_CAP_INHERITABLE] & known;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)prm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32),
		  .permitted = (uint32_t)(prm >> 32),
		  .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		spawn_child_fail(sfd, "setting the capabilities (capset): %s", strerror(errno));
	/* ambient: a capability that is not also permitted and inheritable
   * cannot be raised; runc only warns, so does husk (silently) */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; c <= last; c++)
		if (s->caps[HUSK_CAP_AMBIENT] & (1ull << c))
			prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0);
}

int security_final(const struct husk_process_security *s)
{
	if (!s || !s->seccomp || !s->no_new_privs)
		return 0;
	return install_seccomp(s);
}
