/* The monitor's event loop: one struct watch per fd (common/watch.h), the
 * signals (forwarded to the container, SIGCHLD for the VM's children) and
 * the timer that ends a VM which does not. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/monitor/monitor_priv.h"
#include "host/state/log.h"

int mon_watch(struct monitor *m, struct watch *w, uint32_t events, bool add)
{
	if (w->fd < 0)
		return 0;
	return add ? watch_add(m->epfd, w, events) : watch_mod(m->epfd, w, events);
}

void mon_unwatch(struct monitor *m, struct watch *w)
{
	if (w->fd >= 0)
		watch_del(m->epfd, w);
}

void mon_note_vm_lost(struct monitor *m, const char *fmt, ...)
{
	if (m->vm_lost[0] || mon_exited(m))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->vm_lost, sizeof m->vm_lost, fmt, ap);
	va_end(ap);
}

/* --- the VM's children ------------------------------------------------- */

static void on_qemu_exit(struct monitor *m, int status)
{
	m->vm.qemu_pid = 0;
	if (mon_exited(m) || m->vm_lost[0])
		return; /* or the monitor killed it, and said why */
	char why[HUSK_CHILD_REASON_MAX];
	husk_vm_child_reason(&m->vm, "qemu", why, sizeof why);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	log_error("qemu exited before the container did (status %d)%s", code, why);
	mon_note_vm_lost(m, "qemu exited (status %d)%s", code, why);
}

static void on_virtiofsd_exit(struct monitor *m)
{
	m->vm.virtiofsd_pid = 0;
	if (m->shutting_down || m->vm.qemu_pid <= 0)
		return;
	/* the container's files are gone: it cannot go on */
	char why[HUSK_CHILD_REASON_MAX];
	husk_vm_child_reason(&m->vm, "virtiofsd", why, sizeof why);
	log_error("virtiofsd exited unexpectedly; stopping the VM%s", why);
	mon_note_vm_lost(m, "virtiofsd exited%s", why);
	m->shutting_down = true;
	kill(m->vm.qemu_pid, SIGKILL);
}

static void reap_children(struct monitor *m)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		if (pid == m->vm.qemu_pid)
			on_qemu_exit(m, status);
		else if (pid == m->vm.virtiofsd_pid)
			on_virtiofsd_exit(m);
		else if (pid == m->vm.vsock.backend_pid)
			m->vm.vsock.backend_pid = 0;
	}
}

static void on_signal(struct watch *w, uint32_t events)
{
	struct monitor *m = container_of(w, struct monitor, sig_w);
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			if (m->winsize_fd >= 0)
				mon_send_resize(m);
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			mon_forward_signal(m, (int)si.ssi_signo);
			continue;
		}
		reap_children(m);
	}
}

/* The deadline after SIGKILL, after SHUTDOWN, or after the session ended
 * first (LOST_GRACE_MS): the VM is killed. */
static void on_timer(struct watch *w, uint32_t events)
{
	struct monitor *m = container_of(w, struct monitor, timer_w);
	uint64_t ticks;
	if (read(m->timer_fd, &ticks, sizeof ticks) < 0)
		return;
	if (!mon_exited(m) && m->lost_grace && !m->kill_deadline) {
		log_error("the guest session ended before the container exited; killing the VM");
		mon_note_vm_lost(m, "the guest session ended");
	} else if (!mon_exited(m) && m->kill_deadline && m->member_mode) {
		/* the VM is the sandbox's: the session goes instead, and the
		 * guest kills what is left of the member's cgroup */
		log_warn("the guest did not end the container within %d s of SIGKILL; closing its session",
			 KILL_GRACE_MS / 1000);
		m->status = HUSK_STATUS_STOPPED;
		m->exit_status = 128 + SIGKILL;
		m->shutting_down = true;
		mon_session_lost(m);
	} else if (!mon_exited(m) && m->kill_deadline) {
		log_warn("the guest did not end the container within %d s of SIGKILL; killing the VM",
			 KILL_GRACE_MS / 1000);
		m->status = HUSK_STATUS_STOPPED;
		m->exit_status = 128 + SIGKILL;
		m->shutting_down = true;
		mon_ctl_settle_pending(m);
	} else {
		log_warn("the VM did not power off in time; killing qemu");
	}
	if (m->vm.qemu_pid > 0)
		kill(m->vm.qemu_pid, SIGKILL);
}

/* The serial console: QEMU never blocks on it (a full pipe drops bytes),
 * and a loop round takes a bounded share of it. */
