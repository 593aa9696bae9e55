#include "host/vmm/vmm_privs.h"

#include <errno.h>
#include <linux/capability.h>
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

int husk_vmm_exec_setup(void *arg)
{
	int r = husk_lsm_exec_setup(arg);
	if (r < 0)
		return r;
	/* root's exec would otherwise regain the full set: empty the bounding
	 * set first, then what is inherited */
	for (int cap = 0, last = last_cap(); cap <= last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
