#include "host/vsock/vsock.h"

#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "host/state/log.h"
#include "host/vmm/spawn.h"
#include "host/state/state.h"
#include "host/state/unixsock.h"
#include "host/vsock/vsock_confine.h"
#include "host/vsock/vsock_user.h"

bool husk_vhost_vsock_usable(void)
{
	struct stat st;
	if (stat("/dev/vhost-vsock", &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Claims a guest CID no other VM on this host uses: the kernel refuses a
 * CID in use with EADDRINUSE. */
static int vhost_claim_cid(struct husk_vsock *v, struct husk_err *err)
{
	int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening /dev/vhost-vsock");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint32_t start = 3 + (uint32_t)((ts.tv_nsec ^ (getpid() * 2654435761u)) % 0x7ffffff0u);
	for (uint32_t i = 0; i < 4096; i++) {
		uint64_t cid = 3 + ((start - 3 + i) % 0x7ffffff0u);
		if (ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid) == 0) {
			v->vhost_fd = fd;
			v->cid = (uint32_t)cid;
			return 0;
		}
		if (errno != EADDRINUSE) {
			int e = errno;
			close(fd);
			return husk_err_sys(err, e, "claiming guest CID %llu", (unsigned long long)cid);
		}
	}
	close(fd);
	return husk_err_set(err, EADDRINUSE, "no free vsock guest CID found");
}

int husk_vsock_prepare(struct husk_vsock *v, const char *mode, const char *dir, struct husk_err *err)
{
	memset(v, 0, sizeof *v);
	v->vhost_fd = v->vu_listen_fd = v->hybrid_listen_fd = -1;
	bool vhost = strcmp(mode, "vhost") == 0 || (strcmp(mode, "auto") == 0 && husk_vhost_vsock_usable());
	if (vhost) {
		v->kind = HUSK_VSOCK_VHOST;
		return vhost_claim_cid(v, err);
	}
	v->kind = HUSK_VSOCK_VHOST_USER;
	v->cid = 3; /* private to this VM: no host-wide CID space is involved */
	snprintf(v->vu_path, sizeof v->vu_path, "%s/vsock.vu.sock", dir);
	snprintf(v->hybrid_path, sizeof v->hybrid_path, "%s/vsock.sock", dir);
	v->vu_listen_fd = husk_unix_listen(v->vu_path, 64, err);
	if (v->vu_listen_fd < 0)
		return v->vu_listen_fd;
	v->hybrid_listen_fd = husk_unix_listen(v->hybrid_path, 64, err);
	if (v->hybrid_listen_fd < 0)
		return v->hybrid_listen_fd;
	return 0;
}

int husk_vsock_start(struct husk_vsock *v, uid_t uid, gid_t gid, struct husk_err *err)
{
	if (v->kind != HUSK_VSOCK_VHOST_USER)
		return 0;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return husk_err_sys(err, errno, "fork for the vsock backend");
	if (pid == 0) {
		struct husk_err cerr = { 0 };
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		prctl(PR_SET_NAME, "husk-vsock");
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int keep[] = { v->vu_listen_fd, v->hybrid_listen_fd, husk_log_fd() };
		husk_close_fds_except(keep, 3);
		int devnull = open("/dev/null", O_RDWR);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(husk_log_fd() > 2 ? husk_log_fd() : devnull, 2);
		}
		/* confined before it reads a byte of QEMU's or the guest's */
		int r = husk_vsock_confine(uid, gid, parent, &cerr);
		if (r == 0)
			r = husk_vuvsock_serve(v->vu_listen_fd, v->hybrid_listen_fd, v->hybrid_path, v->cid, &cerr);
		if (r < 0) {
			log_error("vsock backend: %s", cerr.msg);
			_exit(1);
		}
		_exit(0);
	}
	v->backend_pid = pid;
	/* QEMU connects to vu_path; the monitor keeps no copy of the listeners */
	close(v->vu_listen_fd);
	v->vu_listen_fd = -1;
	close(v->hybrid_listen_fd);
	v->hybrid_listen_fd = -1;
	return 0;
}

static int vhost_connect_once(uint32_t cid, uint32_t port, struct husk_err *err)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "AF_VSOCK socket");
	struct sockaddr_vm addr = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int e = errno;
		close(fd);
		if (e == ECONNRESET || e == ECONNREFUSED || e == ETIMEDOUT || e == ENODEV)
			return -ECONNREFUSED;
		return husk_err_sys(err, e, "vsock connect to %u:%u", cid, port);
	}
	return fd;
}

