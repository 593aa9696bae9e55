/* The container layer: create, start, kill, exec, delete and the teardown
 * of a stopped container, written once for every verb. */
#include "host/container/container.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/msg_container.h"
#include "common/cleanup.h"
#include "host/container/container_pool.h"
#include "host/container/pod.h"
#include "host/monitor/ctl.h"
#include "host/monitor/monitor.h"
#include "host/net/net.h"
#include "host/spec/hooks.h"
#include "host/state/config.h"
#include "host/state/fsutil.h"
#include "host/state/host_cgroup.h"
#include "host/state/log.h"
#include "host/state/pod.h"
#include "host/monitor/vfs_slot.h"
#include "host/vsock/vsock.h"

#define DELETE_WAIT_MS 15000

int husk_container_load(const char *root, const char *id, char *dir, size_t dir_cap, struct husk_state *st,
			struct husk_err *err)
{
	int r = husk_id_validate(id, err);
	if (r < 0)
		return r;
	r = husk_state_path(dir, dir_cap, root, id, NULL, err);
	if (r < 0)
		return r;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/state.json", dir);
	if (access(path, F_OK) < 0)
		return husk_err_set(err, ENOENT, "container \"%s\" does not exist", id);
	return husk_state_read(dir, st, err);
}

bool husk_status_live(enum husk_status s)
{
	return s == HUSK_STATUS_CREATED || s == HUSK_STATUS_RUNNING || s == HUSK_STATUS_PAUSED;
}

/* --- monitors ---------------------------------------------------------- */

/* Forks a monitor running body(arg, ready_fd) and waits until it writes
 * "OK" (returns its pid) or "E<message>" (a negative code, err filled). */
static pid_t fork_monitor(int (*body)(void *arg, int ready_fd), void *arg, const char *what, struct husk_err *err)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(ready[0]);
		close(ready[1]);
		return husk_err_sys(err, e, "fork");
	}
	if (pid == 0) {
		close(ready[0]);
		_exit(body(arg, ready[1]));
	}
	close(ready[1]);
	char msg[HUSK_ERR_MSG_MAX + 2];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(ready[0], msg + len, sizeof msg - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof msg - 1)
			break;
	}
	close(ready[0]);
	msg[len] = '\0';
	if (strcmp(msg, "OK") == 0)
		return pid;
	waitpid(pid, NULL, 0);
	if (msg[0] == 'E')
		return husk_err_set(err, EIO, "%s", msg + 1);
	return husk_err_set(err, EIO, "the %s died while starting", what);
}

static int container_monitor_body(void *arg, int ready_fd)
{
	struct husk_monitor_args *a = arg;
	a->ready_fd = ready_fd;
	return husk_monitor_run(a);
}

/* A member monitor's start: pod.lock is the creating verb's, not the
 * monitor's (an flock is shared by a fork's copy of the fd: held, it
 * would block every later create and delete in the pod). */
struct member_fork {
	struct husk_member_monitor_args a;
	int pod_lock;
};

static int member_monitor_body(void *arg, int ready_fd)
{
	struct member_fork *f = arg;
	close(f->pod_lock);
	f->a.base.ready_fd = ready_fd;
	return husk_member_monitor_run(&f->a);
}

static int exec_monitor_body(void *arg, int ready_fd)
{
	struct husk_exec_monitor_args *a = arg;
	a->ready_fd = ready_fd;
	return husk_exec_monitor_run(a);
}

/* --- teardown ---------------------------------------------------------- */

static void kill_if_same(const struct husk_pid_ref *ref)
{
	if (husk_pid_ref_alive(ref))
		kill(ref->pid, SIGKILL);
}

static bool wait_gone(const struct husk_pid_ref *ref, int ms)
{
	for (int waited = 0; waited < ms; waited += 10) {
		if (!husk_pid_ref_alive(ref))
			return true;
		usleep(10000);
	}
	return !husk_pid_ref_alive(ref);
}

/* The state dir, and the tc filters a dead monitor left on the
 * container's netns (the state store knows no subsystem). */