static void on_console(struct watch *w, uint32_t events)
{
	struct monitor *m = container_of(w, struct monitor, console_w);
	if (m->vm.console.rfd < 0) {
		m->console_w.fd = -1; /* husk_vm_stop() closed it: epoll dropped it then */
		return;
	}
	ssize_t n = husk_console_log_drain(&m->vm.console, 256 * 1024);
	if (n >= 0 && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	if (n > 0)
		return; /* the hang-up again next round, once the pipe is empty */
	mon_unwatch(m, &m->console_w);
	m->console_w.fd = -1;
	husk_console_log_close(&m->vm.console);
}

void mon_watch_console(struct monitor *m)
{
	m->console_w = (struct watch){ .fd = m->vm.console.rfd, .on_event = on_console };
	mon_watch(m, &m->console_w, EPOLLIN, true);
}

/* --- set-up and the loop ----------------------------------------------- */

struct monitor *mon_init(const char *id, const char *state_dir, bool log_to_caller_file, const char *log_name)
{
	static struct monitor mon;
	struct monitor *m = &mon;
	memset(m, 0, sizeof *m);
	m->next_id = 2;
	m->ctl_fd = m->in.fd = m->out[1].fd = m->out[2].fd = m->console_slave = m->winsize_fd = -1;
	m->vm.console = (struct husk_console_log){ .rfd = -1, .file = -1 };
	m->console_w.fd = -1;
	m->vm.session_fd = m->hook_fd = m->owner_fd = -1;
	m->vm.vmm_id.lock_fd = -1;
	m->session_w.fd = m->sig_w.fd = m->timer_w.fd = m->ctl_w.fd = m->stdin_w.fd = -1;
	for (int s = 0; s < 3; s++)
		m->out_w[s].fd = -1;
	if (!log_to_caller_file) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%s", state_dir, log_name);
		husk_log_to_file(path);
	}
	husk_log_set_id(id);
	return m;
}

int mon_setup_loop(struct monitor *m, struct husk_err *err)
{
	sigset_t set;
	sigfillset(&set);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGABRT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGPIPE);
	sigdelset(&set, SIGTTIN);
	sigdelset(&set, SIGTTOU);
	sigdelset(&set, SIGTSTP);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->sigfd < 0 || m->epfd < 0 || m->timer_fd < 0)
		return husk_err_sys(err, errno, "setting up the event loop");
	m->sig_w = (struct watch){ .fd = m->sigfd, .on_event = on_signal };
	m->timer_w = (struct watch){ .fd = m->timer_fd, .on_event = on_timer };
	mon_watch(m, &m->sig_w, EPOLLIN, true);
	mon_watch(m, &m->timer_w, EPOLLIN, true);
	return 0;
}

/* what the guest sent has been written (or its reader went away) */
static bool output_written(const struct monitor *m)
{
	for (int s = 1; s <= 2; s++)
		if (m->out[s].fd >= 0 && byteq_pending(&m->out[s].q) > 0)
			return false;
	return true;
}

static bool loop_done(const struct monitor *m)
{
	bool vm_done = m->vm.qemu_pid <= 0;
	bool out_done = m->out[1].fd < 0 && m->out[2].fd < 0;
	/* with the session gone nothing more can arrive: what did still goes
	 * to a slow reader before the monitor ends */
	bool gone_and_written = mon_session_gone(m) && output_written(m);
	if (m->exec_mode || m->member_mode)
		return gone_and_written || (mon_exited(m) && out_done);
	if (!vm_done && (!mon_session_gone(m) || m->lost_grace))
		return false;
	return out_done || gone_and_written;
}

/* The guest session is gone and nobody asked for it. With the container
 * still running, that is the VM going: QEMU, if it is the one going, has
 * closed its connections and may not be reaped yet (a reason seen first
 * must not hide its exit status): it has LOST_GRACE_MS to exit on its own
 * before the timer kills it. */
static void session_ended(struct monitor *m)
{
	m->shutting_down = true;
	if (m->vm.qemu_pid <= 0)
		return;
	if (mon_exited(m)) {
		kill(m->vm.qemu_pid, SIGKILL);
		return;
	}
	m->lost_grace = true;
	if (!m->kill_deadline) {
		struct itimerspec its = { .it_value = { .tv_sec = LOST_GRACE_MS / 1000,
							.tv_nsec = LOST_GRACE_MS % 1000 * 1000000L } };
		timerfd_settime(m->timer_fd, 0, &its, NULL);
	}
}

void mon_run_loop(struct monitor *m)
{
	while (!loop_done(m)) {
		/* a file as stdin cannot be polled: read it whenever the window allows */
		bool poll_stdin = m->in.unpollable && mon_stdin_window_open(m);
		int n = watch_dispatch(m->epfd, poll_stdin ? 0 : -1);
		if (poll_stdin)
			mon_read_stdin(m);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			log_error("epoll_wait: %s", strerror(-n));
			return;
		}
		mon_ctl_sweep(m);
		if (mon_session_gone(m) && !m->shutting_down && !m->exec_mode)
			session_ended(m);
	}
}
