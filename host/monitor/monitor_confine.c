#include "host/monitor/monitor_confine.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

#include "host/vmm/vmm_privs.h"

/* What a monitor does once QEMU runs: its epoll loop (the guest session,
 * ctl.sock clients, stdio, signals, a timer), state and log files, the
 * VM's host cgroups, waiting for and killing its children, the terminal's
 * size, and at the end the taps' tc filters (netlink in the container's
 * network namespace, which the monitor entered before confining itself).
 * Nothing else: no fork or exec (hooks go through the hook runner,
 * monitor_hookrun.c), no mount, namespaces, ids, capabilities, modules,
 * ptrace, bpf, keyrings, kexec, reboot, clocks, handle-based opens,
 * device nodes. */
static const char *const allowed[] = {
	/* files and fds */
	"read",
	"readv",
	"pread64",
	"write",
	"writev",
	"pwrite64",
	"lseek",
	"close",
	"open",
	"openat",
	"stat",
	"fstat",
	"lstat",
	"newfstatat",
	"statx",
	"statfs",
	"fstatfs",
	"fcntl",
	"dup",
	"dup2",
	"dup3",
	"ioctl",
	"fsync",
	"fdatasync",
	"ftruncate",
	"rename",
	"renameat",
	"renameat2",
	"unlink",
	"unlinkat",
	"mkdir",
	"mkdirat",
	"rmdir",
	"readlink",
	"readlinkat",
	"getdents64",
	"access",
	"faccessat",
	"faccessat2",
	"fchmod",
	"fchmodat",
	"flock",
	"pipe",
	"pipe2",
	"getcwd",
	"chdir",
	"fchdir",
	"umask",
	/* sockets (socket() itself is conditional, below) */
	"connect",
	"accept",
	"accept4",
	"bind",
	"listen",
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	/* the loop */
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"poll",
	"ppoll",
	"select",
	"pselect6",
	"signalfd4",
	"timerfd_create",
	"timerfd_settime",
	"timerfd_gettime",
	"eventfd2",
	/* processes and signals */
	"kill",
	"tgkill",
	"wait4",
	"waitid",
	"getpid",
	"getppid",
	"gettid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getpgrp",
	"getpgid",
	"getsid",
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigaltstack",
	"prctl",
	"exit",
	"exit_group",
	"restart_syscall",
	/* memory */
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"brk",
	/* time and the rest of libc */
	"clock_gettime",
	"clock_getres",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"getrandom",
	"futex",
	"uname",
	"sched_yield",
	"getrlimit",
	"prlimit64",
	"sysinfo",
	"set_robust_list",
	"rseq",
};

static int conditional(void *ctx)
{
	/* the session (vsock or the back-end's unix socket), ctl.sock, netlink */
	static const int families[] = { AF_UNIX, AF_VSOCK, AF_NETLINK };
	int r = 0;
	for (size_t i = 0; i < sizeof families / sizeof families[0] && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, families[i]));
	return r;
}

int husk_monitor_confine(struct husk_err *err)
{
	return husk_seccomp_allow_list(allowed, sizeof allowed / sizeof allowed[0], conditional, "monitor", err);
}