static int remove_dir(const char *dir, const char *id, struct husk_err *err)
{
	husk_net_cleanup_dir(dir);
	return husk_state_remove(dir, id, err);
}

static void member_release(const char *id, const struct husk_state *st);

/* A VM adopted from a pool (docs/design-pool.md): its pool monitor stops
 * QEMU once the container's monitor is gone; it gets DELETE_WAIT_MS, then
 * SIGKILL. Then its dir <root>/pool.d/<n> goes (its vfs tree lived in
 * that monitor's mount namespace, gone with it). Only a dir named as the
 * pool names them is removed. */
static void pool_vm_stop(const char *vm_dir, const struct husk_pid_ref *vm_monitor, int grace_ms)
{
	if (!wait_gone(vm_monitor, grace_ms))
		kill_if_same(vm_monitor);
	wait_gone(vm_monitor, 2000);
	const char *base = strrchr(vm_dir, '/');
	if (!base || base - vm_dir < 7 || strstr(vm_dir, "/..") || strspn(base + 1, "0123456789") == 0 ||
	    base[1 + strspn(base + 1, "0123456789")] || strncmp(base - 7, "/pool.d", 7) ||
	    husk_pid_ref_alive(vm_monitor)) {
		log_warn("pool VM dir %s left behind", vm_dir);
		return;
	}
	struct husk_err err = { 0 };
	if (remove_tree(vm_dir, &err) < 0)
		log_warn("%s", err.msg);
}

static void pool_vm_release(const struct husk_state *st)
{
	pool_vm_stop(st->vm_dir, &st->vm_monitor, DELETE_WAIT_MS);
}

/* A stopped container: a pod member's slot out of its sandbox's VM,
 * leftovers of a monitor that died hard (their PDEATHSIG should have taken
 * them already), its host cgroups, the poststop hooks (as runc: the
 * container is stopped, its state still there; in the bundle for run, in
 * the caller's directory for delete), then its state dir. */

static int teardown(const char *dir, const char *id, const struct husk_state *st, bool from_run, struct husk_err *err)
{
	if (st->sandbox[0])
		member_release(id, st);
	kill_if_same(&st->qemu);
	kill_if_same(&st->virtiofsd);
	kill_if_same(&st->vsock_backend);
	wait_gone(&st->qemu, 2000);
	wait_gone(&st->virtiofsd, 2000);
	if (st->vm_dir[0])
		pool_vm_release(st);
	husk_host_cgroups_remove(dir, false);
	husk_hooks_poststop(st, from_run ? st->bundle : NULL);
	return remove_dir(dir, id, err);
}

void husk_container_teardown(const char *dir, const char *id)
{
	struct husk_state st;
	struct husk_err err = { 0 };
	if (husk_state_read(dir, &st, &err) == 0) {
		teardown(dir, id, &st, true, &err);
		husk_state_free(&st);
		return;
	}
	husk_err_clear(&err);
	remove_dir(dir, id, &err);
}

/* A monitor still creating: its VM processes are not in state yet, but they
 * share the monitor's process group (it leads one once its terminal is set
 * up), so the group goes at once and we wait until it is empty. */
static void kill_creating(const struct husk_pid_ref *monitor)
{
	if (!husk_pid_ref_alive(monitor))
		return;
	pid_t pid = monitor->pid;
	bool leader = getpgid(pid) == pid;
	kill(pid, SIGKILL);
	if (!leader) {
		wait_gone(monitor, 2000);
		return;
	}
	kill(-pid, SIGKILL);
	for (int waited = 0; waited < 5000 && kill(-pid, 0) == 0; waited += 10)
		usleep(10000);
}

/* A live container's monitor goes: asked first (it shuts the VM down
 * cleanly), killed if it does not. */
static void stop_monitor(const char *dir, const struct husk_state *st, enum husk_status status)
{
	if (status == HUSK_STATUS_CREATING) {
		/* nothing runs in the guest yet and the monitor does not serve
		 * requests before it is created */
		kill_creating(&st->monitor);
		return;
	}
	if (status == HUSK_STATUS_STOPPED)
		return;
	struct husk_err kerr = { 0 };
	husk_ctl_signal(dir, SIGKILL, false, &kerr);
	if (!wait_gone(&st->monitor, DELETE_WAIT_MS))
		kill_if_same(&st->monitor);
	wait_gone(&st->monitor, 2000);
}

