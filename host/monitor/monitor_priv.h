/* The monitor's insides, shared by its files and by nothing else:
 *   monitor_loop.c       the event loop: signals, the VM's children, the timer
 *   monitor_session.c    the guest session: frames, stdio relay, EXIT, OOM
 *   monitor_ctl.c        ctl.sock: its clients and the pending-request table
 *   monitor_lifecycle.c  create and exec, from set-up to the exit status
 *   monitor_cgroup.c     the VM's host cgroups
 *   monitor_notify.c     sd_notify: the guest's NOTIFY frames to the host socket
 *   monitor_hookrun.c    the hook runner (hooks, once the monitor is confined)
 *   monitor_boot.c, monitor_vfs.c: the VM itself
 * Every fd the loop watches is a struct watch (common/watch.h) inside
 * struct monitor; its handler finds the monitor with container_of(). */
#ifndef HUSK_HOST_MONITOR_PRIV_H
#define HUSK_HOST_MONITOR_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <termios.h>
#include <time.h>

#include "common/err.h"
#include "common/watch.h"
#include "proto/frame.h"
#include "host/monitor/console_log.h"
#include "host/monitor/monitor.h"
#include "host/monitor/monitor_notify.h"
#include "host/monitor/stdio_relay.h"
#include "host/spec/hooks.h"
#include "host/state/state.h"
#include "host/vmm/vmm_uid.h"
#include "host/vsock/vsock.h"

/* The VM and its helpers, as the boot phase leaves them. */
struct husk_vm {
	struct husk_vsock vsock;
	pid_t qemu_pid, virtiofsd_pid;
	int session_fd;                  /* the container session with husk-init */
	struct husk_console_log console; /* the serial console, into console.log */
	char dir[PATH_MAX];
	char kernel_release[128];
	int guest_pid;
	long memory_mib; /* the VM's size (host/spec/vm_size.c) */
	int vcpus;
	struct husk_net *net;         /* the netns joined to the VM's NICs (host/net.h), NULL if none */
	struct husk_network *network; /* the NICs as the guest configures them at CREATE */
	struct husk_vmm_id vmm_id;    /* QEMU's and the vsock back-end's uid (host/vmm/vmm_uid.h) */
};

/* Sends EXEC on a fresh session (after HELLO) and waits for the reply:
 * the guest pid, or a negative code with the guest's message. */
int husk_guest_exec(int session_fd, const struct husk_process_spec *process, bool stdin_open, uint32_t ctr,
		    struct husk_err *err);
/* HELLO then CREATE of a's container in slot ctr (0: the VM's own) joining
 * join's namespaces, on a fresh session; the guest pid into *guest_pid,
 * the guest's kernel release into kernel. */
struct husk_ns_join;
int husk_guest_create(int session_fd, const struct husk_monitor_args *a, bool stdin_open,
		      const struct husk_network *network, uint32_t ctr, const struct husk_ns_join *join, char *kernel,
		      size_t kernel_cap, int *guest_pid, struct husk_err *err);

/* monitor_boot.c: the spec's network namespace path, checked
 * (husk_net_open), entered by the calling thread; nothing without a path.
 * Then the monitor's pid shows the container's netns, as runc's does. */
int husk_vm_enter_netns(struct husk_vm *vm, const struct husk_monitor_args *a, struct husk_err *err);
/* monitor_boot.c: start vsock backend, virtiofsd and QEMU, confine the
 * monitor, connect to husk-init (vm->session_fd); nothing sent yet. A
 * pool VM (a->spec without a rootfs, host/pool/pool_vm.c) stops here. On
 * failure everything started is stopped again. */
int husk_vm_start(struct husk_vm *vm, const struct husk_monitor_args *a, struct husk_err *err);
/* husk_vm_start, then HELLO and CREATE. */
int husk_vm_boot(struct husk_vm *vm, const struct husk_monitor_args *a, bool stdin_open, struct husk_err *err);
/* Stops whatever still runs: QEMU (after grace_ms), virtiofsd, backend. */
void husk_vm_stop(struct husk_vm *vm, int grace_ms);
/* monitor_vfs.c: moves the monitor into a private mount namespace and
 * builds the directory virtiofsd shares (rootfs and bind sources) in dir.
 * A spec without a rootfs (a pool VM) gets an empty tree: rootfs/ empty
 * and the slots ctr/0 .. ctr/15 empty, slot 0 for the adopting container. */
