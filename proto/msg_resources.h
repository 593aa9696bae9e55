/* Container resources in the guest's cgroup v2 (linux.resources, `update`)
 * and the statistics read back from it (`events --stats`). A field is
 * applied only when its has_ flag is set; -1 means "max" (no limit). */
#ifndef HUSK_PROTO_MSG_RESOURCES_H
#define HUSK_PROTO_MSG_RESOURCES_H

#include "msg.h"

#define HUSK_CPUSET_MAX 256

struct husk_resources {
	bool has_memory_limit, has_memory_reservation, has_memory_swap;
	int64_t memory_limit, memory_reservation, memory_swap; /* bytes, -1 = max; swap counts memory+swap as runc */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	uint64_t cpu_shares;  /* cgroup v1 scale 2..262144, converted to cpu.weight in the guest */
	int64_t cpu_quota;    /* microseconds, -1 = max */
	uint64_t cpu_period;  /* microseconds */
	char *cpuset_cpus, *cpuset_mems; /* NULL when not set */
	bool has_pids_limit;
	int64_t pids_limit;   /* -1 = max */
};

void husk_msg_encode_resources(struct husk_cbor_enc *e, const struct husk_resources *r);
int husk_msg_decode_resources(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_resources *out,
			      struct husk_err *err);
/* true if no field is set */
bool husk_resources_empty(const struct husk_resources *r);

#endif