/* --- pods (docs/pods.md) ------------------------------------------------- */

/* Where a sandbox's share lives: its own dir and its monitor's mount
 * namespace, or for a sandbox in a VM taken from a pool the pool VM's dir
 * and its pool monitor (the adopting monitor has no share). */
struct share_ref {
	const char *dir;
	const struct husk_pid_ref *monitor;
};

static struct share_ref sandbox_share(const struct husk_state *sst, const char *sandbox_dir)
{
	if (sst->vm_dir[0])
		return (struct share_ref){ sst->vm_dir, &sst->vm_monitor };
	return (struct share_ref){ sandbox_dir, &sst->monitor };
}

/* A member's slot out of its sandbox's VM and its pod.json: under
 * pod.lock, the share's slot unmounted in the sandbox monitor's mount
 * namespace (nothing to do when the sandbox is gone: its namespace went
 * with it). Best effort: the member's own dir goes anyway. */
static void member_release(const char *id, const struct husk_state *st)
{
	struct husk_err err = { 0 };
	struct husk_state sst;
	struct husk_pod p;
	if (husk_state_read(st->sandbox_dir, &sst, &err) < 0)
		return;
	_cleanup_close_ int lock = husk_pod_lock(st->sandbox_dir, &err);
	if (lock >= 0 && husk_pod_read(st->sandbox_dir, &p, &err) == 0 && husk_pod_find(&p, id) == (int)st->slot) {
		struct share_ref share = sandbox_share(&sst, st->sandbox_dir);
		int r = husk_vfs_eject(share.monitor, share.dir, st->slot, &err);
		if (r < 0 && r != -ESRCH && r != -ENOENT)
			log_warn("taking slot %u out of sandbox %s: %s", st->slot, st->sandbox, err.msg);
		husk_err_clear(&err);
		husk_pod_remove(&p, id);
		if (husk_pod_write(st->sandbox_dir, &p, &err) < 0)
			log_warn("%s", err.msg);
	}
	husk_state_free(&sst);
}

/* A sandbox being deleted: pod.json says "closing" (no member joins any
 * more); returns pod.lock's fd, held until its members are gone, or -1
 * when it has none. */
static int sandbox_close(const char *dir)
{
	struct husk_err err = { 0 };
	struct husk_pod p;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/pod.json", dir);
	if (access(path, F_OK) < 0)
		return -1;
	int lock = husk_pod_lock(dir, &err);
	if (lock < 0 || husk_pod_read(dir, &p, &err) < 0) {
		if (lock >= 0)
			close(lock);
		return -1;
	}
	p.closing = true;
	if (husk_pod_write(dir, &p, &err) < 0)
		log_warn("%s", err.msg);
	return lock;
}

/* The sandbox's VM is down: its members' monitors end (137) once their
 * sessions close; one that does not is killed. Their dirs stay, stopped,
 * for the engine to delete. */
static void sandbox_wait_members(const char *root, const char *dir, int lock)
{
	struct husk_err err = { 0 };
	struct husk_pod p;
	if (husk_pod_read(dir, &p, &err) == 0)
		for (uint32_t i = 0; i < p.n; i++) {
			char mdir[PATH_MAX];
			struct husk_state mst;
			husk_err_clear(&err);
			if (husk_container_load(root, p.members[i].id, mdir, sizeof mdir, &mst, &err) < 0 &&
			    husk_container_load(HUSK_DEFAULT_ROOT, p.members[i].id, mdir, sizeof mdir, &mst, &err) < 0)
				continue;
			if (!wait_gone(&mst.monitor, DELETE_WAIT_MS))
				kill_if_same(&mst.monitor);
			husk_state_free(&mst);
		}
	close(lock);
}

/* Checks the sandbox and takes a free slot, under pod.lock (held on
 * success: *lock). */
