/* delete: remove a stopped container; --force kills a live one first. No
 * pid is signalled without checking it is still the recorded process. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/monitor/ctl.h"
#include "host/state/fsutil.h"
#include "host/spec/hooks.h"
#include "host/state/host_cgroup.h"

#define DELETE_WAIT_MS 15000

static void kill_if_same(const struct husk_pid_ref *ref)
{
	if (husk_pid_ref_alive(ref))
		kill(ref->pid, SIGKILL);
}

static bool wait_gone(const struct husk_pid_ref *ref, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (!husk_pid_ref_alive(ref))
			return true;
		usleep(10000);
	}
	return !husk_pid_ref_alive(ref);
}

/* A monitor still creating: its VM processes are not in state yet, but they
 * share the monitor's process group (it leads one once its terminal is set
 * up), so the group goes at once and we wait until it is empty. */
static void kill_creating(const struct husk_pid_ref *monitor)
{
	if (!husk_pid_ref_alive(monitor))
		return;
	pid_t pid = monitor->pid;
	bool leader = getpgid(pid) == pid;
	kill(pid, SIGKILL);
	if (!leader) {
		wait_gone(monitor, 2000);
		return;
	}
	kill(-pid, SIGKILL);
	for (int waited = 0; waited < 5000 && kill(-pid, 0) == 0; waited += 10)
		usleep(10000);
}

int cmd_delete(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct husk_err err = { 0 };
	struct husk_state st;
	char dir[PATH_MAX];
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return cli_failf("delete: unknown option %s (see husk delete --help)", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_failf("delete: expected exactly one container id (see husk delete --help)");
	const char *id = argv[optind];
	int r = cli_load_state(g, id, dir, sizeof dir, &st, &err);
	struct stat lst;
	if (r == -ENOENT && force && lstat(dir, &lst) == 0) {
		/* a create that died before writing state.json left its dir (or
		 * a link to a dir that is gone) */
		husk_err_clear(&err);
		if (husk_state_remove(dir, id, &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (r == -EBADMSG && force) {
		/* a corrupt state file: nothing trustworthy to kill; remove it */
		husk_err_clear(&err);
		if (husk_state_remove(dir, id, &err) < 0)
			return cli_fail(&err);
		return 0;
	}
	if (r < 0)
		return cli_fail(&err);
	const char *status = husk_state_status(&st);
	if ((!strcmp(status, "running") || !strcmp(status, "paused")) && !force) {
		husk_state_free(&st);
		return cli_failf("cannot delete container \"%s\" that is not stopped: %s (use --force)", id, status);
	}
	if (!strcmp(status, "creating")) {
		/* nothing runs in the guest yet and the monitor does not serve
		 * requests before it is created */
		kill_creating(&st.monitor);
	} else if (strcmp(status, "stopped") != 0) {
		/* ask the monitor first: it shuts the VM down cleanly */
		struct husk_err kerr = { 0 };
		husk_ctl_signal(dir, SIGKILL, false, &kerr);
		if (!wait_gone(&st.monitor, DELETE_WAIT_MS))
			kill_if_same(&st.monitor);
		wait_gone(&st.monitor, 2000);
	}
	/* leftovers of a monitor that died hard (their PDEATHSIG should have
	 * taken them already) */
	kill_if_same(&st.qemu);
	kill_if_same(&st.virtiofsd);
	kill_if_same(&st.vsock_backend);
	wait_gone(&st.qemu, 2000);
	wait_gone(&st.virtiofsd, 2000);
	husk_io_cgroup_remove(st.io_cgroup);
	char stats_list[PATH_MAX + 16];
	snprintf(stats_list, sizeof stats_list, "%s/host-cgroups", dir);
	husk_stats_cgroups_remove(stats_list, false);
	husk_hooks_poststop(&st); /* as runc: the container is stopped, its state still there */
	husk_state_free(&st);
	if (husk_state_remove(dir, id, &err) < 0)
		return cli_fail(&err);
	return 0;
}
