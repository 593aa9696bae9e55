/* A sandbox's pod record (docs/pods.md): <sandbox dir>/pod.json
 * {"closing":bool,"members":{"<id>":slot}} and <sandbox dir>/pod.lock,
 * an flock every change of the pod takes (a member's create and delete,
 * the sandbox's delete). Not <id>/lock: the monitor takes that one at
 * every state write. */
#ifndef HUSK_HOST_STATE_POD_H
#define HUSK_HOST_STATE_POD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/proto.h"

struct husk_pod_member {
	char id[256];
	uint32_t slot; /* 1 .. HUSK_POD_MAX-1 */
};

struct husk_pod {
	bool closing; /* the sandbox is being deleted: no member joins */
	uint32_t n;
	struct husk_pod_member members[HUSK_POD_MAX - 1];
};

/* Takes pod.lock (blocking); returns its fd, closed to unlock. */
int husk_pod_lock(const char *sandbox_dir, struct husk_err *err);
/* pod.json, checked (ids valid, slots in range and distinct); a missing
 * file is an empty pod. */
int husk_pod_read(const char *sandbox_dir, struct husk_pod *p, struct husk_err *err);
int husk_pod_write(const char *sandbox_dir, const struct husk_pod *p, struct husk_err *err);
/* The lowest slot no member holds, or -ENOSPC when all 15 are taken. */
int husk_pod_free_slot(const struct husk_pod *p);
/* The member's slot, or -ENOENT. */
int husk_pod_find(const struct husk_pod *p, const char *id);
int husk_pod_add(struct husk_pod *p, const char *id, uint32_t slot, struct husk_err *err);
/* Drops a member; false when it was not there. */
bool husk_pod_remove(struct husk_pod *p, const char *id);

#endif