static int member_slot(const struct husk_pod_target *pod, const struct husk_state *sst, int *lock, struct husk_err *err)
{
	struct husk_pod p;
	enum husk_status ss = husk_state_status(sst);
	if (ss != HUSK_STATUS_CREATED && ss != HUSK_STATUS_RUNNING)
		return husk_err_set(err, EINVAL, "sandbox \"%s\" is %s; a container joins a created or running one",
				    pod->sandbox_id, husk_status_name(ss));
	*lock = husk_pod_lock(pod->sandbox_dir, err);
	if (*lock < 0)
		return *lock;
	int r = husk_pod_read(pod->sandbox_dir, &p, err);
	if (r == 0 && p.closing)
		r = husk_err_set(err, EINVAL, "sandbox \"%s\" is being deleted", pod->sandbox_id);
	if (r == 0 && (r = husk_pod_free_slot(&p)) < 0)
		r = husk_err_set(err, ENOSPC, "the pod's VM holds %u containers", HUSK_POD_MAX);
	if (r < 0) {
		close(*lock);
		*lock = -1;
	}
	return r;
}

/* The member monitor forked once its slot of the share holds its rootfs;
 * pod.json names it once it is created. */
static pid_t member_start(struct member_fork *f, const struct husk_state *sst, struct husk_err *err)
{
	struct husk_member_monitor_args *a = &f->a;
	struct husk_pod p;
	struct share_ref share = sandbox_share(sst, a->sandbox_dir);
	int r = husk_vfs_inject(share.monitor, share.dir, a->slot, a->base.spec, err);
	if (r < 0)
		return husk_err_wrap(err, "joining sandbox \"%s\"", a->sandbox_id);
	pid_t pid = fork_monitor(member_monitor_body, f, "member monitor", err);
	if (pid >= 0 &&
	    ((r = husk_pod_read(a->sandbox_dir, &p, err)) < 0 || (r = husk_pod_add(&p, a->base.id, a->slot, err)) < 0 ||
	     (r = husk_pod_write(a->sandbox_dir, &p, err)) < 0)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = r;
	}
	if (pid < 0) {
		struct husk_err eerr = { 0 };
		husk_vfs_eject(share.monitor, share.dir, a->slot, &eerr);
	}
	return pid;
}

/* The sandbox monitor's network namespace (the pod's), for the member's
 * monitor to enter; the pid checked alive after the open. */
static int sandbox_netns(const struct husk_state *sst, struct husk_err *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)sst->monitor.pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !husk_pid_ref_alive(&sst->monitor)) {
		close(fd);
		fd = -1;
		errno = ESRCH;
	}
	return fd >= 0 ? fd : husk_err_sys(err, errno, "the network namespace of sandbox \"%s\"", sst->id);
}

static pid_t create_member(const struct husk_create_opts *o, struct husk_spec *spec, const struct husk_config *cfg,
			   const struct husk_pod_target *pod, char *dir, size_t dir_cap, struct husk_err *err)
{
	struct husk_state sst;
	char real[PATH_MAX];
	_cleanup_close_ int lock = -1;
	if (spec->notify_host)
		return husk_err_set(err, EOPNOTSUPP,
				    "sd_notify (NOTIFY_SOCKET) is not supported in a pod's member yet");
	int r = husk_state_read(pod->sandbox_dir, &sst, err);
	if (r < 0)
		return husk_err_wrap(err, "sandbox \"%s\"", pod->sandbox_id);
	/* the pod's VM is booted and does not grow: as `update` refuses it */
	if ((r = husk_resources_fit_vm(spec->resources, sst.vm_memory_mib, sst.vm_vcpus, err)) < 0) {
		husk_state_free(&sst);
		return husk_err_wrap(err, "joining sandbox \"%s\"", pod->sandbox_id);
	}
	int slot = member_slot(pod, &sst, &lock, err);
	if (slot < 0 || (r = mkdir_p(o->root, 0700, err)) < 0 ||
	    (r = husk_state_path(dir, dir_cap, o->root, o->id, NULL, err)) < 0 ||
	    (r = husk_state_dir_create(dir, o->id, real, sizeof real, err)) < 0) {
		husk_state_free(&sst);
		if (r == -EEXIST) {
			husk_err_clear(err);
			return husk_err_set(err, EEXIST, "container with id \"%s\" already exists", o->id);
		}
		return slot < 0 ? slot : r;
	}
	husk_log_set_id(o->id);
	husk_state_link_default(o->root, o->id, real);
	struct member_fork f = { .pod_lock = lock };
	f.a = (struct husk_member_monitor_args){
		.base = { .id = o->id,
			  .state_dir = real,
			  .spec = spec,
			  .cfg = cfg,
			  .ready_fd = -1,
			  .console_socket = o->console_socket,
			  .log_to_caller_file = o->log_to_caller_file,
			  .systemd_cgroup = o->systemd_cgroup },
		.sandbox_id = pod->sandbox_id,
		.sandbox_dir = pod->sandbox_dir,
		.vsock = sst.vsock,
		.slot = (uint32_t)slot,
		.join_mask = pod->join_mask,
		.vm_memory_mib = sst.vm_memory_mib,
		.vm_vcpus = sst.vm_vcpus,
	};
	memcpy(f.a.join_slot, pod->join_slot, sizeof f.a.join_slot);
	pid_t pid = (f.a.netns_fd = sandbox_netns(&sst, err)) < 0 ? f.a.netns_fd : member_start(&f, &sst, err);
	if (f.a.netns_fd >= 0)
		close(f.a.netns_fd);
	husk_state_free(&sst);
	if (pid < 0) {
		struct husk_err rerr = { 0 };
		remove_dir(dir, o->id, &rerr);
	}
	return pid;
}