int husk_vfs_stage(const struct husk_monitor_args *a, char *dir, size_t cap, struct husk_err *err);
/* Last lines of console.log into out, for error messages (what the
 * console pipe holds is moved there first). */
void husk_vm_console_tail(struct husk_vm *vm, char *out, size_t cap);
/* Why a helper ("qemu" or "virtiofsd") went: ": <its last stderr line>"
 * then "; console: <tail>", each part only if there is one. */
#define HUSK_CHILD_REASON_MAX 600
void husk_vm_child_reason(struct husk_vm *vm, const char *prog, char *out, size_t cap);

#define CTL_CLIENTS_MAX 32
#define PENDING_MAX 64
#define SHUTDOWN_GRACE_MS 10000
#define KILL_GRACE_MS 5000 /* SIGKILL sent, no exit reported: the VM is killed */
/* The session ended before the container did: QEMU gets this long to exit
 * on its own (a QEMU going down closes its connections before it can be
 * reaped), so that its own reason is what the monitor reports. */
#define LOST_GRACE_MS 3000
#define OUT_HIGH (1u << 20) /* stop reading the guest above this much unwritten output */

struct monitor;

struct ctl_client {
	struct watch w; /* fd -1 once dropped; freed after the loop's round */
	struct monitor *m;
	bool subscribed; /* `events`: gets OOM notifications pushed */
	struct husk_frame_reader rd;
	uint8_t buf[HUSK_FRAME_HDR_SIZE + 4096];
};

/* A ctl request forwarded to the guest, until its reply. */
struct pending {
	uint32_t guest_id;
	struct ctl_client *client; /* NULL once the client went away */
	uint32_t client_id;
	uint16_t type; /* 0: a free slot */
};

struct monitor {
	const struct husk_monitor_args *a; /* NULL in an exec monitor */
	struct husk_vm vm;
	struct husk_state st; /* as state.json says it (container monitor) */
	/* the container as the monitor knows it: creating, created, running,
	 * paused; stopped once the guest reported the exit (or the host
	 * enforced a SIGKILL). An exec monitor's process is running. */
	enum husk_status status;
	bool exec_mode;     /* an exec monitor: one process, no VM of its own */
	bool member_mode;   /* a pod member's monitor (monitor_member.c): a container, no VM of its own */
	uint32_t slot;      /* member: its slot in the sandbox's VM */
	bool adopted;       /* member_mode for a VM taken from a pool: the container's own VM */
	int owner_fd;       /* adopted: the owner link to the pool VM's monitor (ADOPT), -1: none */
	bool shutting_down; /* SHUTDOWN sent or the VM being killed: requests are refused */
	bool kill_deadline; /* SIGKILL forwarded: the VM goes if the guest does not end it */
	bool lost_grace;    /* the session ended first: QEMU is killed after LOST_GRACE_MS */
	int epfd, sigfd, ctl_fd, timer_fd;
	struct watch session_w, sig_w, timer_w, ctl_w, stdin_w, out_w[3], console_w;
	struct husk_frame_reader rd;
	uint8_t *rbuf;
	struct byteq to_guest;
	struct relay_out out[3]; /* [1] stdout, [2] stderr */
	struct relay_in in;
	uint64_t stdin_unacked;
	struct ctl_client *clients[CTL_CLIENTS_MAX];
	struct pending pending[PENDING_MAX];
	uint32_t next_id;
	int console_slave; /* with --console-socket: the host side of the terminal */
	int winsize_fd;    /* the tty whose size the guest's terminal follows, or -1 */
	bool tty_raw;      /* the caller's terminal (fd 0) made raw: tty_saved restores it */
	struct termios tty_saved;
	struct timespec oom_reported; /* when OOM kills were last written and logged */
	int exit_status;
	/* what the monitor noticed first when the VM went before the
	 * container's process had exited (several events race to say it) */
	char vm_lost[HUSK_CHILD_REASON_MAX + 64];
	struct husk_hooks hooks;  /* config.json's; none in an exec monitor */
	struct mon_notify notify; /* sd_notify relay (monitor_notify.c); off unless create found a socket */
	int hook_fd;              /* the hook runner (monitor_hookrun.c), -1: none */
	pid_t hook_pid;
};

static inline bool mon_exited(const struct monitor *m)
{
	return m->status == HUSK_STATUS_STOPPED;
}

/* the session with husk-init ended (or was never there) */
static inline bool mon_session_gone(const struct monitor *m)
{
	return m->vm.session_fd < 0;
}

