#include "proto/msg_resources.h"

#include <stdio.h>
#include <string.h>

bool husk_resources_empty(const struct husk_resources *r)
{
	return !r->has_memory_limit && !r->has_memory_reservation && !r->has_memory_swap && !r->has_cpu_shares &&
	       !r->has_cpu_quota && !r->has_cpu_period && !r->cpuset_cpus && !r->cpuset_mems && !r->has_pids_limit &&
	       !r->has_devices && !r->has_hugetlb;
}

void husk_hugetlb_name(uint64_t page_kb, char *buf, size_t cap)
{
	/* the kernel's mem_fmt(): the largest unit that divides the size */
	if (page_kb >= (1u << 20) && page_kb % (1u << 20) == 0)
		snprintf(buf, cap, "%lluGB", (unsigned long long)(page_kb >> 20));
	else if (page_kb >= 1024 && page_kb % 1024 == 0)
		snprintf(buf, cap, "%lluMB", (unsigned long long)(page_kb >> 10));
	else
		snprintf(buf, cap, "%lluKB", (unsigned long long)page_kb);
}

static void put_int_field(struct husk_cbor_enc *e, const char *key, int64_t v)
{
	husk_cbor_put_text(e, key);
	husk_cbor_put_int(e, v);
}

void husk_msg_encode_resources(struct husk_cbor_enc *e, const struct husk_resources *r)
{
	uint32_t n = r->has_memory_limit + r->has_memory_reservation + r->has_memory_swap + r->has_cpu_shares +
		     r->has_cpu_quota + r->has_cpu_period + (r->cpuset_cpus != NULL) + (r->cpuset_mems != NULL) +
		     r->has_pids_limit + r->has_devices + r->has_hugetlb;
	husk_cbor_put_map(e, n);
	if (r->has_memory_limit)
		put_int_field(e, "memory_limit", r->memory_limit);
	if (r->has_memory_reservation)
		put_int_field(e, "memory_reservation", r->memory_reservation);
	if (r->has_memory_swap)
		put_int_field(e, "memory_swap", r->memory_swap);
	if (r->has_cpu_shares)
		put_int_field(e, "cpu_shares", (int64_t)r->cpu_shares);
	if (r->has_cpu_quota)
		put_int_field(e, "cpu_quota", r->cpu_quota);
	if (r->has_cpu_period)
		put_int_field(e, "cpu_period", (int64_t)r->cpu_period);
	if (r->cpuset_cpus) {
		husk_cbor_put_text(e, "cpuset_cpus");
		husk_cbor_put_text(e, r->cpuset_cpus);
	}
	if (r->cpuset_mems) {
		husk_cbor_put_text(e, "cpuset_mems");
		husk_cbor_put_text(e, r->cpuset_mems);
	}
	if (r->has_pids_limit)
		put_int_field(e, "pids_limit", r->pids_limit);
	if (r->has_devices) {
		husk_cbor_put_text(e, "devices");
		husk_cbor_put_array(e, r->n_devices);
		for (uint32_t i = 0; i < r->n_devices; i++) {
			const struct husk_device_rule *d = &r->devices[i];
			husk_cbor_put_map(e, 5);
			husk_cbor_put_text(e, "allow");
			husk_cbor_put_bool(e, d->allow);
			husk_cbor_put_text(e, "type");
			husk_cbor_put_textn(e, &d->type, 1);
			put_int_field(e, "major", d->major);
			put_int_field(e, "minor", d->minor);
			put_int_field(e, "access", d->access);
		}
	}
	if (r->has_hugetlb) {
		husk_cbor_put_text(e, "hugetlb");
		husk_cbor_put_array(e, r->n_hugetlb);
		for (uint32_t i = 0; i < r->n_hugetlb; i++) {
			husk_cbor_put_map(e, 2);
			put_int_field(e, "page_kb", (int64_t)r->hugetlb[i].page_kb);
			put_int_field(e, "limit", (int64_t)r->hugetlb[i].limit);
		}
	}
}

/* an integer field: -1 (max) or 0..max */
static int get_limit(const struct husk_cbor_item *map, const char *key, int64_t max, bool *has, int64_t *out,
		     struct husk_err *err)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(map, key);
	*has = false;
	if (!v)
		return 0;
	if (v->type == HUSK_CBOR_NINT && v->v.i == -1)
		*out = -1;
	else if (v->type == HUSK_CBOR_UINT && v->v.u <= (uint64_t)max)
		*out = (int64_t)v->v.u;
	else
		return husk_err_set(err, ERANGE, "resources: %s is out of range", key);
	*has = true;
	return 0;
}