int husk_container_delete(const char *root, const char *id, bool force, struct husk_err *err)
{
	struct husk_state st;
	char dir[PATH_MAX];
	int r = husk_container_load(root, id, dir, sizeof dir, &st, err);
	struct stat lst;
	if ((r == -ENOENT && force && lstat(dir, &lst) == 0) || (r == -EBADMSG && force)) {
		/* a create that died before writing state.json left its dir
		 * (or a link to a dir that is gone); or a corrupt state file:
		 * nothing trustworthy to kill, remove it */
		husk_err_clear(err);
		return remove_dir(dir, id, err);
	}
	if (r == -ENOENT && force) {
		husk_err_clear(err); /* as runc: nothing to delete is not an error */
		return 0;
	}
	if (r < 0)
		return r;
	enum husk_status status = husk_state_status(&st);
	if ((status == HUSK_STATUS_RUNNING || status == HUSK_STATUS_PAUSED) && !force) {
		husk_state_free(&st);
		return husk_err_set(err, EINVAL, "cannot delete container \"%s\" that is not stopped: %s (use --force)",
				    id, husk_status_name(status));
	}
	int pod_lock = st.sandbox[0] ? -1 : sandbox_close(dir);
	stop_monitor(dir, &st, status);
	if (pod_lock >= 0)
		sandbox_wait_members(root, dir, pod_lock);
	r = teardown(dir, id, &st, false, err);
	husk_state_free(&st);
	return r;
}

/* --- create, start, kill, exec ------------------------------------------ */

/* A VM from the pool (docs/design-pool.md): taken, the container's tree
 * injected into its slot 0 (ctr/0), the adopting monitor forked in dir
 * (real). -ENOENT: no VM was used (none fits, no pool, or taking it failed
 * before the monitor was forked; a VM taken is stopped): the caller boots
 * cold. Once forked, the adopting monitor's result is the create's (a
 * failing hook or a bad spec would fail a cold boot just the same). */
