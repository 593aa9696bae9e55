/* The per-container monitor: the process named in --pid-file. It owns the
 * VM (QEMU, virtiofsd, the vsock backend), relays the container's stdio,
 * serves ctl.sock and exits with the container's exit status. Its insides
 * are in host/monitor/monitor_priv.h. */
#ifndef HUSK_HOST_MONITOR_H
#define HUSK_HOST_MONITOR_H

#include <stdbool.h>

#include "common/err.h"
#include "host/state/config.h"
#include "host/pool/pool_client.h"
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
	bool pool_share;            /* a pool VM's share: slot dirs ctr/0 .. ctr/15 (slot 0's tree comes later) */
	bool slot_tree;             /* CREATE `tree`: the container's tree is at ctr/<slot>, slot 0 too (a pool VM's) */
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
	uint32_t ctr; /* the container's slot in its VM (0: the sandbox's, or a VM of its own) */
	int ready_fd;
	const char *console_socket;
	bool log_to_caller_file;
};

int husk_exec_monitor_run(const struct husk_exec_monitor_args *a);

/* A pod member's monitor (docs/pods.md): the process named in a member's
 * --pid-file. Its container runs in slot `slot` of the sandbox's VM (the
 * slot's share already injected): it opens a session of its own to the
 * sandbox's husk-init, creates the container there, serves its own
 * ctl.sock, relays its stdio, runs its hooks and exits with its status
 * (137 when the VM goes first). */
struct husk_member_monitor_args {
	struct husk_monitor_args base; /* the member's id, state dir, spec, stdio, log */
	const char *sandbox_id;
	const char *sandbox_dir;
	struct husk_vsock_ref vsock; /* the sandbox's guest, from its state.json */
	uint32_t slot;
	uint32_t join_mask; /* bit i: namespace kind i (host/spec/spec.h) joined from slot join_slot[i] */
	uint32_t join_slot[HUSK_NS_JOIN_KINDS];
	long vm_memory_mib; /* the sandbox's VM, for update's checks */
	int vm_vcpus;
	int netns_fd; /* the sandbox monitor's network namespace, entered before confinement; -1: none */
	/* A container adopting a VM taken from a pool (docs/design-pool.md):
	 * slot 0, its tree at ctr/0 (base.slot_tree), netns_fd the container's
	 * own; the VM's host cgroups are the container's (cold sizing) and the
	 * pool VM's processes are moved into them; ADOPT on the pool VM's
	 * ctl.sock is held for the monitor's life. NULL: a pod member. */
	const struct husk_pool_vm *pool_vm;
	/* its NICs as the guest sets them at CREATE (the pool VM's taps moved
	 * into netns_fd's namespace and joined, host/net/net.h); NULL: none */
	const struct husk_network *network;
};

int husk_member_monitor_run(struct husk_member_monitor_args *a);

#endif
