/* Bringing a container's VM up: vsock backend, virtiofsd, QEMU, then the
 * session with husk-init (HELLO, CREATE). */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/escape.h"
#include "proto/msg.h"
#include "proto/msg_container.h"
#include "proto/msg_session.h"
#include "host/monitor/ctl.h"
#include "host/state/log.h"
#include "host/vmm/lsm.h"
#include "host/net/net.h"
#include "host/monitor/monitor_priv.h"
#include "host/vmm/spawn.h"
#include "host/state/unixsock.h"
#include "host/vmm/vmm_privs.h"
#include "host/vmm/virtiofsd.h"
#include "host/monitor/monitor_confine.h"
#include "host/vmm/vmm_jail.h"
#include "host/vmm/vmm_qemu.h"

#define VFS_TAG "vfs" /* the staging directory: rootfs and bind sources */
#define CREATE_BUF_MAX (HUSK_FRAME_MAX)

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reaps pid if it has exited; true if it is gone. */
static bool child_gone(pid_t pid, int *status)
{
	int st;
	pid_t r = waitpid(pid, &st, WNOHANG);
	if (r == pid) {
		if (status)
			*status = st;
		return true;
	}
	return r < 0 && errno == ECHILD;
}

/* Serves the staging directory (husk_vfs_stage) built by the monitor;
 * returns a connection to it, for QEMU. */
static int start_virtiofsd(struct husk_vm *vm, const struct husk_monitor_args *a, const char *sock,
			   struct husk_err *err)
{
	char log_path[PATH_MAX], source[PATH_MAX];
	struct husk_argv argv = { 0 };
	snprintf(log_path, sizeof log_path, "%s/virtiofsd.log", vm->dir);
	snprintf(source, sizeof source, "%s/vfs", a->state_dir);
	struct husk_virtiofsd_params p = {
		.binary = husk_config_get(a->cfg, CFG_VIRTIOFSD),
		.socket_path = sock,
		.source = source,
		.cache = husk_config_get(a->cfg, CFG_VIRTIOFS_CACHE),
		.nofile = husk_config_get_long(a->cfg, CFG_VIRTIOFS_NOFILE),
	};
	/* guest root could otherwise leave set-uid files on host directories */
	struct husk_spawn_setup setid = { husk_virtiofsd_setid_filter, NULL };
	bool refuse = !strcmp(husk_config_get(a->cfg, CFG_VIRTIOFS_SETID), "refuse");
	int r = husk_virtiofsd_argv(&p, &argv, err);
	if (r == 0)
		r = husk_spawn(argv.v, log_path, NULL, 0, refuse ? &setid : NULL, &vm->virtiofsd_pid, err);
	husk_argv_free(&argv);
	if (r < 0)
		return husk_err_wrap(err, "virtiofsd");
	/* QEMU is handed a connection: virtiofsd must be listening (its
	 * socket file appears at bind(), before listen(): retry a refusal) */
	long deadline = husk_now_ms() + 10000;
	for (;;) {
		int status;
		if (child_gone(vm->virtiofsd_pid, &status)) {
			char why[HUSK_CHILD_REASON_MAX];
			vm->virtiofsd_pid = 0;
			husk_vm_child_reason(vm, "virtiofsd", why, sizeof why);
			return husk_err_set(err, EIO, "virtiofsd exited at start (status %d)%s", exit_code(status),
					    why);
		}
		struct husk_err cerr = { 0 };
		int fd = husk_unix_connect(sock, &cerr);
		if (fd >= 0)
			return fd;
		if (fd != -ENOENT && fd != -ECONNREFUSED) {
			husk_err_set(err, cerr.code, "%s", cerr.msg);
			return husk_err_wrap(err, "virtiofsd");
		}
		if (husk_now_ms() > deadline)
			return husk_err_set(err, ETIMEDOUT, "virtiofsd did not listen on %s within 10 s", sock);
		usleep(2000);
	}
}

/* The fds QEMU is handed (see struct husk_vm_params), closed once it has them. */
struct qemu_files {
	int kernel, initramfs, console, qmp, vsock;
};

static void qemu_files_close(struct qemu_files *f)
{
	int *all[] = { &f->kernel, &f->initramfs, &f->console, &f->qmp, &f->vsock };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (*all[i] >= 0) {
			close(*all[i]);
			*all[i] = -1;
		}
}

