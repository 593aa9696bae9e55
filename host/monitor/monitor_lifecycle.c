/* The lifecycle of a container monitor (create: state, terminal, VM,
 * hooks; then the loop; then the end) and of an exec monitor. Statuses
 * reach state.json only from here. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <jansson.h>

#include "proto/msg.h"
#include "host/monitor/console.h"
#include "host/monitor/monitor_confine.h"
#include "host/monitor/monitor_priv.h"
#include "host/state/log.h"

void mon_write_state(struct monitor *m)
{
	struct husk_err err = { 0 };
	if (m->a && husk_state_write(m->a->state_dir, &m->st, &err) < 0)
		log_error("writing state: %s", err.msg);
}

/* m->status is the monitor's own view; state.json says what the guest
 * confirmed, "stopped" only once the VM is down */
void mon_set_status(struct monitor *m, enum husk_status to)
{
	if (!mon_exited(m))
		m->status = to;
	m->st.status = to;
}

int mon_run_hooks(struct monitor *m, enum husk_hook_kind kind, bool warn_only, struct husk_err *err)
{
	if (!husk_hooks_any(&m->hooks, kind))
		return 0;
	json_t *j = husk_state_oci_json(&m->st);
	char *doc = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!doc)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = m->hook_fd >= 0 ? mon_hook_runner_call(m, kind, doc, warn_only, err)
				: husk_hooks_run(&m->hooks, kind, doc, warn_only, err);
	free(doc);
	return r;
}

void mon_request_done(struct monitor *m, uint16_t request)
{
	mon_set_status(m, request == HUSK_MSG_PAUSE ? HUSK_STATUS_PAUSED : HUSK_STATUS_RUNNING);
	mon_write_state(m);
	mon_stdin_interest(m);
	struct husk_err herr = { 0 };
	if (request == HUSK_MSG_START)
		mon_run_hooks(m, HUSK_HOOK_POSTSTART, true, &herr); /* failures only warn */
}

/* --- the caller's side --------------------------------------------------- */

void mon_report_ready(int fd, const char *msg)
{
	husk_log_tee_end();
	if (fd < 0)
		return;
	ssize_t w = write(fd, msg, strlen(msg));
	(void)w;
	close(fd);
}

int mon_fail_ready(int ready_fd, const struct husk_err *err)
{
	char msg[HUSK_ERR_MSG_MAX + 2];
	snprintf(msg, sizeof msg, "E%s", err->msg);
	mon_report_ready(ready_fd, msg);
	return 1;
}

bool mon_fd_is_dev_null(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return true; /* closed */
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* The terminal for --console-socket: a host pty whose slave becomes our
 * controlling terminal, so resizes of the caller's master reach us. */
int mon_terminal_setup(struct monitor *m, const struct husk_process_spec *p, const char *console_socket, int *master,
		       struct husk_err *err)
{
	*master = -1;
	if (!p->terminal || !console_socket) {
		/* only the CLI, not the monitor, takes terminal signals (it
		 * forwards them); but a monitor that relays the caller's own
		 * terminal stays in its (foreground) group to read it: that
		 * terminal is raw and sends no signals */
		if (!p->terminal || !isatty(0))
			setpgid(0, 0);
		return 0;
	}
	int r = husk_console_open(master, &m->console_slave, p->rows, p->cols, err);
	if (r == 0)
		r = husk_console_adopt(m->console_slave, err);
	if (r < 0)
		return r;
	m->winsize_fd = m->console_slave;
	/* the terminal is the process's stdio: let go of the caller's fds.
	 * containerd's shim reads create's and exec's output until EOF, so a
	 * monitor holding them would hang it (runc's init holds only the pty) */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
		close(null);
	}
	return 0;
}

/* A terminal without --console-socket: as runc, only the pty's output
 * reaches the caller (its stdout); a caller's own terminal is made raw and
 * its size is the pty's (over a consoleSize too, as runc resizes it). */
static void attach_own_terminal(struct monitor *m)
{
	m->out[2].fd = -1;
	if (!isatty(0))
		return;
	m->winsize_fd = 0;
	m->tty_raw = husk_console_raw(0, &m->tty_saved) == 0;
	mon_send_resize(m);
}

void mon_tty_restore(struct monitor *m)
{
	if (m->tty_raw)
		husk_console_restore(0, &m->tty_saved);
	m->tty_raw = false;
}

/* Hands the master to the caller and points the relay at our end. */
int mon_attach_stdio(struct monitor *m, const struct husk_process_spec *p, const char *console_socket, int master,
		     bool stdin_open, struct husk_err *err)
{
	m->rbuf = malloc(HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX);
	if (!m->rbuf)
		return husk_err_set(err, ENOMEM, "out of memory");
	husk_frame_reader_init(&m->rd, m->rbuf, HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX, HUSK_FRAME_MAX);
	fcntl(m->vm.session_fd, F_SETFL, O_NONBLOCK);
	if (m->console_slave >= 0) {
		int r = husk_console_send(console_socket, master, err);
		close(master);
		if (r < 0)
			return r;
		relay_out_open(&m->out[1], m->console_slave);
		relay_in_open(&m->in, m->console_slave);
		m->out[2].fd = -1;
	} else {
		relay_out_open(&m->out[1], 1);
		if (!p->terminal)
			relay_out_open(&m->out[2], 2);
		if (stdin_open)
			relay_in_open(&m->in, 0);
		if (p->terminal)
			attach_own_terminal(m);
	}
	return 0;
}

