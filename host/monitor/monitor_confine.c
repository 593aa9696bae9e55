#include "host/monitor/monitor_confine.h"

#include <errno.h>
#include <stddef.h>
#include <seccomp.h>
#include <sys/prctl.h>

/* Calls a container monitor never makes after create: debugging other
 * processes, kernel code and boot control, clocks, swap and quotas, raw I/O
 * ports, handle-based opens (a classic container escape), keyrings,
 * userfaultfd and perf (common exploit helpers). Mounting is not here: the
 * block-IO and cgroup code do not need it, but hooks might. */
static const char *const denied[] = {
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"kcmp",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"iopl",
	"ioperm",
	"open_by_handle_at",
	"keyctl",
	"add_key",
	"request_key",
	"userfaultfd",
	"perf_event_open",
	"lookup_dcookie",
	"quotactl",
	"syslog",
	"vhangup",
	"personality",
};

int husk_monitor_confine(struct husk_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return husk_err_sys(err, errno, "setting no_new_privs on the monitor");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return husk_err_set(err, ENOMEM, "seccomp_init for the monitor");
	int r = 0;
	for (size_t i = 0; i < sizeof denied / sizeof denied[0] && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0)
			husk_err_set(err, -r, "monitor seccomp filter: denying %s", denied[i]);
	}
	if (r == 0 && (r = seccomp_load(ctx)) < 0)
		husk_err_set(err, -r, "loading the monitor's seccomp filter");
	seccomp_release(ctx);
	return r < 0 ? r : 0;
}