static int qemu_files_open(struct husk_vm *vm, const struct husk_monitor_args *a, struct qemu_files *f,
			   struct husk_err *err)
{
	char path[PATH_MAX];
	const char *kernel = husk_config_get(a->cfg, CFG_KERNEL);
	const char *initramfs = husk_config_get(a->cfg, CFG_INITRAMFS);
	*f = (struct qemu_files){ -1, -1, -1, -1, -1 };
	if ((f->kernel = open(kernel, O_RDONLY | O_CLOEXEC)) < 0)
		return husk_err_sys(err, errno, "guest kernel %s (set [vm] kernel in %s)", kernel, a->cfg->path);
	if ((f->initramfs = open(initramfs, O_RDONLY | O_CLOEXEC)) < 0)
		return husk_err_sys(err, errno, "guest initramfs %s (set [vm] initramfs in %s)", initramfs,
				    a->cfg->path);
	/* QEMU reopens them as the VM's uid (through /proc/self/fd) */
	struct stat st;
	if (fstat(f->kernel, &st) == 0 && !(st.st_mode & S_IROTH))
		return husk_err_set(err, EACCES, "guest kernel %s must be readable by others (QEMU runs unprivileged)",
				    kernel);
	if (fstat(f->initramfs, &st) == 0 && !(st.st_mode & S_IROTH))
		return husk_err_set(err, EACCES,
				    "guest initramfs %s must be readable by others (QEMU runs unprivileged)",
				    initramfs);
	snprintf(path, sizeof path, "%s/console.log", vm->dir);
	size_t console_max = (size_t)husk_config_get_long(a->cfg, CFG_CONSOLE_LOG_MAX_KIB) * 1024;
	if (husk_console_log_open(&vm->console, path, console_max, &f->console, err) < 0)
		return husk_err_wrap(err, "the serial console");
	snprintf(path, sizeof path, "%s/qmp.sock", vm->dir);
	if ((f->qmp = husk_unix_listen(path, 4, err)) < 0)
		return husk_err_wrap(err, "QMP socket");
	if (vm->vsock.kind == HUSK_VSOCK_VHOST_USER && (f->vsock = husk_unix_connect(vm->vsock.vu_path, err)) < 0)
		return husk_err_wrap(err, "vsock back-end");
	return 0;
}

static int start_qemu(struct husk_vm *vm, const struct husk_monitor_args *a, int vfs_fd, struct husk_err *err)
{
	char log_path[PATH_MAX], why[128];
	snprintf(log_path, sizeof log_path, "%s/qemu.log", vm->dir);
	struct husk_lsm lsm; /* QEMU holds the container: the container's LSM labels are its */
	int r = husk_lsm_from_process(json_object_get(a->spec->json, "process"), &lsm, err);
	if (r < 0)
		return r;
	r = husk_vm_size(a->cfg, a->spec, &vm->memory_mib, &vm->vcpus, err);
	if (r < 0)
		return r;
	const char *accel = husk_config_get(a->cfg, CFG_ACCEL);
	char params[HUSK_CONFIG_VALUE_MAX * 2];
	if ((r = husk_vm_annotations(a->cfg, a->spec, &accel, params, sizeof params, err)) < 0)
		return r;
	struct qemu_files files;
	r = qemu_files_open(vm, a, &files, err);
	if (r < 0) {
		qemu_files_close(&files);
		return r;
	}
	char name[PATH_MAX + 1];
	snprintf(name, sizeof name, "%s/", vm->dir); /* as the paths in its argv used to: ps shows whose VM */
	struct husk_vm_params p = {
		.qemu = husk_config_get(a->cfg, CFG_QEMU),
		.name = name,
		.kernel_fd = files.kernel,
		.initramfs_fd = files.initramfs,
		.accel = husk_accel_resolve(accel, why, sizeof why),
		.vcpus = vm->vcpus,
		.memory_mib = vm->memory_mib,
		.kernel_params = params,
		.console_fd = files.console,
		.qmp_fd = files.qmp,
		.virtiofs_fd = vfs_fd,
		.virtiofs_tag = VFS_TAG,
		.vhost_user_vsock_fd = files.vsock,
		.vhost_vsock_fd = -1,
		.sandbox = !strcmp(husk_config_get(a->cfg, CFG_SANDBOX), "on"),
		.tcg_tb_size_mib = strtol(husk_config_get(a->cfg, CFG_TCG_TB_SIZE_MIB), NULL, 10),
	};
	struct husk_vm_nic nics[HUSK_NET_MAX_IFACES];
	for (unsigned i = 0; vm->net && i < vm->net->n_taps; i++) {
		const struct husk_net_tap *t = &vm->net->taps[i];
		nics[i].tap_fd = t->fd;
		memcpy(nics[i].mac, t->dev_mac, 6);
		/* spares learn their MTU in the guest, once used */
		nics[i].mtu = i < vm->network->n_ifaces ? vm->network->ifaces[i].mtu : 0;
		p.nics = nics;
		p.n_nics = i + 1;
	}
	if (vm->vsock.kind != HUSK_VSOCK_VHOST_USER) {
		p.vhost_vsock_fd = vm->vsock.vhost_fd;
		p.vhost_vsock_cid = vm->vsock.cid;
	}
	log_debug("accel %s (%s)", p.accel, why);
	int keep[HUSK_QEMU_FDS_MAX];
	size_t n_keep = husk_qemu_fds(&p, keep, HUSK_QEMU_FDS_MAX);
	static struct husk_vmm_jail jail; /* large (a path); read by the child only */
	jail = (struct husk_vmm_jail){
		.lsm = &lsm, .uid = vm->vmm_id.uid, .gid = vm->vmm_id.gid, .kvm = !strcmp(p.accel, "kvm")
	};
	struct husk_spawn_setup setup = { husk_vmm_jail_enter, &jail };
	struct husk_argv argv = { 0 };
	r = husk_vmm_jail_prepare(&jail, p.qemu, err);
	if (r == 0)
		r = husk_qemu_argv(&p, &argv, err);
	if (r == 0)
		r = husk_spawn(argv.v, log_path, keep, n_keep, &setup, &vm->qemu_pid, err);
	husk_argv_free(&argv);
	qemu_files_close(&files); /* QEMU's now */
	if (vm->net)
		husk_net_close_taps(vm->net); /* QEMU's now: they go when it does */
	if (r < 0)
		return husk_err_wrap(err, "qemu");
	return 0;
}

