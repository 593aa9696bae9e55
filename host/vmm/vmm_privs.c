#include "host/vmm/vmm_privs.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* the highest capability number this kernel knows (CAP_LAST_CAP of the
 * headers may be older or newer than the running kernel) */
static int last_cap(void)
{
	int last = CAP_LAST_CAP;
	while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

int husk_caps_drop_bounding(void)
{
	for (int cap = 0, last = last_cap(); cap <= last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int husk_set_ids(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	if (setgroups(ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	return 0;
}

int husk_privs_finish(pid_t parent)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return -errno;
	if (getppid() != parent)
		return -ESRCH;
	return 0;
}

int husk_seccomp_allow_list(const char *const *names, size_t n, husk_seccomp_extra_fn extra, const char *who,
			    struct husk_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, errno, "setting no_new_privs on the %s", who);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return husk_err_set(err, ENOMEM, "seccomp_init for the %s", who);
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			husk_err_set(err, -r, "%s seccomp filter: allowing %s", who, names[i]);
	}
	if (r == 0 && extra && (r = extra(ctx)) < 0)
		husk_err_set(err, -r, "%s seccomp filter: conditional rules", who);
	if (r == 0 && (r = seccomp_load(ctx)) < 0)
		husk_err_set(err, -r, "loading the %s's seccomp filter", who);
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}
