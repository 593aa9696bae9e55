/* The VM's host cgroup: linux.cgroupsPath, with a memory limit that covers
 * the VM, a pids limit, the spec's CPU weight (a pod's sandbox: the pod's)
 * and quota and its block-IO weights and throttles (host/state/host_cgroup.h). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "host/monitor/monitor_priv.h"
#include "host/spec/spec.h"
#include "host/state/host_cgroup.h"
#include "host/state/log.h"

/* Before the VM starts: QEMU, virtiofsd and the vsock back-end inherit
 * the monitor's group. */
int mon_cgroups_join(struct monitor *m, struct husk_err *err)
{
	const struct husk_monitor_args *a = m->a;
	struct husk_host_cgroup_limits lim;
	long mib;
	int vcpus;
	int r = husk_vm_size(a->cfg, a->spec, &mib, &vcpus, err);
	if (r < 0)
		return r;
	/* TCG's translation cache is QEMU's memory too; counted whatever the
	 * accelerator (under KVM the limit is that much roomier) */
	long tb = strtol(husk_config_get(a->cfg, CFG_TCG_TB_SIZE_MIB), NULL, 10);
	husk_host_cgroup_limits(mib, vcpus, tb, a->spec->resources, &lim);
	/* a pod's VM runs the whole pod: its CPU weight is the pod's, not
	 * the pause container's (containerd gives that cpu.shares 2) */
	struct husk_pod_size pod;
	if ((r = husk_pod_size(a->spec, &pod, err)) < 0)
		return r;
	if (pod.cpu_shares)
		lim.cpu_shares = pod.cpu_shares;
	const char *path = json_string_value(json_object_get(json_object_get(a->spec->json, "linux"), "cgroupsPath"));
	struct husk_err cgerr = { 0 };
	r = husk_host_cgroups_join(a->id, path, a->systemd_cgroup, &lim, a->state_dir, m->st.io_cgroup,
				   sizeof m->st.io_cgroup, &cgerr);
	if (r < 0)
		return husk_err_set(err, cgerr.code, "%s", cgerr.msg);
	if (cgerr.msg[0])
		log_warn("%s", cgerr.msg);
	return 0;
}

/* A pod member's monitor owns no VM: the VM's processes and usage are in
 * the sandbox's group. The member's own linux.cgroupsPath holds the
 * monitor alone (its hook runner, forked before, stays where it was, as a
 * sandbox's does), so that engines reading the container pid's cgroup find
 * the one they named. No memory or CPU limit (the member's limits are the
 * guest's, and an OOM kill of the monitor would orphan the container);
 * pids.max HUSK_MEMBER_CG_PIDS: the monitor is one thread. */
int mon_member_cgroup_join(struct monitor *m, struct husk_err *err)
{
	const struct husk_monitor_args *a = m->a;
	const struct husk_host_cgroup_limits lim = { .pids = HUSK_MEMBER_CG_PIDS };
	char io[PATH_MAX]; /* a member's block I/O is the sandbox's VM's */
	const char *path = json_string_value(json_object_get(json_object_get(a->spec->json, "linux"), "cgroupsPath"));
	struct husk_err cgerr = { 0 };
	int r = husk_host_cgroups_join(a->id, path, a->systemd_cgroup, &lim, a->state_dir, io, sizeof io, &cgerr);
	if (r < 0)
		return husk_err_set(err, cgerr.code, "%s", cgerr.msg);
	if (cgerr.msg[0])
		log_warn("%s", cgerr.msg);
	return 0;
}

/* Once the VM runs: linux.resources.blockIO. What the host cannot apply
 * fails the create, unless the host has no way to weigh I/O at all. */
int mon_cgroups_io(struct monitor *m, struct husk_err *err)
{
	struct husk_err ioerr = { 0 };
	json_t *block_io =
		json_object_get(json_object_get(json_object_get(m->a->spec->json, "linux"), "resources"), "blockIO");
	if (husk_io_cgroup_apply_spec(m->st.io_cgroup, block_io, &ioerr) < 0) {
		if (ioerr.code != EOPNOTSUPP)
			return husk_err_set(err, ioerr.code, "%s", ioerr.msg);
		/* the host cannot weigh or throttle the VM's I/O: say so, run anyway */
		log_warn("%s", ioerr.msg);
	}
	return 0;
}

void mon_cgroups_remove(struct monitor *m)
{
	husk_host_cgroups_remove(m->a->state_dir, true);
}
