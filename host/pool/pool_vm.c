/* A pool monitor: the child `husk pool serve` forks (no exec) for each
 * pooled VM. It boots the VM as a container's monitor does up to the
 * confinement, with an empty tree (host/monitor/monitor_vfs.c), checks
 * that husk-init answers, and tells the server READY. It never sends HELLO
 * or CREATE: the adopting container's monitor does (docs/design-pool.md).
 *   idle:    dies with the server (PR_SET_PDEATHSIG); the server closing
 *            the socketpair stops the VM
 *   taken:   the death signal cleared (then "A" to the server); ADOPT {id}
 *            on ctl.sock within a->adopt_wait_ms (30 s), else the VM is
 *            stopped and the exit status is HUSK_POOL_EXIT_UNADOPTED
 *   adopted: that ctl connection is the owner link: when it closes, QEMU
 *            gets 3 s to power off, then everything is stopped
 * QEMU exiting at any time ends it the same way. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "proto/msg.h"
#include "proto/msg_session.h"
#include "host/monitor/ctl.h"
#include "host/monitor/monitor_priv.h"
#include "host/net/net.h"
#include "host/pool/pool.h"
#include "host/state/log.h"
#include "host/state/unixsock.h"
#include "host/vmm/vmm_qemu.h"

#define OWNER_GONE_GRACE_MS 3000
#define CTL_READ_MS 1000

enum pool_vm_phase { PHASE_IDLE, PHASE_TAKEN, PHASE_ADOPTED };

struct pool_vm {
	const struct husk_pool_vm_args *a;
	struct husk_vm vm;
	enum pool_vm_phase phase;
	int ctl_fd, sig_fd, owner_fd;
	long adopt_deadline;
	bool unadopted;
	char owner[HUSK_MAX_ID + 1];
};

int husk_pool_spec_shape(const struct husk_config *cfg, const struct husk_spec *spec, struct husk_pool_shape *out,
			 struct husk_err *err)
{
	char params[HUSK_CONFIG_VALUE_MAX * 2], why[128];
	const char *accel = husk_config_get(cfg, CFG_ACCEL);
	memset(out, 0, sizeof *out);
	int r = husk_vm_size(cfg, spec, &out->memory_mib, &out->vcpus, err);
	if (r < 0 || (r = husk_vm_annotations(cfg, spec, &accel, params, sizeof params, err)) < 0)
		return r;
	if (strlen(params) >= sizeof out->kernel_params)
		return husk_err_set(err, E2BIG, "kernel_params over %zu bytes: the pool cannot describe its VMs",
				    sizeof out->kernel_params - 1);
	snprintf(out->accel, sizeof out->accel, "%s", husk_accel_resolve(accel, why, sizeof why));
	snprintf(out->kernel_params, sizeof out->kernel_params, "%s", params);
	return 0;
}

int husk_pool_shape_from_config(const struct husk_config *cfg, struct husk_pool_shape *out, struct husk_err *err)
{
	struct husk_spec spec = { .json = json_object() };
	if (!spec.json)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = husk_pool_spec_shape(cfg, &spec, out, err);
	json_decref(spec.json);
	return r;
}

static void send_msg(int fd, char kind, const char *text)
{
	char buf[HUSK_POOL_MSG_MAX];
	int n = snprintf(buf, sizeof buf, "%c%s", kind, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	while (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int report_ready(struct pool_vm *p, struct husk_err *err)
{
	struct husk_pool_vm out = { 0 };
	snprintf(out.dir, sizeof out.dir, "%s", p->a->dir);
	husk_pid_ref_set(&out.monitor, getpid());
	husk_pid_ref_set(&out.qemu, p->vm.qemu_pid);
	husk_pid_ref_set(&out.virtiofsd, p->vm.virtiofsd_pid);
	husk_pid_ref_set(&out.vsock_backend, p->vm.vsock.backend_pid);
	husk_vsock_describe(&p->vm.vsock, &out.vsock);
	out.memory_mib = p->vm.memory_mib;
	out.vcpus = p->vm.vcpus;
	for (unsigned i = 0; i < p->vm.net->n_taps && i < HUSK_POOL_NICS_MAX; i++) {
		const struct husk_net_tap *t = &p->vm.net->taps[i];
		snprintf(out.nics[i].tap, sizeof out.nics[i].tap, "%s", t->name);
		out.nics[i].ifindex = t->ifindex;
		memcpy(out.nics[i].dev_mac, t->dev_mac, 6);
		out.n_nics = i + 1;
	}
	json_t *j = husk_pool_vm_json(&out);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text)
		return husk_err_set(err, ENOMEM, "out of memory");
	send_msg(p->a->server_fd, 'R', text);
	free(text);
	return 0;
}

/* The VM's NICs: HUSK_POOL_NICS taps in a network namespace of the pool
 * monitor's own (QEMU and its helpers inherit it), which the adopting
 * `husk create` moves into the container's (host/net/net.h). Spares
 * until then: the guest parks them out of sight. */