/* "0-3,5": digits, commas and dashes only */
static int get_cpuset(const struct husk_cbor_item *map, const char *key, struct husk_arena *a, char **out,
		      struct husk_err *err)
{
	int r = husk_msg_get_text(map, key, HUSK_CPUSET_MAX, true, a, out, err);
	if (r < 0 || !*out)
		return r;
	for (const char *p = *out; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-'))
			return husk_err_set(err, EINVAL, "resources: %s \"%s\" is not a cpu/node list", key, *out);
	return 0;
}

static int decode_devices(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_resources *out,
			  struct husk_err *err)
{
	const struct husk_cbor_item *arr = husk_cbor_map_get(map, "devices");
	if (!arr)
		return 0;
	if (arr->type != HUSK_CBOR_ARRAY || arr->count > HUSK_DEVICE_RULES_MAX)
		return husk_err_set(err, EBADMSG, "resources: devices must be a list of at most %u rules",
				    HUSK_DEVICE_RULES_MAX);
	out->devices = husk_arena_alloc_array(a, arr->count ? arr->count : 1, sizeof *out->devices);
	if (!out->devices)
		return husk_err_set(err, ENOMEM, "resources: devices do not fit the decode arena");
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		struct husk_device_rule *d = &out->devices[i];
		const struct husk_cbor_item *t = it->type == HUSK_CBOR_MAP ? husk_cbor_map_get(it, "type") : NULL;
		bool has;
		int64_t acc = 0;
		int r;
		if (!t || t->type != HUSK_CBOR_TEXT || t->count != 1 || !strchr("acb", *t->v.ptr))
			return husk_err_set(err, EBADMSG, "resources: device rule %u has no valid type", i);
		d->type = (char)*t->v.ptr;
		d->major = d->minor = -1;
		if ((r = husk_msg_get_bool(it, "allow", false, &d->allow, err)) < 0 ||
		    (r = get_limit(it, "major", UINT32_MAX, &has, &d->major, err)) < 0 ||
		    (r = get_limit(it, "minor", UINT32_MAX, &has, &d->minor, err)) < 0 ||
		    (r = get_limit(it, "access", 7, &has, &acc, err)) < 0)
			return r;
		if (!has || acc <= 0)
			return husk_err_set(err, EBADMSG, "resources: device rule %u has no access", i);
		d->access = (uint8_t)acc;
	}
	out->n_devices = arr->count;
	out->has_devices = true;
	return 0;
}

static int decode_hugetlb(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_resources *out,
			  struct husk_err *err)
{
	const struct husk_cbor_item *arr = husk_cbor_map_get(map, "hugetlb");
	if (!arr)
		return 0;
	if (arr->type != HUSK_CBOR_ARRAY || arr->count > HUSK_HUGETLB_MAX)
		return husk_err_set(err, EBADMSG, "resources: hugetlb must be a list of at most %u limits",
				    HUSK_HUGETLB_MAX);
	out->hugetlb = husk_arena_alloc_array(a, arr->count ? arr->count : 1, sizeof *out->hugetlb);
	if (!out->hugetlb)
		return husk_err_set(err, ENOMEM, "resources: hugetlb does not fit the decode arena");
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		int64_t kb = 0, limit = 0;
		bool has_kb = false, has_limit = false;
		int r;
		if (it->type != HUSK_CBOR_MAP)
			return husk_err_set(err, EBADMSG, "resources: hugetlb limit %u is not a map", i);
		if ((r = get_limit(it, "page_kb", (int64_t)HUSK_HUGETLB_MAX_KB, &has_kb, &kb, err)) < 0 ||
		    (r = get_limit(it, "limit", INT64_MAX, &has_limit, &limit, err)) < 0)
			return r;
		if (!has_kb || !has_limit || kb < (int64_t)HUSK_HUGETLB_MIN_KB || (kb & (kb - 1)) || limit < 0)
			return husk_err_set(err, EBADMSG, "resources: hugetlb limit %u needs a page size and a limit",
					    i);
		out->hugetlb[i] = (struct husk_hugetlb_limit){ .page_kb = (uint64_t)kb, .limit = (uint64_t)limit };
	}
	out->n_hugetlb = arr->count;
	out->has_hugetlb = true;
	return 0;
}