/* monitor_loop.c */
struct monitor *mon_init(const char *id, const char *state_dir, bool log_to_caller_file, const char *log_name);
int mon_setup_loop(struct monitor *m, struct husk_err *err);
/* Adds (add) or changes w in the loop's set; nothing for a closed fd. */
int mon_watch(struct monitor *m, struct watch *w, uint32_t events, bool add);
void mon_unwatch(struct monitor *m, struct watch *w);
void mon_run_loop(struct monitor *m);
/* The serial console's pipe, drained into console.log as it fills. */
void mon_watch_console(struct monitor *m);
void mon_note_vm_lost(struct monitor *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* monitor_session.c */
void mon_watch_session_and_stdio(struct monitor *m);
/* One frame from the guest (tests/fuzz/fuzz_monitor.c drives it without a
 * VM); a negative code: the guest broke the protocol, err says how. */
int mon_guest_frame(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload, struct husk_err *err);
int mon_session_send(struct monitor *m, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *p, size_t n);
void mon_session_lost(struct monitor *m);
bool mon_stdin_window_open(const struct monitor *m);
void mon_stdin_interest(struct monitor *m);
void mon_read_stdin(struct monitor *m);
void mon_forward_signal(struct monitor *m, int sig);
void mon_send_resize(struct monitor *m);
/* monitor_lifecycle.c: the caller's terminal as it was (if made raw) */
void mon_tty_restore(struct monitor *m);

/* monitor_ctl.c */
int mon_listen_ctl(struct monitor *m, struct husk_err *err);
void mon_ctl_sweep(struct monitor *m);
/* A guest reply to a forwarded request, checked against what was asked,
 * back to the client that asked; a malformed one, or one to a request
 * never sent, is a protocol violation (the client gets a one-line error). */
int mon_ctl_on_guest_reply(struct monitor *m, const struct husk_frame_hdr *h, const uint8_t *payload,
			   struct husk_err *err);
void mon_ctl_settle_pending(struct monitor *m);
void mon_ctl_notify(struct monitor *m, uint16_t type, const uint8_t *p, size_t n);

/* monitor_lifecycle.c */
void mon_write_state(struct monitor *m);
/* the monitor's view and state.json's (see monitor_lifecycle.c) */
void mon_set_status(struct monitor *m, enum husk_status to);
/* "OK" or "E<message>" to the caller waiting in create or exec */
void mon_report_ready(int fd, const char *msg);
int mon_fail_ready(int ready_fd, const struct husk_err *err);
bool mon_fd_is_dev_null(int fd);
/* state "creating" and the hooks parsed (m->a set; a member's pod fields
 * in m->st already) */
int mon_record_creating(struct monitor *m, struct husk_err *err);
/* the terminal for --console-socket (*master for the caller), or none */
int mon_terminal_setup(struct monitor *m, const struct husk_process_spec *p, const char *console_socket, int *master,
		       struct husk_err *err);
/* the relay between the caller's stdio (or the terminal) and the session */
int mon_attach_stdio(struct monitor *m, const struct husk_process_spec *p, const char *console_socket, int master,
		     bool stdin_open, struct husk_err *err);
/* Hooks of one kind, with the container's OCI state on stdin. */
int mon_run_hooks(struct monitor *m, enum husk_hook_kind kind, bool warn_only, struct husk_err *err);
/* The guest did what a START, PAUSE or RESUME asked: the new status. */
void mon_request_done(struct monitor *m, uint16_t request);

/* monitor_hookrun.c: hooks run by a helper forked before the monitor
 * confines itself (nothing is started when config.json has no hooks) */
int mon_hook_runner_start(struct monitor *m, struct husk_err *err);
int mon_hook_runner_call(struct monitor *m, enum husk_hook_kind kind, const char *doc, bool warn_only,
			 struct husk_err *err);
void mon_hook_runner_stop(struct monitor *m);

/* monitor_cgroup.c: the VM's host cgroup (linux.cgroupsPath) with limits
 * that cover the VM; the engines' metrics and block-IO weights act on it */
int mon_cgroups_join(struct monitor *m, struct husk_err *err);
int mon_cgroups_io(struct monitor *m, struct husk_err *err);
/* A pod member's monitor: its own linux.cgroupsPath, holding only itself. */
int mon_member_cgroup_join(struct monitor *m, struct husk_err *err);
void mon_cgroups_remove(struct monitor *m);

#endif
