/* Container resources in the guest's cgroup v2 (linux.resources, `update`)
 * and the statistics read back from it (`events --stats`). A field is
 * applied only when its has_ flag is set; -1 means "max" (no limit). */
#ifndef HUSK_PROTO_MSG_RESOURCES_H
#define HUSK_PROTO_MSG_RESOURCES_H

#include "proto/msg.h"

#define HUSK_CPUSET_MAX 256
#define HUSK_DEVICE_RULES_MAX 256

enum { HUSK_DEV_READ = 1, HUSK_DEV_WRITE = 2, HUSK_DEV_MKNOD = 4 };

/* one linux.resources.devices entry; later entries override earlier ones */
struct husk_device_rule {
	bool allow;
	char type;      /* 'a' (all), 'c' or 'b' */
	int64_t major;  /* -1 = any */
	int64_t minor;  /* -1 = any */
	uint8_t access; /* HUSK_DEV_* bits */
};

/* one linux.resources.hugepageLimits entry: the bytes of huge pages of
 * one size the container may use (the guest's hugetlb.<size>.max) */
#define HUSK_HUGETLB_MAX 8u
#define HUSK_HUGETLB_MIN_KB 64ull
#define HUSK_HUGETLB_MAX_KB (16ull << 20) /* 16 GiB */
struct husk_hugetlb_limit {
	uint64_t page_kb; /* a power of two, HUSK_HUGETLB_MIN_KB to HUSK_HUGETLB_MAX_KB */
	uint64_t limit;   /* bytes, at most INT64_MAX */
};

struct husk_resources {
	bool has_memory_limit, has_memory_reservation, has_memory_swap;
	int64_t memory_limit, memory_reservation, memory_swap; /* bytes, -1 = max; swap counts memory+swap as runc */
	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	uint64_t cpu_shares;             /* cgroup v1 scale 2..262144, converted to cpu.weight in the guest */
	int64_t cpu_quota;               /* microseconds, -1 = max */
	uint64_t cpu_period;             /* microseconds */
	char *cpuset_cpus, *cpuset_mems; /* NULL when not set */
	bool has_pids_limit;
	int64_t pids_limit; /* -1 = max */
	/* the device allow/deny list, enforced in the guest's cgroup v2 */
	bool has_devices;
	struct husk_device_rule *devices;
	uint32_t n_devices;
	/* huge page limits, in the guest's hugetlb controller */
	bool has_hugetlb;
	struct husk_hugetlb_limit *hugetlb;
	uint32_t n_hugetlb;
};

/* UPDATE {resources[, ctr]}: the resources are required; ctr (pods) names
 * the container, written only when has_ctr. */
struct husk_update_msg {
	struct husk_resources resources;
	bool has_ctr;
	uint32_t ctr;
};

/* The OK reply to STATS: runc's stats, read from the container's cgroup.
 * memory_limit and pids_limit are -1 for "max". memory_stat is memory.stat,
 * at most HUSK_STATS_MEMORY_MAX counters, keys of at most
 * HUSK_STATS_KEY_MAX bytes. Every key is required. */
#define HUSK_STATS_MEMORY_MAX 64u
#define HUSK_STATS_KEY_MAX 63u
struct husk_stat_counter {
	const char *key;
	uint64_t value;
};
struct husk_stats_msg {
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t memory_usage;
	int64_t memory_limit;
	uint64_t swap_usage;
	uint64_t pids_current;
	int64_t pids_limit;
	uint64_t io_read_bytes, io_write_bytes, io_reads, io_writes;
	uint64_t oom_kills;
	struct husk_stat_counter *memory_stat;
	uint32_t n_memory_stat;
	uint64_t time_ns; /* CLOCK_REALTIME in the guest */
};

void husk_msg_encode_resources(struct husk_cbor_enc *e, const struct husk_resources *r);
int husk_msg_decode_resources(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_resources *out,
			      struct husk_err *err);
void husk_msg_encode_update(struct husk_cbor_enc *e, const struct husk_update_msg *m);
int husk_msg_decode_update(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_update_msg *m,
			   struct husk_err *err);
void husk_msg_encode_stats(struct husk_cbor_enc *e, const struct husk_stats_msg *m);
int husk_msg_decode_stats(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_stats_msg *m,
			  struct husk_err *err);
/* The kernel's name of a huge page size, as in hugetlb.<name>.max and
 * the OCI pageSize: "2MB", "1GB", "64KB". */
void husk_hugetlb_name(uint64_t page_kb, char *buf, size_t cap);
/* true if no field is set */
bool husk_resources_empty(const struct husk_resources *r);

#endif
