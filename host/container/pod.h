/* Pods (docs/pods.md): which VM a container being created runs in. A
 * container whose config.json names another husk container (by the CRI
 * engines' annotations, or by a pid/ipc/uts/cgroup namespace path to that
 * container's monitor) is a member of that container's VM, the sandbox's;
 * any other container owns a VM and is a sandbox (slot 0). */
#ifndef HUSK_HOST_CONTAINER_POD_H
#define HUSK_HOST_CONTAINER_POD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "host/spec/spec.h"

struct husk_pod_target {
	bool member;          /* joins the VM of sandbox_id */
	bool pod_sandbox;     /* annotated as a pod's sandbox (type "sandbox") */
	char sandbox_id[256]; /* member: the sandbox (slot 0) */
	char sandbox_dir[PATH_MAX];
	/* bit i (husk_ns_join_index()): that kind is joined, from the
	 * container in slot join_slot[i] (0: the sandbox) */
	uint32_t join_mask;
	uint32_t join_slot[HUSK_NS_JOIN_KINDS];
	char why[320]; /* what named the sandbox, for messages */
};

/* Finds the container's VM, first rule wins:
 * 1. annotations: containerd's io.kubernetes.cri.container-type and
 *    .sandbox-id; CRI-O's and Podman 4.3's io.kubernetes.cri-o.ContainerType
 *    and .SandboxID; Podman >= 4.4's io.kubernetes.cri-o.SandboxID alone,
 *    when it is not the container's own id. Type "sandbox": a VM of its own.
 * 2. namespace paths /proc/<pid>/ns/<kind> (pid, ipc, uts, cgroup, net)
 *    where <pid> is a live husk monitor under root or the default root; a
 *    member's monitor stands for its sandbox and its slot is the join's
 *    (net: the VM's network is joined whole, no slot). A network path
 *    that is no monitor's is left to host/net (a VM of the container's
 *    own wired into it), or ignored for a member (the pod's netns).
 * 3. annotations and paths naming different VMs, an annotated sandbox that
 *    is no live husk container, or a path that is no husk monitor's
 *    (today's "not possible across the VM boundary"): one-line errors. */
int husk_pod_resolve(const char *root, const char *id, const struct husk_spec *spec, struct husk_pod_target *t,
		     struct husk_err *err);

#endif