static int make_nics(struct husk_vm *vm, struct husk_err *err)
{
	if (unshare(CLONE_NEWNET) < 0)
		return husk_err_sys(err, errno, "a network namespace for the pool VM");
	vm->net = calloc(1, sizeof *vm->net);
	vm->network = calloc(1, sizeof *vm->network); /* no interface yet: set at CREATE */
	if (!vm->net || !vm->network)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = husk_net_pool_taps(vm->net, HUSK_POOL_NICS, err);
	if (r < 0) {
		free(vm->net);
		vm->net = NULL;
	}
	return r;
}

/* Up to a guest that answers on its port, confined; the session closed
 * again without a word (husk-init powers off only for a CREATEd one). */
static int boot(struct pool_vm *p, struct husk_spec *spec, struct husk_err *err)
{
	char id[32], vfs[PATH_MAX], sock[PATH_MAX];
	snprintf(id, sizeof id, "pool-%u", p->a->index);
	struct husk_monitor_args ma = { .id = id, .state_dir = p->a->dir, .spec = spec, .cfg = p->a->cfg };
	int r = husk_vfs_stage(&ma, vfs, sizeof vfs, err);
	if (r < 0)
		return r;
	snprintf(sock, sizeof sock, "%s/ctl.sock", p->a->dir);
	if ((p->ctl_fd = husk_unix_listen(sock, 4, err)) < 0)
		return p->ctl_fd;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if ((p->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return husk_err_sys(err, errno, "signalfd");
	if ((r = make_nics(&p->vm, err)) < 0 || (r = husk_vm_start(&p->vm, &ma, err)) < 0)
		return r;
	close(p->vm.session_fd);
	p->vm.session_fd = -1;
	log_info("pool VM %u up: qemu pid %d, %ld MiB, %d vCPUs", p->a->index, p->vm.qemu_pid, p->vm.memory_mib,
		 p->vm.vcpus);
	return report_ready(p, err);
}

/* ctl.sock: one request; ADOPT is taken once, after "taken" */
static void on_ctl_client(struct pool_vm *p, int fd)
{
	static uint8_t arena_buf[4096];
	uint8_t buf[HUSK_FRAME_HDR_SIZE + 1024];
	struct husk_frame_hdr h;
	const uint8_t *payload;
	struct husk_err err = { 0 };
	struct husk_arena arena;
	const struct husk_cbor_item *root;
	struct husk_adopt_msg m;
	int r = husk_frame_read_one(fd, buf, sizeof buf, CTL_READ_MS, &h, &payload, &err);
	if (r < 0) {
		close(fd);
		return;
	}
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	if (h.type != HUSK_MSG_ADOPT)
		r = husk_err_set(&err, ENOTSUP, "a pool VM answers ADOPT only, not %s", husk_msg_type_name(h.type));
	else if (p->phase != PHASE_TAKEN)
		r = husk_err_set(&err, EPERM, "pool VM %u is %s", p->a->index,
				 p->phase == PHASE_IDLE ? "not taken from the pool" : "adopted already");
	else if (husk_msg_parse(payload, h.len, &arena, &root, &err) == 0 &&
		 husk_msg_decode_adopt(root, &arena, &m, &err) == 0)
		r = 0;
	else
		r = -EINVAL;
	uint8_t out[HUSK_MAX_ERROR_MESSAGE + 64];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, out, sizeof out);
	if (r < 0)
		husk_msg_encode_error(&e, err.code, err.msg);
	else
		husk_msg_encode_empty(&e);
	struct husk_err werr = { 0 };
	if (husk_frame_write_all(fd, r < 0 ? HUSK_MSG_ERROR : HUSK_MSG_OK, HUSK_FLAG_REPLY, h.id, e.buf, e.len, &werr) <
		    0 ||
	    r < 0) {
		close(fd);
		return;
	}
	snprintf(p->owner, sizeof p->owner, "%s", m.id);
	p->owner_fd = fd;
	p->phase = PHASE_ADOPTED;
	log_info("pool VM %u adopted by container %s", p->a->index, p->owner);
}

/* The VM's children; true when QEMU is gone (the VM is over). */
static bool reap(struct pool_vm *p)
{
	struct signalfd_siginfo si;
	bool over = false;
	while (read(p->sig_fd, &si, sizeof si) == sizeof si)
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			over = true;
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		if (pid == p->vm.qemu_pid) {
			char why[HUSK_CHILD_REASON_MAX];
			p->vm.qemu_pid = 0;
			husk_vm_child_reason(&p->vm, "qemu", why, sizeof why);
			log_info("qemu exited (status %d)%s",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), why);
			over = true;
		} else if (pid == p->vm.virtiofsd_pid) {
			p->vm.virtiofsd_pid = 0;
			log_error("virtiofsd exited; stopping the VM");
			over = true;
		} else if (pid == p->vm.vsock.backend_pid) {
			p->vm.vsock.backend_pid = 0;
			over = true;
		}
	}
	return over;
}