int husk_msg_decode_resources(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_resources *out,
			      struct husk_err *err)
{
	int64_t v = 0;
	int r;
	memset(out, 0, sizeof *out);
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "resources is not a map");
	if ((r = get_limit(map, "memory_limit", INT64_MAX, &out->has_memory_limit, &out->memory_limit, err)) < 0 ||
	    (r = get_limit(map, "memory_reservation", INT64_MAX, &out->has_memory_reservation, &out->memory_reservation,
			   err)) < 0 ||
	    (r = get_limit(map, "memory_swap", INT64_MAX, &out->has_memory_swap, &out->memory_swap, err)) < 0 ||
	    (r = get_limit(map, "cpu_quota", INT64_MAX, &out->has_cpu_quota, &out->cpu_quota, err)) < 0 ||
	    (r = get_limit(map, "pids_limit", INT64_MAX, &out->has_pids_limit, &out->pids_limit, err)) < 0)
		return r;
	if ((r = get_limit(map, "cpu_shares", 262144, &out->has_cpu_shares, &v, err)) < 0)
		return r;
	if (out->has_cpu_shares && v < 2)
		return husk_err_set(err, ERANGE, "resources: cpu_shares must be 2 to 262144");
	out->cpu_shares = (uint64_t)v;
	if ((r = get_limit(map, "cpu_period", 1000000, &out->has_cpu_period, &v, err)) < 0)
		return r;
	if (out->has_cpu_period && v < 1000)
		return husk_err_set(err, ERANGE, "resources: cpu_period must be 1000 to 1000000 microseconds");
	out->cpu_period = (uint64_t)v;
	if ((r = get_cpuset(map, "cpuset_cpus", a, &out->cpuset_cpus, err)) < 0 ||
	    (r = get_cpuset(map, "cpuset_mems", a, &out->cpuset_mems, err)) < 0)
		return r;
	if ((r = decode_devices(map, a, out, err)) < 0)
		return r;
	return decode_hugetlb(map, a, out, err);
}

void husk_msg_encode_update(struct husk_cbor_enc *e, const struct husk_update_msg *m)
{
	husk_cbor_put_map(e, 1 + m->has_ctr);
	husk_cbor_put_text(e, "resources");
	husk_msg_encode_resources(e, &m->resources);
	if (m->has_ctr) {
		husk_cbor_put_text(e, "ctr");
		husk_cbor_put_uint(e, m->ctr);
	}
}

int husk_msg_decode_update(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_update_msg *m,
			   struct husk_err *err)
{
	const struct husk_cbor_item *map = husk_cbor_map_get(root, "resources");
	if (!map)
		return husk_err_set(err, EBADMSG, "UPDATE without resources");
	int r = husk_msg_get_ctr(root, &m->has_ctr, &m->ctr, err);
	if (r < 0)
		return r;
	return husk_msg_decode_resources(map, a, &m->resources, err);
}

/* --- the STATS reply ---------------------------------------------------- */

static void put_uint_field(struct husk_cbor_enc *e, const char *key, uint64_t v)
{
	husk_cbor_put_text(e, key);
	husk_cbor_put_uint(e, v);
}

/* a memory.stat key as the decoder takes it, else "?" */
static const char *stat_key(const char *k)
{
	size_t n = k ? strlen(k) : 0;
	if (!k || n > HUSK_STATS_KEY_MAX || !husk_cbor_utf8_valid((const uint8_t *)k, n))
		return "?";
	return k;
}

void husk_msg_encode_stats(struct husk_cbor_enc *e, const struct husk_stats_msg *m)
{
	husk_cbor_put_map(e, 15);
	put_uint_field(e, "cpu_usage_ns", m->cpu_usage_ns);
	put_uint_field(e, "cpu_user_ns", m->cpu_user_ns);
	put_uint_field(e, "cpu_system_ns", m->cpu_system_ns);
	put_uint_field(e, "memory_usage", m->memory_usage);
	put_int_field(e, "memory_limit", m->memory_limit < 0 ? -1 : m->memory_limit);
	put_uint_field(e, "swap_usage", m->swap_usage);
	put_uint_field(e, "pids_current", m->pids_current);
	put_int_field(e, "pids_limit", m->pids_limit < 0 ? -1 : m->pids_limit);
	put_uint_field(e, "io_read_bytes", m->io_read_bytes);
	put_uint_field(e, "io_write_bytes", m->io_write_bytes);
	put_uint_field(e, "io_reads", m->io_reads);
	put_uint_field(e, "io_writes", m->io_writes);
	put_uint_field(e, "oom_kills", m->oom_kills);
	husk_cbor_put_text(e, "memory_stat");
	uint32_t n = m->n_memory_stat < HUSK_STATS_MEMORY_MAX ? m->n_memory_stat : HUSK_STATS_MEMORY_MAX;
	husk_cbor_put_map(e, n);
	for (uint32_t i = 0; i < n; i++)
		put_uint_field(e, stat_key(m->memory_stat[i].key), m->memory_stat[i].value);
	put_uint_field(e, "time_ns", m->time_ns);
}