/* --- a container monitor ------------------------------------------------- */

/* A create that failed once the hooks are known: as runc (which destroys
 * the container), the poststop hooks run, with the state "stopped"; their
 * failures only warn. The VM is already stopped. */
static int fail_create(struct monitor *m, const struct husk_err *err)
{
	struct husk_err herr = { 0 };
	mon_tty_restore(m);
	mon_cgroups_remove(m);
	mon_set_status(m, HUSK_STATUS_STOPPED);
	mon_run_hooks(m, HUSK_HOOK_POSTSTOP, true, &herr);
	return mon_fail_ready(m->a->ready_fd, err);
}

/* State "creating" from the first moment, so that `state` answers and
 * `delete --force` finds this monitor to kill if the caller dies now;
 * then the hooks. */
int mon_record_creating(struct monitor *m, struct husk_err *err)
{
	const struct husk_monitor_args *a = m->a;
	snprintf(m->st.id, sizeof m->st.id, "%s", a->id);
	snprintf(m->st.bundle, sizeof m->st.bundle, "%s", a->spec->bundle);
	snprintf(m->st.rootfs, sizeof m->st.rootfs, "%s", a->spec->rootfs);
	m->status = m->st.status = HUSK_STATUS_CREATING;
	husk_time_now(m->st.created, sizeof m->st.created);
	husk_pid_ref_set(&m->st.monitor, getpid());
	int r = husk_state_write(a->state_dir, &m->st, err);
	if (r < 0)
		return r;
	if ((r = husk_hooks_parse(a->spec->json, &m->hooks, err)) < 0)
		return r;
	m->hooks.cwd = a->spec->bundle;
	m->hooks.rootfs = a->spec->rootfs;
	m->hooks.process_cwd = a->spec->process.cwd;
	/* hooks run in the host's mount namespace, not the private one below */
	husk_hooks_set_mntns(open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
	return 0;
}

/* Up to a booted VM; on failure nothing of the VM runs. */
static int boot(struct monitor *m, int *master, bool *stdin_open, struct husk_err *err)
{
	const struct husk_monitor_args *a = m->a;
	int r = mon_terminal_setup(m, &a->spec->process, a->console_socket, master, err);
	if (r < 0)
		return r;
	*stdin_open = m->console_slave >= 0 || !mon_fd_is_dev_null(0);
	if ((r = mon_hook_runner_start(m, err)) < 0)
		return r;
	/* the host socket first: an abstract NOTIFY_SOCKET is the host netns's */
	if (a->spec->notify_host && (r = mon_notify_open(&m->notify, a->spec->notify_host, err)) < 0)
		return r;
	/* from here on in the container's netns (the hook runner stays in
	 * the host's, as runc's hooks do); QEMU gets one of its own */
	if ((r = husk_vm_enter_netns(&m->vm, a, err)) < 0)
		return r;
	char vfs_dir[PATH_MAX];
	/* a mount namespace of the monitor's own, with what virtiofsd serves */
	if ((r = husk_vfs_stage(a, vfs_dir, sizeof vfs_dir, err)) < 0)
		return r;
	/* the VM's host cgroup (linux.cgroupsPath): its limits hold QEMU,
	 * virtiofsd and the back-end, and the engines' metrics (read from the
	 * monitor's cgroups) are the VM's usage */
	if ((r = mon_cgroups_join(m, err)) < 0 || (r = mon_setup_loop(m, err)) < 0 || (r = mon_listen_ctl(m, err)) < 0)
		return r;
	return husk_vm_boot(&m->vm, a, *stdin_open, err);
}

/* From a booted VM to a created container: stdio, state "created" with
 * the monitor as the container's pid, the runtime's hooks (the process
 * parked in the guest), confinement. */
static int finish_create(struct monitor *m, int master, bool stdin_open, struct husk_err *err)
{
	const struct husk_monitor_args *a = m->a;
	int r = mon_attach_stdio(m, &a->spec->process, a->console_socket, master, stdin_open, err);
	if (r < 0)
		return r;
	m->status = m->st.status = HUSK_STATUS_CREATED;
	husk_pid_ref_set(&m->st.qemu, m->vm.qemu_pid);
	husk_pid_ref_set(&m->st.virtiofsd, m->vm.virtiofsd_pid);
	husk_pid_ref_set(&m->st.vsock_backend, m->vm.vsock.backend_pid);
	husk_vsock_describe(&m->vm.vsock, &m->st.vsock);
	m->st.guest_pid = m->vm.guest_pid;
	m->st.vm_memory_mib = m->vm.memory_mib; /* what a pod's members must fit in */
	m->st.vm_vcpus = m->vm.vcpus;
	if ((r = mon_cgroups_io(m, err)) < 0)
		return r;
	json_t *ann = json_object_get(a->spec->json, "annotations");
	if (json_is_object(ann))
		m->st.annotations = json_incref(ann);
	if ((r = husk_state_write(a->state_dir, &m->st, err)) < 0)
		return r;
	if ((r = mon_run_hooks(m, HUSK_HOOK_PRESTART, false, err)) < 0 ||
	    (r = mon_run_hooks(m, HUSK_HOOK_CREATE_RUNTIME, false, err)) < 0 ||
	    (r = mon_run_hooks(m, HUSK_HOOK_CREATE_CONTAINER, false, err)) < 0)
		return r;
	return 0;
}

/* The VM down, its cgroups gone, state "stopped": the exit status. */
static int finish(struct monitor *m)
{
	/* one line for every path: which of QEMU's exit, virtiofsd's exit or
	 * the session's end the monitor sees first depends on timing */
	if (!mon_exited(m) && m->vm_lost[0])
		log_error("the VM stopped before the container exited: %s", m->vm_lost);
	mon_tty_restore(m);
	husk_vm_stop(&m->vm, SHUTDOWN_GRACE_MS);
	mon_cgroups_remove(m);
	int status = mon_exited(m) ? m->exit_status : 255;
	m->st.exited = true;
	m->st.exit_status = status;
	mon_set_status(m, HUSK_STATUS_STOPPED);
	mon_write_state(m);
	char sock[PATH_MAX];
	snprintf(sock, sizeof sock, "%s/ctl.sock", m->a->state_dir);
	unlink(sock);
	mon_hook_runner_stop(m);
	log_info("stopped with status %d", status);
	return status;
}

int husk_monitor_run(const struct husk_monitor_args *a)
{
	struct husk_err err = { 0 };
	int master = -1;
	bool stdin_open = false;

	prctl(PR_SET_NAME, "husk-monitor");
	struct monitor *m = mon_init(a->id, a->state_dir, a->log_to_caller_file, "monitor.log");
	m->a = a;
	if (mon_record_creating(m, &err) < 0)
		return mon_fail_ready(a->ready_fd, &err);
	if (boot(m, &master, &stdin_open, &err) < 0)
		return fail_create(m, &err);
	if (finish_create(m, master, stdin_open, &err) < 0) {
		husk_vm_stop(&m->vm, 0);
		return fail_create(m, &err);
	}
	mon_watch(m, &m->ctl_w, EPOLLIN, true);
	mon_watch_session_and_stdio(m);
	mon_watch_console(m);
	log_info("created: kernel %s, guest pid %d", m->vm.kernel_release, m->vm.guest_pid);
	mon_report_ready(a->ready_fd, "OK");

	mon_run_loop(m);
	return finish(m);
}

/* --- an exec monitor ----------------------------------------------------- */

int husk_exec_monitor_run(const struct husk_exec_monitor_args *a)
{
	struct husk_err err = { 0 };
	struct husk_vsock vsock;
	int master = -1;
	char log_name[64];

	prctl(PR_SET_NAME, "husk-exec");
	/* the exec monitor holds the connection to the guest, not the verb */
	if (husk_vsock_attach(&vsock, a->vsock, &err) < 0)
		return mon_fail_ready(a->ready_fd, &err);
	snprintf(log_name, sizeof log_name, "exec.%d.log", (int)getpid());
	struct monitor *m = mon_init(a->id, a->state_dir, a->log_to_caller_file, log_name);
	m->exec_mode = true;
	m->status = HUSK_STATUS_RUNNING; /* stdin flows as soon as the process runs */
	if (mon_terminal_setup(m, a->process, a->console_socket, &master, &err) < 0)
		return mon_fail_ready(a->ready_fd, &err);
	bool stdin_open = m->console_slave >= 0 || !mon_fd_is_dev_null(0);
	if (mon_setup_loop(m, &err) < 0 || husk_monitor_confine(&err) < 0)
		return mon_fail_ready(a->ready_fd, &err);
	m->vm.session_fd = husk_vsock_connect(&vsock, HUSK_GUEST_PORT, 10000, &err);
	if (m->vm.session_fd < 0)
		return mon_fail_ready(a->ready_fd, &err);
	int guest_pid = husk_guest_exec(m->vm.session_fd, a->process, stdin_open, a->ctr, &err);
	if (guest_pid < 0)
		return mon_fail_ready(a->ready_fd, &err);
	if (mon_attach_stdio(m, a->process, a->console_socket, master, stdin_open, &err) < 0)
		return mon_fail_ready(a->ready_fd, &err);
	mon_watch_session_and_stdio(m);
	log_debug("exec: guest pid %d", guest_pid);
	mon_report_ready(a->ready_fd, "OK");

	mon_run_loop(m);
	mon_tty_restore(m);

	int status = mon_exited(m) ? m->exit_status : 255;
	if (!mon_exited(m))
		log_error("the exec session ended before the process exited");
	if (!a->log_to_caller_file) {
		/* keep the state dir tidy: an exec's log matters only when it failed */
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", a->state_dir, log_name);
		if (mon_exited(m))
			unlink(path);
	}
	return status;
}
