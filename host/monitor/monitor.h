/* The per-container monitor: the process named in --pid-file. It owns the
 * VM (QEMU, virtiofsd, the vsock backend), relays the container's stdio,
 * serves ctl.sock and exits with the container's exit status. Its insides
 * are in host/monitor/monitor_priv.h. */
#ifndef HUSK_HOST_MONITOR_H
#define HUSK_HOST_MONITOR_H

#include <stdbool.h>

#include "common/err.h"
#include "host/state/config.h"
#include "host/spec/spec.h"
#include "host/state/state.h"

struct husk_monitor_args {
	const char *id;
	const char *state_dir;
	struct husk_spec *spec;
	const struct husk_config *cfg;
	int ready_fd;               /* "OK" or "E<message>" once created */
	const char *console_socket; /* NULL without a terminal */
	bool log_to_caller_file;    /* --log given: keep logging there */
	bool systemd_cgroup;        /* --systemd-cgroup: cgroupsPath is "slice:prefix:name" */
};

/* Runs the monitor; returns the exit status to exit with. */
int husk_monitor_run(const struct husk_monitor_args *a);

/* An exec monitor: the process named by `exec --pid-file`. It opens a
 * session of its own to the guest, starts the process there, relays its
 * stdio and exits with its status. */
struct husk_exec_monitor_args {
	const char *id;
	const char *state_dir;
	const struct husk_vsock_ref *vsock; /* how to reach the guest (from state.json) */
	const struct husk_process_spec *process;
	int ready_fd;
	const char *console_socket;
	bool log_to_caller_file;
};

int husk_exec_monitor_run(const struct husk_exec_monitor_args *a);

#endif