int husk_vsock_connect(const struct husk_vsock *v, uint32_t port, int timeout_ms, struct husk_err *err)
{
	long deadline = husk_now_ms() + timeout_ms;
	/* a refused attempt costs the guest one REQUEST/RST: retry often, so
	 * that a guest which starts listening is reached within a few ms (a
	 * backoff to 100 ms cost a cold start 50 ms on average) */
	int delay_ms = 2;
	for (;;) {
		struct husk_err once = { 0 };
		long left = deadline - husk_now_ms();
		int fd;
		if (v->kind == HUSK_VSOCK_VHOST)
			fd = vhost_connect_once(v->cid, port, &once);
		else
			fd = husk_hybrid_connect(v->hybrid_path, port, left > 5000 ? 5000 : (int)(left > 0 ? left : 1),
						 &once);
		if (fd >= 0)
			return fd;
		if (fd != -ECONNREFUSED && fd != -ENOENT && fd != -ECONNRESET && fd != -ETIMEDOUT && fd != -EPIPE) {
			husk_err_set(err, once.code, "%s", once.msg);
			return husk_err_wrap(err, "connecting to the guest");
		}
		if (husk_now_ms() >= deadline)
			return husk_err_set(err, ETIMEDOUT, "the guest did not accept on vsock port %u within %d ms",
					    port, timeout_ms);
		usleep((useconds_t)delay_ms * 1000);
		if (delay_ms < 10)
			delay_ms *= 2;
	}
}

void husk_vsock_describe(const struct husk_vsock *v, struct husk_vsock_ref *ref)
{
	memset(ref, 0, sizeof *ref);
	snprintf(ref->kind, sizeof ref->kind, "%s", v->kind == HUSK_VSOCK_VHOST ? "vhost" : "vhost-user");
	if (v->kind == HUSK_VSOCK_VHOST_USER)
		snprintf(ref->path, sizeof ref->path, "%s", v->hybrid_path);
	ref->cid = v->cid;
}

int husk_vsock_attach(struct husk_vsock *v, const struct husk_vsock_ref *ref, struct husk_err *err)
{
	memset(v, 0, sizeof *v);
	v->vhost_fd = v->vu_listen_fd = v->hybrid_listen_fd = -1;
	if (!strcmp(ref->kind, "vhost")) {
		v->kind = HUSK_VSOCK_VHOST;
		v->cid = ref->cid;
		return v->cid >= 3 ? 0 : husk_err_set(err, EINVAL, "state.json names no guest CID");
	}
	if (!strcmp(ref->kind, "vhost-user") && ref->path[0] == '/') {
		v->kind = HUSK_VSOCK_VHOST_USER;
		snprintf(v->hybrid_path, sizeof v->hybrid_path, "%s", ref->path);
		return 0;
	}
	return husk_err_set(err, EINVAL, "state.json does not say how to reach the guest");
}

void husk_vsock_close(struct husk_vsock *v)
{
	if (v->vhost_fd >= 0)
		close(v->vhost_fd);
	if (v->vu_listen_fd >= 0)
		close(v->vu_listen_fd);
	if (v->hybrid_listen_fd >= 0)
		close(v->hybrid_listen_fd);
	v->vhost_fd = v->vu_listen_fd = v->hybrid_listen_fd = -1;
	if (v->backend_pid > 0) {
		kill(v->backend_pid, SIGKILL);
		waitpid(v->backend_pid, NULL, 0);
		v->backend_pid = 0;
	}
}
