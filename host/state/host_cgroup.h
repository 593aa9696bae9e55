/* A host cgroup for one VM's I/O processes (QEMU and virtiofsd do the
 * container's block I/O on the host), so that blockIO.weight and `update
 * --blkio-weight` have something to act on: cgroup v2 `io` where the host
 * offers it, else cgroup v1 `blkio`. */
#ifndef HUSK_HOST_HOST_CGROUP_H
#define HUSK_HOST_HOST_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

/* Creates the group for container id and moves each pid (and its children)
 * in; path_out is empty when the host has no io/blkio controller. */
int husk_io_cgroup_create(const char *id, const pid_t *pids, size_t n, char *path_out, size_t cap,
			  struct husk_err *err);
/* Sets the proportional weight (10-1000) of the group at path. */
int husk_io_cgroup_set_weight(const char *path, unsigned weight, struct husk_err *err);
/* Applies linux.resources.blockIO (weight, weightDevice, throttle*Device)
 * from config.json to the group at path; a clear error for what the host
 * cannot do. */
int husk_io_cgroup_apply_spec(const char *path, json_t *block_io, struct husk_err *err);

/* Removes the group (empty once the VM's processes are gone). */
void husk_io_cgroup_remove(const char *path);

/* On cgroup v1 hosts, moves the calling process (the monitor, before it
 * starts QEMU and virtiofsd, which inherit it) into a group husk-<id> of
 * its own in the cpu, cpuacct, memory and pids hierarchies, under the group
 * it was in. containerd's shim reads the task pid's cgroups for `ctr task
 * metrics` (and Docker's stats): they then count the VM's host usage, not
 * the whole host's. The groups made are listed in <state_dir>/host-cgroups.
 * Best effort: a group that cannot be made is skipped (warned in err). */
int husk_stats_cgroups_join(const char *id, const char *state_dir, struct husk_err *err);
/* Removes the groups listed in state_dir; leave_self first moves the
 * caller back to each parent. */
void husk_stats_cgroups_remove(const char *state_dir, bool leave_self);

/* Everything host-side a container's VM was given: its io group and its
 * metric groups. leave_self: the caller (the monitor) is in them and moves
 * back to each parent first. */
void husk_host_cgroups_remove(const char *state_dir, const char *io_cgroup, bool leave_self);

#endif
