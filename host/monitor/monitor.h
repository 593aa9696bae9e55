/* The per-container monitor: the process named in --pid-file. It owns the
 * VM (QEMU, virtiofsd, the vsock backend), relays the container's stdio,
 * serves ctl.sock and exits with the container's exit status. */
#ifndef HUSK_HOST_MONITOR_H
#define HUSK_HOST_MONITOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/state/config.h"
#include "host/spec/spec.h"
#include "host/state/state.h"
#include "host/vsock/vsock.h"

struct husk_monitor_args {
	const char *id;
	const char *state_dir;
	struct husk_spec *spec;
	const struct husk_config *cfg;
	int ready_fd;               /* "OK" or "E<message>" once created */
	const char *console_socket; /* NULL without a terminal */
	bool log_to_caller_file;    /* --log given: keep logging there */
};

/* The VM and its helpers, as the boot phase leaves them. */
struct husk_vm {
	struct husk_vsock vsock;
	pid_t qemu_pid, virtiofsd_pid;
	int session_fd; /* the container session with husk-init */
	char dir[PATH_MAX];
	char kernel_release[128];
	int guest_pid;
	long memory_mib; /* the VM's size (host/vm_size.c) */
	int vcpus;
	struct husk_net *net;         /* the netns joined to the VM's NICs (host/net.h), NULL if none */
	struct husk_network *network; /* the NICs as the guest configures them at CREATE */
};

/* host/vm_size.c */
int husk_vm_size(const struct husk_config *cfg, const struct husk_spec *spec, long *memory_mib, int *vcpus,
		 struct husk_err *err);
/* io.husk.vm.accel (auto|kvm|tcg) and io.husk.vm.kernel_params (appended to
 * the config file's kernel_params; a safe character set only) */
int husk_vm_annotations(const struct husk_config *cfg, const struct husk_spec *spec, const char **accel,
			char *params, size_t params_cap, struct husk_err *err);

/* Runs the monitor; returns the exit status to exit with. */
int husk_monitor_run(const struct husk_monitor_args *a);

/* An exec monitor: the process named by `exec --pid-file`. It opens a
 * session of its own to the guest, starts the process there, relays its
 * stdio and exits with its status. */
struct husk_exec_monitor_args {
	const char *id;
	const char *state_dir;
	const struct husk_vsock *vsock; /* how to reach the guest (from state.json) */
	const struct husk_process_spec *process;
	int ready_fd;
	const char *console_socket;
	bool log_to_caller_file;
};

int husk_exec_monitor_run(const struct husk_exec_monitor_args *a);

/* Sends EXEC on a fresh session (after HELLO) and waits for the reply:
 * the guest pid, or a negative code with the guest's message. */
int husk_guest_exec(int session_fd, const struct husk_process_spec *process, bool stdin_open, struct husk_err *err);

/* monitor_boot.c: start vsock backend, virtiofsd and QEMU, connect, HELLO,
 * CREATE. On failure everything started is stopped again. */
int husk_vm_boot(struct husk_vm *vm, const struct husk_monitor_args *a, bool stdin_open, struct husk_err *err);
/* Stops whatever still runs: QEMU (after grace_ms), virtiofsd, backend. */
void husk_vm_stop(struct husk_vm *vm, int grace_ms);
/* monitor_vfs.c: moves the monitor into a private mount namespace and
 * builds the directory virtiofsd shares (rootfs and bind sources) in dir. */
int husk_vfs_stage(const struct husk_monitor_args *a, char *dir, size_t cap, struct husk_err *err);
/* Last lines of console.log into out, for error messages. */
void husk_vm_console_tail(const struct husk_vm *vm, char *out, size_t cap);
/* Why a helper ("qemu" or "virtiofsd") went: ": <its last stderr line>"
 * then "; console: <tail>", each part only if there is one. */
#define HUSK_CHILD_REASON_MAX 600
void husk_vm_child_reason(const struct husk_vm *vm, const char *prog, char *out, size_t cap);

#endif
