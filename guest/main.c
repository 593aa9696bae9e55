/* husk-init: PID 1 of a husk VM.
 *
 * Phases (tini's shape): mount the boot filesystems, block signals and read
 * them through a signalfd, listen on vsock, then one epoll loop serving host
 * sessions, relaying stdio and reaping children. PID 1 never exits: a fatal
 * error is logged and the VM powered off. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "guest/guest.h"

static int epoll_fd = -1;
static struct watch signal_w = { .fd = -1 };
static struct watch listen_w = { .fd = -1 };

int loop_add(struct watch *w, uint32_t events, struct husk_err *err)
{
	int r = watch_add(epoll_fd, w, events);
	return r < 0 ? husk_err_sys(err, -r, "epoll add of fd %d", w->fd) : 0;
}

void loop_set(struct watch *w, uint32_t events)
{
	int r = w->fd >= 0 ? watch_mod(epoll_fd, w, events) : 0;
	if (r < 0)
		GLOG_ERR("epoll mod of fd %d: %s", w->fd, strerror(-r));
}

void loop_del(struct watch *w)
{
	if (w->fd < 0)
		return;
	watch_del(epoll_fd, w);
	close(w->fd);
	w->fd = -1;
}

void guest_poweroff(const char *why)
{
	GLOG_INFO("powering off: %s", why);
	sync();
	/* with reboot=t on the command line and -no-reboot, QEMU exits */
	for (;;) {
		reboot(RB_AUTOBOOT);
		sleep(1);
	}
}

/* pivot_root() refuses to leave the initramfs (rootfs), so PID 1 first
 * moves itself onto a tmpfs root, switch_root style, and execs itself
 * again. Containers then pivot_root normally. */
static int leave_initramfs(struct husk_err *err)
{
	static const char *const dirs[] = { "/newroot/dev", "/newroot/proc", "/newroot/sys", "/newroot/run",
					    "/newroot/tmp" };
	if (getenv("HUSK_INIT_SWITCHED"))
		return 0;
	if (mkdir("/newroot", 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "mkdir /newroot");
	if (mount("tmpfs", "/newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return husk_err_sys(err, errno, "mounting the root tmpfs");
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (mkdir(dirs[i], 0755) < 0)
			return husk_err_sys(err, errno, "mkdir %s", dirs[i]);
	int in = open("/init", O_RDONLY | O_CLOEXEC);
	int out = open("/newroot/init", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return husk_err_sys(err, errno, "copying /init");
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			return husk_err_sys(err, errno, "copying /init");
	close(in);
	if (n < 0 || close(out) < 0)
		return husk_err_sys(err, errno, "copying /init");
	unlink("/init");
	if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return husk_err_sys(err, errno, "switching to the tmpfs root");
	char *const argv[] = { "/init", NULL };
	char *const envp[] = { "HUSK_INIT_SWITCHED=1", NULL };
	execve("/init", argv, envp);
	return husk_err_sys(err, errno, "re-executing /init");
}

static void open_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int setup_signals(struct husk_err *err)
{
	sigset_t all;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, NULL) < 0)
		return husk_err_sys(err, errno, "blocking signals");
	signal_w.fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	if (signal_w.fd < 0)
		return husk_err_sys(err, errno, "signalfd");
	return loop_add(&signal_w, EPOLLIN, err);
}

static int setup_vsock(struct husk_err *err)
{
	int listen_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return husk_err_sys(err, errno, "vsock socket");
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = HUSK_GUEST_PORT };
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_err_sys(err, errno, "vsock bind to port %u", HUSK_GUEST_PORT);
	if (listen(listen_fd, 16) < 0)
		return husk_err_sys(err, errno, "vsock listen");
	listen_w.fd = listen_fd;
	return loop_add(&listen_w, EPOLLIN, err);
}

static void reap_children(void)
{
	for (;;) {
		int wstatus;
		pid_t pid = waitpid(-1, &wstatus, WNOHANG);
		if (pid <= 0)
			return;
		proc_reaped(pid, wstatus);
	}
}

static void on_signal(struct watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap_children();
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			guest_poweroff("signal from the kernel");
	}
	/* SIGCHLDs coalesce: reap whatever is there anyway */
	reap_children();
}

static void on_listen(struct watch *w, uint32_t events)
{
	conn_accept(w->fd);
}

int main(void)
{
	struct husk_err err = { 0 };

	if (getpid() != 1) {
		fprintf(stderr, "husk-init: must run as PID 1 of a husk VM\n");
		return 1;
	}
	if (leave_initramfs(&err) < 0) {
		open_console();
		GLOG_ERR("%s", err.msg);
		guest_poweroff("boot failed");
	}
	if (mount_boot_filesystems(&err) < 0) {
		open_console();
		GLOG_ERR("%s", err.msg);
		guest_poweroff("boot failed");
	}
	open_console();
	if (cgroup_enable_controllers(&err) < 0) {
		/* containers still run, only without resource control */
		GLOG_ERR("%s", err.msg);
		husk_err_clear(&err);
	}
	if (net_boot(&err) < 0) {
		/* the container runs, without the network it was given */
		GLOG_ERR("network: %s", err.msg);
		husk_err_clear(&err);
	}
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0) {
		GLOG_ERR("epoll_create1: %m");
		guest_poweroff("boot failed");
	}
	signal_w.on_event = on_signal;
	listen_w.on_event = on_listen;
	if (setup_signals(&err) < 0 || setup_vsock(&err) < 0) {
		GLOG_ERR("%s", err.msg);
		guest_poweroff("boot failed");
	}
	GLOG_INFO("ready on vsock port %u", HUSK_GUEST_PORT);

	for (;;) {
		int n = watch_dispatch(epoll_fd, -1);
		if (n < 0 && n != -EINTR) {
			GLOG_ERR("epoll_wait: %s", strerror(-n));
			guest_poweroff("event loop failed");
		}
		/* sessions and processes are freed only here, so no event of
		 * the batch can point at freed memory */
		conn_collect();
		container_collect();
		proc_collect();
	}
}