static pid_t create_adopting(const struct husk_create_opts *o, const struct husk_monitor_args *base,
			     const struct husk_pod_target *pod, struct husk_err *err)
{
	struct husk_pool_shape shape;
	struct husk_pool_vm vm;
	struct husk_err perr = { 0 };
	char why[256];
	const char *pool_root = husk_pool_root(o->root);
	/* no pool on this root: nothing to check (a cold create as without pools) */
	if (!pool_root)
		return -ENOENT;
	if (husk_pool_eligible(base->cfg, base->spec, pod, &shape, why, sizeof why) != 0) {
		log_debug("cold boot: %s", why);
		return -ENOENT;
	}
	if (husk_pool_take(pool_root, &shape, &vm, &perr) < 0) {
		log_debug("cold boot: %s", perr.msg);
		return -ENOENT;
	}
	const struct husk_container_config *c = base->spec->container;
	struct husk_net *net = calloc(1, sizeof *net);
	struct husk_network *network = calloc(1, sizeof *network);
	pid_t pid = !net || !network ? husk_err_set(&perr, ENOMEM, "out of memory")
				     : husk_pool_adopt_network(&vm, c ? c->netns_path : NULL, base->state_dir, net,
							       network, &perr);
	if (pid == 0)
		pid = husk_vfs_inject(&vm.monitor, vm.dir, 0, base->spec, &perr);
	bool forked = false;
	if (pid == 0) {
		struct member_fork f = { .pod_lock = -1 };
		f.a = (struct husk_member_monitor_args){
			.base = *base,
			.sandbox_id = "",
			.sandbox_dir = vm.dir,
			.vsock = vm.vsock,
			.slot = 0,
			.vm_memory_mib = vm.memory_mib,
			.vm_vcpus = vm.vcpus,
			.netns_fd = net->netns_fd,
			.pool_vm = &vm,
			.network = network->n_ifaces ? network : NULL,
		};
		f.a.base.slot_tree = true;
		forked = true;
		pid = fork_monitor(member_monitor_body, &f, "container monitor", err);
	}
	if (net && net->netns_fd >= 0)
		close(net->netns_fd);
	free(net);
	free(network);
	if (pid < 0) {
		if (!forked)
			log_debug("cold boot: pool VM %s not used: %s", vm.dir, perr.msg);
		pool_vm_stop(vm.dir, &vm.monitor, 0);
		husk_net_cleanup_dir(base->state_dir); /* the VM's taps and their filters, if moved */
		husk_host_cgroups_remove(base->state_dir, false);
	}
	return forked ? pid : -ENOENT;
}

/* bundle/config.json, or the spec husk wrote itself (o->spec_json) */
static int load_spec(const struct husk_create_opts *o, struct husk_spec *spec, struct husk_err *err)
{
	if (o->spec_json)
		return husk_spec_parse(spec, "", o->spec_json, strlen(o->spec_json), err);
	int r = husk_spec_load(spec, o->bundle, err);
	if (r == 0 && spec->hold)
		return husk_err_set(err, EINVAL, "annotation %s is for husk's own sandboxes only",
				    HUSK_SPEC_HOLD_ANNOTATION);
	return r;
}

pid_t husk_container_create(const struct husk_create_opts *o, char *dir, size_t dir_cap, struct husk_err *err)
{
	struct husk_config cfg;
	struct husk_spec spec;
	int r;

	if ((r = husk_id_validate(o->id, err)) < 0)
		return r;
	if ((r = husk_config_load(&cfg, err)) < 0)
		return r;
	if ((r = load_spec(o, &spec, err)) < 0 ||
	    (!o->spec_json && (r = husk_vm_annotations_check(&cfg, &spec, err)) < 0) ||
	    (r = husk_spec_notify_setup(&spec, getenv("NOTIFY_SOCKET"), err)) < 0) {
		husk_spec_free(&spec);
		return r;
	}
	/* as runc: a detached container's terminal needs a console socket; a
	 * foreground run uses its own stdio */
	if (spec.process.terminal && !o->console_socket && !o->foreground) {
		husk_spec_free(&spec);
		return husk_err_set(err, EINVAL,
				    "cannot allocate a terminal for a detached container without --console-socket");
	}
	struct husk_pod_target pod;
	if ((r = husk_pod_resolve(o->root, o->id, &spec, &pod, err)) < 0) {
		husk_spec_free(&spec);
		return r;
	}
	if (pod.member) {
		pid_t pid = create_member(o, &spec, &cfg, &pod, dir, dir_cap, err);
		husk_spec_free(&spec);
		return pid;
	}
	if ((r = mkdir_p(o->root, 0700, err)) < 0 ||
	    (r = husk_state_path(dir, dir_cap, o->root, o->id, NULL, err)) < 0) {
		husk_spec_free(&spec);
		return r;
	}
	char real[PATH_MAX];
	if ((r = husk_state_dir_create(dir, o->id, real, sizeof real, err)) < 0) {
		husk_spec_free(&spec);
		if (r == -EEXIST) {
			husk_err_clear(err);
			return husk_err_set(err, EEXIST, "container with id \"%s\" already exists", o->id);
		}
		return r;
	}
	husk_log_set_id(o->id);
	husk_state_link_default(o->root, o->id, real);

	struct husk_monitor_args a = {
		.id = o->id,
		.state_dir = real,
		.spec = &spec,
		.cfg = &cfg,
		.ready_fd = -1,
		.console_socket = o->console_socket,
		.log_to_caller_file = o->log_to_caller_file,
		.systemd_cgroup = o->systemd_cgroup,
	};
	pid_t pid = create_adopting(o, &a, &pod, err);
	if (pid == -ENOENT)
		pid = fork_monitor(container_monitor_body, &a, "container monitor", err);
	husk_spec_free(&spec);
	if (pid < 0) {
		/* the monitor ran the poststop hooks of a create that failed */
		struct husk_err rerr = { 0 };
		remove_dir(dir, o->id, &rerr);
	}
	return pid;
}

