/* The VM's host cgroups: metric groups on cgroup v1 hosts (the engines
 * read the monitor's cgroups for the container's usage) and an io/blkio
 * group for blockIO weights and throttles (QEMU and virtiofsd do the
 * container's block I/O on the host). */
#include <errno.h>
#include <unistd.h>

#include <jansson.h>

#include "host/monitor/monitor_priv.h"
#include "host/state/host_cgroup.h"
#include "host/state/log.h"

/* Before the VM starts: its processes inherit the groups. */
void mon_cgroups_join(struct monitor *m)
{
	struct husk_err cgerr = { 0 };
	if (husk_stats_cgroups_join(m->a->id, m->a->state_dir, &cgerr) < 0)
		log_warn("metrics will not be the VM's own: %s", cgerr.msg);
}

/* Once the VM runs: the monitor too, as on cgroup v2 hosts this group is
 * what the shim reads. A blockIO the host cannot apply fails the create,
 * unless the host has no way to weigh the VM's I/O at all. */
int mon_cgroups_io(struct monitor *m, struct husk_err *err)
{
	pid_t io_pids[] = { getpid(), m->vm.qemu_pid, m->vm.virtiofsd_pid };
	struct husk_err ioerr = { 0 };
	if (husk_io_cgroup_create(m->a->id, io_pids, 3, m->st.io_cgroup, sizeof m->st.io_cgroup, &ioerr) < 0)
		log_warn("no host cgroup for block-IO weight: %s", ioerr.msg);
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
	husk_host_cgroups_remove(m->a->state_dir, m->st.io_cgroup, true);
}
