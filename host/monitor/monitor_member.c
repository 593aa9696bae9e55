/* A pod member's monitor (docs/pods.md): an exec monitor grown up. It owns
 * no VM: the sandbox's monitor does, and is confined so that it could not
 * fork this one. Its container is created in slot a->slot of the sandbox's
 * VM over a session of its own, which binds the container: START, SIGNAL,
 * PAUSE, PS, ... forwarded from ctl.sock on it need no slot number. The
 * slot's share was injected by the caller (host/container/container.c),
 * which also takes it out again at delete. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <jansson.h>

#include "proto/msg.h"
#include "proto/msg_session.h"
#include "host/monitor/ctl.h"
#include "host/monitor/monitor_confine.h"
#include "host/monitor/monitor_priv.h"
#include "host/net/net.h"
#include "host/state/host_cgroup.h"
#include "host/state/log.h"

_Static_assert(HUSK_NS_JOIN_KINDS == HUSK_JOIN_KINDS, "host/spec and proto name the same joinable kinds");

/* The pod fields of state.json, before the first write. */
static void record_pod(struct monitor *m, const struct husk_member_monitor_args *a)
{
	const struct husk_pool_vm *vm = a->pool_vm;
	if (vm) {
		/* a container of its own VM, as a cold one, which its delete
		 * stops through the pool monitor (host/container/container.c) */
		snprintf(m->st.vm_dir, sizeof m->st.vm_dir, "%s", vm->dir);
		m->st.vm_monitor = vm->monitor;
		m->st.qemu = vm->qemu;
		m->st.virtiofsd = vm->virtiofsd;
		m->st.vsock_backend = vm->vsock_backend;
	} else {
		snprintf(m->st.sandbox, sizeof m->st.sandbox, "%s", a->sandbox_id);
		snprintf(m->st.sandbox_dir, sizeof m->st.sandbox_dir, "%s", a->sandbox_dir);
	}
	m->st.slot = a->slot;
	m->st.vsock = a->vsock; /* exec in a member reaches the sandbox's guest */
	m->st.vm_memory_mib = m->vm.memory_mib = a->vm_memory_mib;
	m->st.vm_vcpus = m->vm.vcpus = a->vm_vcpus;
}

/* The pod's network namespace, the sandbox monitor's: /proc/<pid>/ns/net
 * of a member is the pod's, as for the sandbox (docs/pods.md). After the
 * hook runner (hooks keep the host's, as runc's) and before confinement
 * (which forbids setns). */
static int enter_pod_netns(struct husk_member_monitor_args *a, struct husk_err *err)
{
	if (a->netns_fd < 0)
		return 0;
	int r = 0;
	if (setns(a->netns_fd, CLONE_NEWNET) < 0)
		r = a->pool_vm ? husk_err_sys(err, errno, "entering the container's network namespace")
			       : husk_err_sys(err, errno, "entering the network namespace of sandbox \"%s\"",
					      a->sandbox_id);
	close(a->netns_fd);
	a->netns_fd = -1;
	return r;
}

/* An adopted pool VM's host cgroups are the container's, sized as a cold
 * VM's (mon_cgroups_join): the monitor joins them, and the VM's monitor,
 * QEMU, virtiofsd and back-end, booted before the container existed, are
 * moved in. A member's group holds only its monitor. */
static int join_cgroups(struct monitor *m, const struct husk_member_monitor_args *a, struct husk_err *err)
{
	const struct husk_pool_vm *vm = a->pool_vm;
	if (!vm)
		return mon_member_cgroup_join(m, err);
	int r = mon_cgroups_join(m, err);
	const struct husk_pid_ref *procs[] = { &vm->monitor, &vm->qemu, &vm->virtiofsd, &vm->vsock_backend };
	for (size_t i = 0; r == 0 && i < sizeof procs / sizeof procs[0]; i++)
		if (procs[i]->pid > 0 && husk_pid_ref_alive(procs[i]))
			r = husk_host_cgroups_add(a->base.state_dir, procs[i]->pid, err);
	return r;
}

/* ADOPT on the pool VM's ctl.sock: from now on the VM is this container's,
 * and the connection, held until the monitor ends, is its owner link (the
 * pool monitor stops the VM when it closes). */
static int adopt_vm(struct monitor *m, const struct husk_member_monitor_args *a, struct husk_err *err)
{
	if (!a->pool_vm)
		return 0;
	uint8_t buf[512]; /* an id is at most 255 bytes */
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_adopt(&e, &(struct husk_adopt_msg){ .id = (char *)a->base.id });
	int r = husk_cbor_enc_finish(&e, err);
	if (r == 0)
		r = husk_ctl_call_keep(a->pool_vm->dir, HUSK_MSG_ADOPT, e.buf, e.len, 5000, &m->owner_fd, err);
	if (r < 0)
		return husk_err_wrap(err, "adopting pool VM %s", a->pool_vm->dir);
	log_info("adopted pool VM %s", a->pool_vm->dir);
	return 0;
}

