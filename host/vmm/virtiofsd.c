#include "host/vmm/virtiofsd.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>

int husk_virtiofsd_argv(const struct husk_virtiofsd_params *p, struct husk_argv *a, struct husk_err *err)
{
	if (!p->binary || !p->socket_path || !p->source || !p->cache || p->nofile <= 0)
		return husk_err_set(err, EINVAL, "virtiofsd needs a binary, socket, source, cache mode and fd limit");
	husk_argv_push(a, p->binary);
	husk_argv_pushf(a, "--socket-path=%s", p->socket_path);
	husk_argv_push(a, "-o");
	husk_argv_pushf(a, "source=%s", p->source);
	husk_argv_push(a, "-o");
	husk_argv_pushf(a, "cache=%s", p->cache);
	husk_argv_push(a, "-o");
	husk_argv_push(a, "sandbox=namespace");
	/* it keeps CHOWN, DAC_OVERRIDE, FOWNER, SETGID and SETUID: serving
	 * guest root's files takes them */
	husk_argv_push(a, "-o");
	husk_argv_push(a, "modcaps=-mknod:-setfcap:-fsetid");
	/* its default is up to a million: one guest could pin that many host
	 * files (and their dentries) open */
	husk_argv_pushf(a, "--rlimit-nofile=%ld", p->nofile);
	husk_argv_push(a, "-o");
	husk_argv_push(a, "log_level=warn");
	return husk_argv_check(a, err);
}

/* the syscalls whose mode argument (0-based index) sets permission bits */
static const struct {
	const char *name;
	unsigned arg;
} mode_calls[] = {
	{ "chmod", 1 },  { "fchmod", 1 }, { "fchmodat", 2 }, { "fchmodat2", 2 }, { "open", 2 },
	{ "openat", 3 }, { "creat", 1 },  { "mknod", 1 },    { "mknodat", 2 },
};

int husk_virtiofsd_setid_filter(void *arg)
{
	(void)arg;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int r = 0;
	static const unsigned bits[] = { S_ISUID, S_ISGID };
	for (size_t i = 0; i < sizeof mode_calls / sizeof mode_calls[0] && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(mode_calls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		for (size_t b = 0; b < 2 && r == 0; b++) {
			struct scmp_arg_cmp cmp = { mode_calls[i].arg, SCMP_CMP_MASKED_EQ, bits[b], bits[b] };
			r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, &cmp);
		}
	}
	int nr = seccomp_syscall_resolve_name("openat2");
	if (r == 0 && nr != __NR_SCMP_ERROR)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	/* seccomp_load sets no_new_privs (libseccomp's default) */
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}
