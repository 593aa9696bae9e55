/* A VM's host cgroup: the monitor, QEMU, virtiofsd and the vsock back-end
 * live in linux.cgroupsPath (resolved as runc 1.1.5 does), with a memory
 * limit covering the VM (its size plus a documented overhead), a pids
 * limit, the CPU weight and quota the spec asks for, and block-IO weights
 * and throttles (QEMU and virtiofsd do the container's block I/O on the
 * host). cgroup v2, or the v1 hierarchies cpu, cpuacct, memory, pids and
 * blkio. */
#ifndef HUSK_HOST_HOST_CGROUP_H
#define HUSK_HOST_HOST_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "proto/msg_resources.h"

/* memory limit = the VM's memory + TCG's translation cache (under TCG) +
 * this: QEMU's own heap and threads, virtiofsd, the vsock back-end and the
 * monitor (docs/configuration.md) */
#define HUSK_HOST_CG_OVERHEAD_MIB 64
/* pids limit = this + per vCPU: QEMU's vCPU and I/O threads, virtiofsd's
 * thread pool, the helpers */
#define HUSK_HOST_CG_PIDS_BASE 512
#define HUSK_HOST_CG_PIDS_PER_VCPU 4
/* pids limit of a pod member's group, which holds its monitor alone */
#define HUSK_MEMBER_CG_PIDS 64

struct husk_host_cgroup_limits {
	int64_t memory;      /* bytes; 0: none */
	int64_t pids;        /* 0: none */
	uint64_t cpu_shares; /* v1 scale 2..262144 (cpu.weight on v2); 0: unset */
	int64_t cpu_quota;   /* microseconds; -1: no quota; 0: unset */
	uint64_t cpu_period; /* microseconds; 0: unset */
};

/* --- host_cgroup_path.c: computed, nothing touched ----------------------- */

/* runc's CleanPath: lexically clean, ".." never above the start. */
int husk_cgroup_clean(const char *in, char *out, size_t cap);
/* linux.cgroupsPath as a path inside a hierarchy. cgroupfs: absolute as
 * given, relative (relative = true) under the caller's own cgroup, empty:
 * the id, relative. systemd (--systemd-cgroup): "slice:prefix:name", each
 * part defaulted (system.slice, husk, the id), becomes the path systemd
 * gives that unit, "/a.slice/a-b.slice/prefix-name.scope". */
int husk_cgroup_inner(const char *cgroups_path, bool systemd, const char *id, char *out, size_t cap, bool *relative,
		      struct husk_err *err);
/* mount + (own, when relative) + inner */
int husk_cgroup_join_path(const char *mount, const char *own, const char *inner, bool relative, char *out, size_t cap);
/* The limits for a VM of vm_mib MiB and vcpus (tb_mib: TCG's cache, 0
 * under KVM), the CPU values from res (may be NULL). */
void husk_host_cgroup_limits(long vm_mib, int vcpus, long tb_mib, const struct husk_resources *res,
			     struct husk_host_cgroup_limits *out);
/* cpu.shares to cgroup v2's cpu.weight, as runc converts it */
uint64_t husk_cgroup_shares_to_weight(uint64_t shares);

struct husk_cg_write {
	const char *file;
	char value[48];
};
/* The files and values that set l, in the order to write them. */
size_t husk_cgroup_limit_writes(bool v2, const struct husk_host_cgroup_limits *l, struct husk_cg_write *w, size_t cap);
size_t husk_cgroup_cpu_writes(bool v2, const struct husk_host_cgroup_limits *l, struct husk_cg_write *w, size_t cap);

/* --- host_cgroup.c: the host's cgroup file system ------------------------- */

/* Creates the VM's group in every hierarchy, sets l, moves the caller (the
 * monitor, before it starts the VM's processes, which inherit it) in. The
 * groups are listed in <state_dir>/host-cgroups. io_out gets the group
 * that holds the io or blkio controller ("" without one). A cgroupsPath
 * that is bad, names the caller's own cgroup or one above it, or a limit
 * the host refuses, is a one-line error; nothing is left made. A host
 * without a cgroup file system gets no group (a warning, in err, with 0). */
int husk_host_cgroups_join(const char *id, const char *cgroups_path, bool systemd,
			   const struct husk_host_cgroup_limits *l, const char *state_dir, char *io_out, size_t cap,
			   struct husk_err *err);
/* Moves process pid into every group listed in <state_dir>/host-cgroups
 * (a pool VM's monitor, QEMU, virtiofsd and back-end, adopted by the
 * container: docs/design-pool.md). No list: nothing to do. */
int husk_host_cgroups_add(const char *state_dir, pid_t pid, struct husk_err *err);
/* `husk update`: the CPU values of res (shares, quota, period) into the
 * VM's host cgroup; nothing to do when res sets none. */
int husk_host_cgroups_update_cpu(const char *state_dir, const struct husk_resources *res, struct husk_err *err);
/* Removes the groups husk made (rmdir: only empty ones go); leave_self:
 * the caller (the monitor) first moves back to where it came from. */
void husk_host_cgroups_remove(const char *state_dir, bool leave_self);

/* Sets the proportional block-IO weight (10-1000) of the group at path. */
int husk_io_cgroup_set_weight(const char *path, unsigned weight, struct husk_err *err);
/* Applies linux.resources.blockIO (weight, throttle*Device) from
 * config.json to the group at path; a clear error for what the host
 * cannot do. */
int husk_io_cgroup_apply_spec(const char *path, json_t *block_io, struct husk_err *err);

#endif
