/* The rules on the container table (pods): each slot's paths, which slot
 * a request means, whether a CREATE may take a slot. No syscalls: built
 * into the host unit tests too (tests/unit/test_guest_ctr.c). */
#include <stdio.h>
#include <string.h>

#include "proto/msg_container.h"
#include "guest/guest.h"

void ctr_paths(struct gctr *g, uint32_t idx, bool tree)
{
	g->idx = idx;
	if (idx == 0)
		snprintf(g->cgroup, sizeof g->cgroup, "%s", GUEST_CONTAINER_CGROUP);
	else
		/* a sibling, not a child: a group with processes has no children
		 * with controllers (cgroup v2's no-internal-processes rule) */
		snprintf(g->cgroup, sizeof g->cgroup, "%s.%u", GUEST_CONTAINER_CGROUP, idx);
	/* slot 0's tree is the share itself, unless CREATE says "tree" (a
	 * pooled VM, whose share has the slot dirs ctr/0 .. ctr/15) */
	if (idx == 0 && !tree)
		snprintf(g->vfs, sizeof g->vfs, "%s", GUEST_VFS_DIR);
	else
		snprintf(g->vfs, sizeof g->vfs, "%s/ctr/%u", GUEST_VFS_DIR, idx);
	snprintf(g->rootfs, sizeof g->rootfs, "%s/rootfs", g->vfs);
}

bool ctr_alive(const struct gctr *g)
{
	return g && g->used && !g->closing && g->init && !g->init->exited;
}

int ctr_resolve(const struct gctr *table, const struct gctr *session, bool has_ctr, uint32_t ctr, uint32_t *out,
		struct husk_err *err)
{
	uint32_t want = has_ctr ? ctr : session ? session->idx : 0;
	if (want >= HUSK_POD_MAX)
		return husk_err_set(err, ERANGE, "container slot %u is out of range", want);
	if (has_ctr && session && session->idx != want)
		return husk_err_set(err, EPERM, "this session belongs to container %u of the pod, not %u", session->idx,
				    want);
	if (!table[want].used || table[want].closing)
		return husk_err_set(err, ESRCH, "slot %u of the pod holds no container", want);
	*out = want;
	return 0;
}

int ctr_check_create(const struct gctr *table, const struct gctr *session, uint32_t idx,
		     const struct husk_ns_join *join, struct husk_err *err)
{
	if (idx >= HUSK_POD_MAX)
		return husk_err_set(err, ERANGE, "container slot %u is out of range", idx);
	/* today's message for a second CREATE in a one-container VM */
	if (idx == 0 && (table[0].used || session))
		return husk_err_set(err, EEXIST, "this VM already holds a container");
	if (session)
		return husk_err_set(err, EEXIST, "this session already holds container %u of the pod", session->idx);
	if (idx > 0 && !ctr_alive(&table[0]))
		return husk_err_set(err, ENOENT, "container %u of the pod needs a running first container (slot 0)",
				    idx);
	if (table[idx].used)
		return husk_err_set(err, EEXIST, "slot %u of the pod holds a container already", idx);
	for (int k = 0; k < HUSK_JOIN_KINDS; k++) {
		if (!(join->mask & husk_join_ns((enum husk_join_kind)k)))
			continue;
		uint32_t s = join->slot[k];
		if (s >= HUSK_POD_MAX || s == idx)
			return husk_err_set(err, EINVAL, "join: bad slot %u for the %s namespace", s,
					    husk_join_key((enum husk_join_kind)k));
		if (!ctr_alive(&table[s]))
			return husk_err_set(err, ESRCH, "join: slot %u of the pod holds no running container (%s)", s,
					    husk_join_key((enum husk_join_kind)k));
	}
	return 0;
}