/* The loop; returns the grace QEMU gets when it ends. */
static int serve(struct pool_vm *p)
{
	for (;;) {
		struct pollfd f[4] = {
			{ .fd = p->sig_fd, .events = POLLIN },
			{ .fd = p->ctl_fd, .events = POLLIN },
			{ .fd = p->phase == PHASE_IDLE ? p->a->server_fd : -1, .events = POLLIN },
			{ .fd = p->owner_fd, .events = POLLIN },
		};
		int timeout = -1;
		if (p->phase == PHASE_TAKEN) {
			long left = p->adopt_deadline - husk_now_ms();
			if (left <= 0) {
				log_error("pool VM %u: taken but not adopted within %ld ms; stopping it", p->a->index,
					  p->a->adopt_wait_ms);
				p->unadopted = true;
				return 0;
			}
			timeout = (int)left;
		}
		if (poll(f, 4, timeout) < 0 && errno != EINTR)
			return 0;
		if (f[0].revents && reap(p))
			return 0;
		if (f[1].revents & POLLIN) {
			int c = accept4(p->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				on_ctl_client(p, c);
		}
		if (f[2].revents) {
			char msg[16];
			ssize_t n = recv(p->a->server_fd, msg, sizeof msg, MSG_DONTWAIT);
			if (n > 0 && msg[0] == 'T') {
				/* the VM outlives the pool from now on; the server
				 * replies to TAKE once it hears so */
				prctl(PR_SET_PDEATHSIG, 0);
				send_msg(p->a->server_fd, 'A', "");
				p->phase = PHASE_TAKEN;
				p->adopt_deadline = husk_now_ms() + p->a->adopt_wait_ms;
				log_info("pool VM %u taken; waiting for ADOPT", p->a->index);
			} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				log_info("pool VM %u: the server let it go; stopping it", p->a->index);
				return 0;
			}
		}
		if (f[3].revents) {
			char drain[256];
			ssize_t n = read(p->owner_fd, drain, sizeof drain);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				log_info("pool VM %u: container %s's monitor is gone; stopping the VM", p->a->index,
					 p->owner);
				return OWNER_GONE_GRACE_MS;
			}
		}
	}
}

int husk_pool_vm_run(const struct husk_pool_vm_args *a)
{
	struct husk_err err = { 0 };
	static struct pool_vm p;
	p = (struct pool_vm){ .a = a, .ctl_fd = -1, .sig_fd = -1, .owner_fd = -1 };
	p.vm.console = (struct husk_console_log){ .rfd = -1, .file = -1 };
	p.vm.session_fd = -1;
	p.vm.vmm_id.lock_fd = -1;
	/* dies with the server until taken; the server may be gone already */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != a->server_pid)
		return 1;
	char log_path[PATH_MAX], id[32];
	snprintf(log_path, sizeof log_path, "%s/monitor.log", a->dir);
	husk_log_to_file(log_path);
	snprintf(id, sizeof id, "pool-%u", a->index);
	husk_log_set_id(id);
	struct husk_spec spec = { .json = json_object() }; /* no container: no rootfs, no annotations */
	int r = spec.json ? boot(&p, &spec, &err) : husk_err_set(&err, ENOMEM, "out of memory");
	if (r < 0) {
		log_error("pool VM %u: %s", a->index, err.msg);
		send_msg(a->server_fd, 'E', err.msg);
		husk_vm_stop(&p.vm, 0);
		return 1;
	}
	int grace = serve(&p);
	husk_vm_stop(&p.vm, grace);
	log_info("pool VM %u stopped", a->index);
	return p.unadopted ? HUSK_POOL_EXIT_UNADOPTED : 0;
}