/* The last cap - 1 bytes of the file at path, NUL-terminated (empty if it
 * cannot be read); returns how many. */
static size_t read_tail(const char *path, char *out, size_t cap)
{
	out[0] = '\0';
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)cap - 1 ? size - (off_t)cap + 1 : 0;
	ssize_t n = pread(fd, out, cap - 1, from);
	out[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/* The last line a helper wrote to its log (its stderr), made printable. */
static void last_line(const char *path, char *out, size_t cap)
{
	char buf[1024];
	size_t n = read_tail(path, buf, sizeof buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	char *line = memrchr(buf, '\n', n);
	line = line ? line + 1 : buf;
	size_t j = 0;
	for (; *line && j + 1 < cap; line++)
		out[j++] = (*line >= 0x20 && *line < 0x7f) ? *line : '?';
	out[j] = '\0';
}

void husk_vm_child_reason(struct husk_vm *vm, const char *prog, char *out, size_t cap)
{
	char path[PATH_MAX], line[HUSK_CHILD_REASON_MAX - 8], tail[200];
	snprintf(path, sizeof path, "%s/%s.log", vm->dir, prog);
	last_line(path, line, sizeof line);
	husk_vm_console_tail(vm, tail, sizeof tail);
	int n = snprintf(out, cap, "%s%s", line[0] ? ": " : "", line);
	if (tail[0] && n >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, "; console: %s", tail);
}

void husk_vm_console_tail(struct husk_vm *vm, char *out, size_t cap)
{
	char path[PATH_MAX];
	husk_console_log_drain(&vm->console, 4u << 20);
	snprintf(path, sizeof path, "%s/console.log", vm->dir);
	char raw[512], esc[4 * sizeof raw + 1];
	size_t n = read_tail(path, raw, cap < sizeof raw ? cap : sizeof raw), k = 0, len;
	for (size_t i = 0; i < n; i++)
		if (raw[i] == '\n' || raw[i] == '\r')
			raw[i] = ' ';
	/* the guest wrote it: escaped, and the end kept (an escaped byte is at
	 * most 4 characters, so dropping excess/4 bytes never drops too many) */
	while ((len = husk_escape(esc, sizeof esc, raw + k, n - k, 0)) >= cap && cap > 0)
		k += (len - cap + 4) / 4;
	snprintf(out, cap, "%s", esc);
}

/* One request, one reply, during boot (nothing else flows yet). */
static int boot_call(int fd, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms, uint8_t *rbuf,
		     size_t rcap, const uint8_t **reply, uint32_t *reply_len, struct husk_err *err)
{
	struct husk_frame_hdr h;
	int r = husk_frame_write_all(fd, type, 0, 1, payload, len, err);
	if (r < 0)
		return r;
	r = husk_frame_read_one(fd, rbuf, rcap, timeout_ms, &h, reply, err);
	if (r < 0)
		return husk_err_wrap(err, "waiting for the guest's reply to %s", husk_msg_type_name(type));
	if (!(h.flags & HUSK_FLAG_REPLY) || h.id != 1)
		return husk_err_set(err, EPROTO, "the guest answered %s with a stray frame", husk_msg_type_name(type));
	if (h.type == HUSK_MSG_ERROR)
		return husk_error_reply(*reply, h.len, err);
	if (h.type != HUSK_MSG_OK)
		return husk_err_set(err, EPROTO, "the guest answered %s with %s", husk_msg_type_name(type),
				    husk_msg_type_name(h.type));
	*reply_len = h.len;
	return 0;
}

/* Reads "pid" from an OK reply. */
static int reply_pid(const uint8_t *reply, uint32_t reply_len, int *pid, struct husk_err *err)
{
	static uint8_t arena_buf[16 * 1024];
	struct husk_arena arena;
	const struct husk_cbor_item *root;
	struct husk_pid_reply_msg m;
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	if (husk_msg_parse(reply, reply_len, &arena, &root, err) < 0 || husk_msg_decode_pid_reply(root, &m, err) < 0)
		return husk_err_wrap(err, "reply without a pid");
	*pid = (int)m.pid;
	return 0;
}

int husk_guest_create(int session_fd, const struct husk_monitor_args *a, bool stdin_open,
		      const struct husk_network *network, uint32_t ctr, const struct husk_ns_join *join, char *kernel,
		      size_t kernel_cap, int *guest_pid, struct husk_err *err)
{
	static uint8_t arena_buf[64 * 1024];
	uint8_t rbuf[HUSK_FRAME_HDR_SIZE + 4096];
	const uint8_t *reply;
	uint32_t reply_len;
	struct husk_arena arena;
	const struct husk_cbor_item *root;
	uint8_t hello[32];
	struct husk_cbor_enc e;
	int r;

	husk_cbor_enc_init(&e, hello, sizeof hello);
	husk_msg_encode_hello(&e, &(struct husk_hello_msg){ .version = HUSK_PROTO_VERSION });
	r = boot_call(session_fd, HUSK_MSG_HELLO, e.buf, e.len, 30000, rbuf, sizeof rbuf, &reply, &reply_len, err);
	if (r < 0)
		return husk_err_wrap(err, "guest handshake");
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	struct husk_hello_msg hr;
	if (husk_msg_parse(reply, reply_len, &arena, &root, err) < 0 ||
	    husk_msg_decode_hello_reply(root, &arena, &hr, err) < 0)
		return husk_err_wrap(err, "guest handshake reply");
	husk_escape_str(kernel, kernel_cap, hr.kernel, 0);

	struct husk_create_msg m = {
		.id = (char *)a->id,
		.rootfs_tag = VFS_TAG,
		.readonly = a->spec->readonly,
		.overlay_mib = a->spec->overlay_mib,
		.hold = a->spec->hold,
		.hostname = (char *)a->spec->hostname,
		.stdin_open = stdin_open,
		.process = a->spec->process,
		.container = a->spec->container,
		.resources = a->spec->resources,
		.network = (struct husk_network *)network,
		.notify_socket = a->spec->notify_container,
		.ctr = ctr,
		.tree = a->slot_tree,
	};
	if (join)
		m.join = *join;
	_cleanup_free_ uint8_t *buf = malloc(CREATE_BUF_MAX);
	if (!buf)
		return husk_err_set(err, ENOMEM, "out of memory");
	husk_cbor_enc_init(&e, buf, CREATE_BUF_MAX);
	husk_msg_encode_create(&e, &m);
	if (husk_cbor_enc_finish(&e, err) < 0)
		return husk_err_wrap(err, "the container spec is too large for one message");
	r = boot_call(session_fd, HUSK_MSG_CREATE, e.buf, e.len, 90000, rbuf, sizeof rbuf, &reply, &reply_len, err);
	if (r < 0)
		return r;
	return reply_pid(reply, reply_len, guest_pid, err);
}

static int guest_handshake(struct husk_vm *vm, const struct husk_monitor_args *a, bool stdin_open, struct husk_err *err)
{
	_Static_assert(sizeof vm->kernel_release > HUSK_MAX_KERNEL_RELEASE, "the decoded release must fit");
	return husk_guest_create(vm->session_fd, a, stdin_open,
				 vm->network && vm->network->n_ifaces ? vm->network : NULL, 0, NULL, vm->kernel_release,
				 sizeof vm->kernel_release, &vm->guest_pid, err);
}

int husk_guest_exec(int session_fd, const struct husk_process_spec *process, bool stdin_open, uint32_t ctr,
		    struct husk_err *err)
{
	uint8_t rbuf[HUSK_FRAME_HDR_SIZE + 4096];
	const uint8_t *reply;
	uint32_t reply_len;
	struct husk_exec_msg m = { .stdin_open = stdin_open, .process = *process, .ctr = ctr };
	_cleanup_free_ uint8_t *buf = malloc(CREATE_BUF_MAX);
	struct husk_cbor_enc e;
	int pid = 0;
	if (!buf)
		return husk_err_set(err, ENOMEM, "out of memory");
	husk_cbor_enc_init(&e, buf, CREATE_BUF_MAX);
	husk_msg_encode_exec(&e, &m);
	if (husk_cbor_enc_finish(&e, err) < 0)
		return husk_err_wrap(err, "the process spec is too large for one message");
	int r = boot_call(session_fd, HUSK_MSG_EXEC, e.buf, e.len, 60000, rbuf, sizeof rbuf, &reply, &reply_len, err);
	if (r < 0 || (r = reply_pid(reply, reply_len, &pid, err)) < 0)
		return r;
	return pid;
}

int husk_vm_enter_netns(struct husk_vm *vm, const struct husk_monitor_args *a, struct husk_err *err)
{
	const char *path = a->spec->container ? a->spec->container->netns_path : NULL;
	if (!path)
		return 0;
	vm->net = calloc(1, sizeof *vm->net);
	if (!vm->net)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = husk_net_open(vm->net, path, a->state_dir, err);
	if (r == 0 && setns(vm->net->netns_fd, CLONE_NEWNET) < 0) {
		r = husk_err_sys(err, errno, "entering network namespace %s", path);
		close(vm->net->netns_fd);
	}
	if (r < 0) {
		free(vm->net);
		vm->net = NULL;
	}
	return r;
}

/* The network namespace entered (husk_vm_enter_netns) joined to taps,
 * before QEMU needs them. */
static int setup_network(struct husk_vm *vm, const struct husk_monitor_args *a, struct husk_err *err)
{
	json_t *ann = json_object_get(a->spec->json, "annotations");
	unsigned spares;
	int r = husk_net_spares(json_string_value(json_object_get(ann, "io.husk.net.spare_nics")), &spares, err);
	if (r < 0 || !vm->net || vm->network) /* none, or a pool VM's own (host/pool/pool_vm.c) */
		return r;
	vm->network = calloc(1, sizeof *vm->network);
	if (!vm->network)
		return husk_err_set(err, ENOMEM, "out of memory");
	r = husk_net_setup(vm->net, spares, vm->network, err);
	if (r < 0) {
		free(vm->net);
		vm->net = NULL;
		return r;
	}
	log_debug("network: %u interfaces of %s, %u NICs", vm->network->n_ifaces, vm->net->path, vm->net->n_taps);
	return 0;
}

int husk_vm_start(struct husk_vm *vm, const struct husk_monitor_args *a, struct husk_err *err)
{
	char vfs_sock[PATH_MAX];
	int r, vfs_fd;

	snprintf(vm->dir, sizeof vm->dir, "%s", a->state_dir);
	snprintf(vfs_sock, sizeof vfs_sock, "%s/virtiofs.sock", vm->dir);
	vm->session_fd = -1;
	vm->console = (struct husk_console_log){ .rfd = -1, .file = -1 };
	r = setup_network(vm, a, err);
	if (r < 0)
		goto fail;
	r = husk_vsock_prepare(&vm->vsock, husk_config_get(a->cfg, CFG_VSOCK_BACKEND), vm->dir, err);
	if (r < 0)
		goto fail;
	/* the VM's own uid: QEMU and the vsock back-end run as it */
	r = husk_vmm_id_alloc((unsigned long)husk_config_get_long(a->cfg, CFG_VMM_UID_BASE),
			      (unsigned long)husk_config_get_long(a->cfg, CFG_VMM_UID_COUNT), &vm->vmm_id, err);
	if (r < 0)
		goto fail;
	r = husk_vsock_start(&vm->vsock, vm->vmm_id.uid, vm->vmm_id.gid, err);
	if (r < 0)
		goto fail;
	r = vfs_fd = start_virtiofsd(vm, a, vfs_sock, err);
	if (r < 0)
		goto fail;
	log_debug("virtiofsd up, pid %d", vm->virtiofsd_pid); /* scripts/bench/ reads these two */
	r = start_qemu(vm, a, vfs_fd, err);
	close(vfs_fd);
	if (r < 0)
		goto fail;
	log_debug("qemu spawned, pid %d, uid %u", vm->qemu_pid, (unsigned)vm->vmm_id.uid);
	/* from here on the monitor reads the guest: confined first */
	r = husk_monitor_confine(err);
	if (r < 0)
		goto fail;

	/* connect, but notice a QEMU that dies instead of booting */
	long timeout = husk_config_get_long(a->cfg, CFG_BOOT_TIMEOUT) * 1000L;
	long deadline = husk_now_ms() + timeout;
	for (;;) {
		struct husk_err cerr = { 0 };
		int status;
		if (child_gone(vm->qemu_pid, &status)) {
			char why[HUSK_CHILD_REASON_MAX];
			vm->qemu_pid = 0;
			husk_vm_child_reason(vm, "qemu", why, sizeof why);
			r = husk_err_set(err, EIO, "qemu exited during boot (status %d)%s", exit_code(status), why);
			goto fail;
		}
		long left = deadline - husk_now_ms();
		if (left <= 0) {
			r = husk_err_set(err, ETIMEDOUT, "the guest did not come up within %ld s", timeout / 1000);
			goto fail;
		}
		int fd = husk_vsock_connect(&vm->vsock, HUSK_GUEST_PORT, left < 1000 ? (int)left : 1000, &cerr);
		if (fd >= 0) {
			vm->session_fd = fd;
			break;
		}
		if (cerr.code != ETIMEDOUT) {
			husk_err_set(err, cerr.code, "%s", cerr.msg);
			r = -cerr.code;
			goto fail;
		}
	}
	return 0;
fail:
	husk_vm_stop(vm, 0);
	return r;
}

int husk_vm_boot(struct husk_vm *vm, const struct husk_monitor_args *a, bool stdin_open, struct husk_err *err)
{
	int r = husk_vm_start(vm, a, err);
	if (r == 0 && (r = guest_handshake(vm, a, stdin_open, err)) < 0)
		husk_vm_stop(vm, 0);
	return r;
}

static void stop_child(pid_t *pid, int grace_ms)
{
	if (*pid <= 0)
		return;
	long deadline = husk_now_ms() + grace_ms;
	while (grace_ms > 0 && husk_now_ms() < deadline) {
		if (child_gone(*pid, NULL)) {
			*pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(*pid, SIGKILL);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

void husk_vm_stop(struct husk_vm *vm, int grace_ms)
{
	if (vm->session_fd >= 0) {
		close(vm->session_fd);
		vm->session_fd = -1;
	}
	stop_child(&vm->qemu_pid, grace_ms);
	husk_console_log_close(&vm->console); /* what QEMU wrote last */
	/* virtiofsd exits on its own once QEMU is gone */
	stop_child(&vm->virtiofsd_pid, grace_ms ? 1000 : 0);
	husk_vsock_close(&vm->vsock);
	husk_vmm_id_release(&vm->vmm_id); /* nothing runs as it any more */
	if (vm->net) {
		/* QEMU is gone, and the taps with it: the filters go too (from
		 * network.json, which start may have added to) */
		husk_net_close_taps(vm->net);
		husk_net_cleanup_dir(vm->dir);
		if (vm->net->netns_fd >= 0)
			close(vm->net->netns_fd);
		free(vm->net);
		vm->net = NULL;
	}
	free(vm->network);
	vm->network = NULL;
}