/* Up to the container created in the guest. */
static int member_create(struct monitor *m, struct husk_member_monitor_args *a, struct husk_err *err)
{
	const struct husk_monitor_args *b = &a->base;
	struct husk_vsock vsock;
	struct husk_ns_join join = { 0 };
	int master = -1;
	int r = mon_terminal_setup(m, &b->spec->process, b->console_socket, &master, err);
	if (r < 0)
		return r;
	bool stdin_open = m->console_slave >= 0 || !mon_fd_is_dev_null(0);
	if ((r = mon_hook_runner_start(m, err)) < 0 || (r = enter_pod_netns(a, err)) < 0 ||
	    (r = join_cgroups(m, a, err)) < 0 || (r = adopt_vm(m, a, err)) < 0 ||
	    (r = husk_vsock_attach(&vsock, &a->vsock, err)) < 0 || (r = mon_setup_loop(m, err)) < 0 ||
	    (r = mon_listen_ctl(m, err)) < 0 || (r = husk_monitor_confine(err)) < 0)
		return r;
	m->vm.session_fd = husk_vsock_connect(&vsock, HUSK_GUEST_PORT, 10000, err);
	if (m->vm.session_fd < 0)
		return a->pool_vm ? husk_err_wrap(err, "reaching pool VM %s", a->pool_vm->dir)
				  : husk_err_wrap(err, "reaching the VM of sandbox \"%s\"", a->sandbox_id);
	for (unsigned k = 0; k < HUSK_NS_JOIN_KINDS; k++)
		if (a->join_mask & (1u << k)) {
			join.mask |= husk_join_ns((enum husk_join_kind)k);
			join.slot[k] = (uint8_t)a->join_slot[k];
		}
	r = husk_guest_create(m->vm.session_fd, b, stdin_open, a->network, a->slot, &join, m->vm.kernel_release,
			      sizeof m->vm.kernel_release, &m->vm.guest_pid, err);
	if (r < 0)
		return r;
	if ((r = mon_attach_stdio(m, &b->spec->process, b->console_socket, master, stdin_open, err)) < 0)
		return r;
	m->status = m->st.status = HUSK_STATUS_CREATED;
	m->st.guest_pid = m->vm.guest_pid;
	json_t *ann = json_object_get(b->spec->json, "annotations");
	if (json_is_object(ann))
		m->st.annotations = json_incref(ann);
	if ((r = husk_state_write(b->state_dir, &m->st, err)) < 0 ||
	    (r = mon_run_hooks(m, HUSK_HOOK_PRESTART, false, err)) < 0 ||
	    (r = mon_run_hooks(m, HUSK_HOOK_CREATE_RUNTIME, false, err)) < 0 ||
	    (r = mon_run_hooks(m, HUSK_HOOK_CREATE_CONTAINER, false, err)) < 0)
		return r;
	return 0;
}

/* A create that failed: the session goes (the guest frees the slot), the
 * poststop hooks run with the state "stopped", as for a container of its
 * own. */
static int member_fail(struct monitor *m, const struct husk_err *err)
{
	struct husk_err herr = { 0 };
	mon_tty_restore(m);
	mon_session_lost(m);
	if (!m->adopted)
		mon_cgroups_remove(m);
	mon_set_status(m, HUSK_STATUS_STOPPED);
	mon_run_hooks(m, HUSK_HOOK_POSTSTOP, true, &herr);
	return mon_fail_ready(m->a->ready_fd, err);
}

/* The member's status: its init's, or 137 when the VM went first. */
static int member_finish(struct monitor *m)
{
	mon_tty_restore(m);
	int status = m->exit_status;
	if (!mon_exited(m)) {
		log_error(m->adopted ? "the VM stopped before the container exited"
				     : "the pod's VM stopped before the container exited");
		status = 128 + 9;
	}
	mon_session_lost(m); /* the guest reaps what is left and frees the slot */
	if (!m->adopted)     /* an adopted VM's processes are still in them: delete removes them */
		mon_cgroups_remove(m);
	else /* its filters go as a cold VM's do when it stops (delete again, from network.json) */
		husk_net_cleanup_dir(m->a->state_dir);
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

int husk_member_monitor_run(struct husk_member_monitor_args *a)
{
	struct husk_err err = { 0 };
	prctl(PR_SET_NAME, "husk-member");
	struct monitor *m = mon_init(a->base.id, a->base.state_dir, a->base.log_to_caller_file, "monitor.log");
	m->a = &a->base;
	m->member_mode = true;
	m->slot = a->slot;
	m->adopted = a->pool_vm != NULL;
	record_pod(m, a);
	if (mon_record_creating(m, &err) < 0)
		return mon_fail_ready(a->base.ready_fd, &err);
	if (member_create(m, a, &err) < 0)
		return member_fail(m, &err);
	mon_watch(m, &m->ctl_w, EPOLLIN, true);
	mon_watch_session_and_stdio(m);
	if (a->pool_vm)
		log_info("created in pool VM %s, guest pid %d", a->pool_vm->dir, m->vm.guest_pid);
	else
		log_info("created in slot %u of sandbox %s, guest pid %d", a->slot, a->sandbox_id, m->vm.guest_pid);
	mon_report_ready(a->base.ready_fd, "OK");
	mon_run_loop(m);
	return member_finish(m);
}