/* The container's state dir and status, for a verb that needs no more. */
static int load_status(const char *root, const char *id, char *dir, size_t dir_cap, enum husk_status *status,
		       struct husk_err *err)
{
	struct husk_state st;
	int r = husk_container_load(root, id, dir, dir_cap, &st, err);
	if (r < 0)
		return r;
	*status = husk_state_status(&st);
	husk_state_free(&st);
	return 0;
}

int husk_container_start(const char *root, const char *id, struct husk_err *err)
{
	char dir[PATH_MAX];
	enum husk_status status;
	int r = load_status(root, id, dir, sizeof dir, &status, err);
	if (r < 0)
		return r;
	if (status != HUSK_STATUS_CREATED)
		return husk_err_set(err, EINVAL, "cannot start a container that is %s; it must be created",
				    husk_status_name(status));
	return husk_ctl_start(dir, err);
}

int husk_container_kill(const char *root, const char *id, int sig, bool all, struct husk_err *err)
{
	char dir[PATH_MAX];
	enum husk_status status;
	int r = load_status(root, id, dir, sizeof dir, &status, err);
	if (r < 0)
		return r;
	/* runc's words: containerd's runc shim takes an error containing
	 * "container not running" for "already gone" (checkKillError); any
	 * other text fails the CRI's stop of a sandbox that has exited */
	if (!husk_status_live(status))
		return husk_err_set(err, EINVAL, "cannot signal \"%s\": container not running", id);
	if (sig == 0)
		return 0; /* a liveness check: the monitor lives, the container is not stopped */
	return husk_ctl_signal(dir, sig, all, err);
}

int husk_container_can_exec(const struct husk_state *st, bool ignore_paused, struct husk_err *err)
{
	enum husk_status status = husk_state_status(st);
	if (status == HUSK_STATUS_PAUSED && !ignore_paused)
		return husk_err_set(err, EINVAL, "cannot exec in a paused container (use --ignore-paused to override)");
	if (!husk_status_live(status))
		return husk_err_set(err, EINVAL, "cannot exec in a %s container", husk_status_name(status));
	return 0;
}

pid_t husk_container_exec(const char *dir, const struct husk_state *st, const struct husk_process_spec *process,
			  const char *console_socket, bool log_to_caller_file, struct husk_err *err)
{
	struct husk_exec_monitor_args a = {
		.id = st->id,
		.state_dir = dir,
		.vsock = &st->vsock,
		.process = process,
		.ctr = st->slot,
		.ready_fd = -1,
		.console_socket = console_socket,
		.log_to_caller_file = log_to_caller_file,
	};
	return fork_monitor(exec_monitor_body, &a, "exec monitor", err);
}

const char *husk_container_vsock_resolve(const char *mode)
{
	if (strcmp(mode, "auto"))
		return mode;
	return husk_vhost_vsock_usable() ? "vhost" : "vhost-user";
}
