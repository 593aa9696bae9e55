#include "host/vsock/vsock_confine.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

#include "host/vmm/vmm_privs.h"

static const char *const allowed[] = {
	/* the loop and its fds */
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"read",
	"readv",
	"write",
	"writev",
	"close",
	"fcntl",
	"ioctl",
	"fstat",
	"newfstatat",
	/* QEMU's socket (fds arrive with SCM_RIGHTS), host clients, the
	 * guest's connections to unix sockets */
	"recvmsg",
	"sendmsg",
	"recvfrom",
	"sendto",
	"accept4",
	"connect",
	"shutdown",
	"getsockopt",
	"setsockopt",
	"getsockname",
	"getpeername",
	/* guest memory and the heap */
	"mmap",
	"munmap",
	"mremap",
	"mprotect",
	"madvise",
	"brk",
	/* time, signals, the end */
	"clock_gettime",
	"clock_nanosleep",
	"nanosleep",
	"gettimeofday",
	"time",
	"getpid",
	"gettid",
	"getrandom",
	"rt_sigreturn",
	"rt_sigprocmask",
	"restart_syscall",
	"futex",
	"exit",
	"exit_group",
};

static int unix_sockets_only(void *ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
}

int husk_vsock_confine(uid_t uid, gid_t gid, pid_t parent, struct husk_err *err)
{
	int r = husk_caps_drop_bounding();
	if (r < 0)
		return husk_err_sys(err, -r, "vsock back-end: dropping capabilities");
	if ((r = husk_set_ids(uid, gid, NULL, 0)) < 0)
		return husk_err_sys(err, -r, "vsock back-end: switching to uid %u", (unsigned)uid);
	if ((r = husk_privs_finish(parent)) < 0)
		return husk_err_sys(err, -r, "vsock back-end: dropping privileges");
	return husk_seccomp_allow_list(allowed, sizeof allowed / sizeof allowed[0], unix_sockets_only, "vsock back-end",
				       err);
}