/* -1 (max) or 0..INT64_MAX */
static int stats_limit(const struct husk_cbor_item *root, const char *key, int64_t *out, struct husk_err *err)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(root, key);
	if (!v)
		return husk_err_set(err, EBADMSG, "field \"%s\" is missing", key);
	if (v->type == HUSK_CBOR_NINT && v->v.i == -1)
		*out = -1;
	else if (v->type == HUSK_CBOR_UINT && v->v.u <= (uint64_t)INT64_MAX)
		*out = (int64_t)v->v.u;
	else
		return husk_err_set(err, ERANGE, "field \"%s\" is not -1 or a count", key);
	return 0;
}

static int decode_memory_stat(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_stats_msg *m,
			      struct husk_err *err)
{
	const struct husk_cbor_item *ms = husk_cbor_map_get(root, "memory_stat");
	if (!ms || ms->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "field \"memory_stat\" is missing or not a map");
	if (ms->count > HUSK_STATS_MEMORY_MAX)
		return husk_err_set(err, E2BIG, "field \"memory_stat\" has more than %u counters",
				    HUSK_STATS_MEMORY_MAX);
	m->memory_stat = husk_arena_alloc_array(a, ms->count ? ms->count : 1, sizeof *m->memory_stat);
	if (!m->memory_stat)
		return husk_err_set(err, ENOMEM, "memory_stat does not fit the decode arena");
	const struct husk_cbor_item *k = husk_cbor_first(ms);
	for (uint32_t i = 0; i < ms->count; i++) {
		const struct husk_cbor_item *v = husk_cbor_next(k);
		if (k->type != HUSK_CBOR_TEXT || k->count > HUSK_STATS_KEY_MAX || memchr(k->v.ptr, '\0', k->count))
			return husk_err_set(err, EBADMSG, "memory_stat key %u is not a counter name", i);
		if (v->type != HUSK_CBOR_UINT)
			return husk_err_set(err, EBADMSG, "memory_stat value %u is not a count", i);
		m->memory_stat[i].key = husk_arena_strndup(a, k->v.ptr, k->count);
		if (!m->memory_stat[i].key)
			return husk_err_set(err, ENOMEM, "memory_stat does not fit the decode arena");
		m->memory_stat[i].value = v->v.u;
		k = husk_cbor_next(v);
	}
	m->n_memory_stat = ms->count;
	return 0;
}

int husk_msg_decode_stats(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_stats_msg *m,
			  struct husk_err *err)
{
	struct {
		const char *key;
		uint64_t *out;
	} const counters[] = {
		{ "cpu_usage_ns", &m->cpu_usage_ns },   { "cpu_user_ns", &m->cpu_user_ns },
		{ "cpu_system_ns", &m->cpu_system_ns }, { "memory_usage", &m->memory_usage },
		{ "swap_usage", &m->swap_usage },       { "pids_current", &m->pids_current },
		{ "io_read_bytes", &m->io_read_bytes }, { "io_write_bytes", &m->io_write_bytes },
		{ "io_reads", &m->io_reads },           { "io_writes", &m->io_writes },
		{ "oom_kills", &m->oom_kills },         { "time_ns", &m->time_ns },
	};
	int r;
	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
		if ((r = husk_msg_get_uint(root, counters[i].key, UINT64_MAX, false, counters[i].out, err)) < 0)
			return r;
	if ((r = stats_limit(root, "memory_limit", &m->memory_limit, err)) < 0 ||
	    (r = stats_limit(root, "pids_limit", &m->pids_limit, err)) < 0)
		return r;
	return decode_memory_stat(root, a, m, err);
}
