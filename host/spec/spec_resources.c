/* linux.resources (config.json) and `update --resources` (the same JSON
 * object) into struct husk_resources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_resources.h"
#include "host/spec/spec.h"

/* an integer member: absent/null = not set; -1 = unlimited where allowed */
static int get_i64(json_t *obj, const char *key, const char *where, bool allow_unlimited, bool *has, int64_t *out,
		   struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	*has = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return husk_err_set(err, EINVAL, "%s.%s must be an integer", where, key);
	json_int_t i = json_integer_value(v);
	if (i < 0 && !(allow_unlimited && i == -1))
		return husk_err_set(err, EINVAL, "%s.%s must not be negative%s", where, key,
				    allow_unlimited ? " (except -1, unlimited)" : "");
	*out = (int64_t)i;
	*has = true;
	return 0;
}

/* a number of at most 5 digits (CPUs and memory nodes) */
static const char *list_number(const char *p, long *out)
{
	long n = 0;
	int digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		n = n * 10 + (*p - '0');
	if (digits == 0 || digits > 5)
		return NULL;
	*out = n;
	return p;
}

int husk_cpulist_highest(const char *list, long *highest)
{
	const char *p = list;
	*highest = -1;
	for (;;) {
		long lo, hi;
		if (!(p = list_number(p, &lo)))
			return -EINVAL;
		hi = lo;
		if (*p == '-' && (!(p = list_number(p + 1, &hi)) || hi < lo))
			return -EINVAL;
		if (hi > *highest)
			*highest = hi;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			return -EINVAL;
	}
}

static int get_cpuset(json_t *obj, const char *key, char **out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	long highest;
	if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > HUSK_CPUSET_MAX)
		return husk_err_set(err, EINVAL, "linux.resources.cpu.%s must be a cpu list like \"0-3,5\"", key);
	if (husk_cpulist_highest(json_string_value(v), &highest) < 0)
		return husk_err_set(err, EINVAL, "linux.resources.cpu.%s \"%s\" is not a list like \"0-3,5\"", key,
				    json_string_value(v));
	*out = strdup(json_string_value(v));
	return *out ? 0 : husk_err_set(err, ENOMEM, "out of memory");
}

/* runc appends these after the spec's rules (so they win): mknod of any
 * node, and the nodes every container has (null, zero, full, random,
 * urandom, tty, ptmx, pts, tun). Engines such as Podman send only
 * "deny all" and rely on them. runc's list starts from "deny all", so a
 * config.json without rules gets these only. Not the console (5:1):
 * runc 1.1.5 denies it (tests/conformance/cases/devices-no-rules.jq). */
static const struct husk_device_rule default_devices[] = {
	{ true, 'c', -1, -1, HUSK_DEV_MKNOD },
	{ true, 'b', -1, -1, HUSK_DEV_MKNOD },
	{ true, 'c', 1, 3, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 1, 5, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 1, 7, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 1, 8, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 1, 9, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 5, 0, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 5, 2, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 136, -1, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
	{ true, 'c', 10, 200, HUSK_DEV_READ | HUSK_DEV_WRITE | HUSK_DEV_MKNOD },
};
#define N_DEFAULT_DEVICES (sizeof default_devices / sizeof default_devices[0])

/* linux.resources.devices: the allow/deny list, then runc's defaults */
static int parse_devices(json_t *list, struct husk_resources *r, struct husk_err *err)
{
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > HUSK_DEVICE_RULES_MAX - N_DEFAULT_DEVICES)
		return husk_err_set(err, EINVAL, "linux.resources.devices must be a list of at most %zu rules",
				    HUSK_DEVICE_RULES_MAX - N_DEFAULT_DEVICES);
	size_t n = json_array_size(list);
	if (n == 0)
		return 0; /* no rules here (a container gets runc's defaults: husk_resources_add_default_devices) */
	r->devices = calloc(n + N_DEFAULT_DEVICES, sizeof *r->devices);
	if (!r->devices)
		return husk_err_set(err, ENOMEM, "out of memory");
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(list, i);
		struct husk_device_rule *rule = &r->devices[kept];
		json_t *allow = json_object_get(d, "allow");
		if (!json_is_object(d) || !json_is_boolean(allow))
			return husk_err_set(err, EINVAL, "linux.resources.devices[%zu] needs \"allow\": true or false",
					    i);
		rule->allow = json_is_true(allow);
		const char *type = json_string_value(json_object_get(d, "type"));
		if (!type || !*type)
			type = "a";
		if (strlen(type) != 1 || !strchr("acb", *type))
			return husk_err_set(err, EINVAL, "linux.resources.devices[%zu].type must be a, c or b", i);
		rule->type = *type;
		const char *keys[] = { "major", "minor" };
		int64_t *vals[] = { &rule->major, &rule->minor };
		for (int k = 0; k < 2; k++) {
			json_t *v = json_object_get(d, keys[k]);
			*vals[k] = -1;
			if (!v || json_is_null(v))
				continue;
			if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > UINT32_MAX)
				return husk_err_set(err, EINVAL,
						    "linux.resources.devices[%zu].%s is not a device number", i,
						    keys[k]);
			*vals[k] = (int64_t)json_integer_value(v);
		}
		const char *access = json_string_value(json_object_get(d, "access"));
		if (!access || !*access)
			access = "rwm";
		/* as runc: letters other than r, w and m (e.g. "rwa") grant nothing */
		for (const char *p = access; *p; p++) {
			if (*p == 'r')
				rule->access |= HUSK_DEV_READ;
			else if (*p == 'w')
				rule->access |= HUSK_DEV_WRITE;
			else if (*p == 'm')
				rule->access |= HUSK_DEV_MKNOD;
		}
		if (rule->access)
			kept++; /* a rule that grants or denies nothing is left out */
		else
			memset(rule, 0, sizeof *rule);
	}
	memcpy(r->devices + kept, default_devices, sizeof default_devices);
	r->n_devices = (uint32_t)(kept + N_DEFAULT_DEVICES);
	r->has_devices = true;
	return 0;
}

/* the guest is x86-64: its huge pages are 2 MB (and 1 GB where the CPU
 * has them; the guest kernel registers both) */
static const uint64_t guest_page_kb[] = { 2048, 1u << 20 };

/* a pageSize as the kernel names sizes ("2MB", "1GB") into KiB */
static int page_size_kb(const char *s, uint64_t *kb)
{
	char *end;
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	int shift = !strcmp(end, "KB") ? 0 : !strcmp(end, "MB") ? 10 : !strcmp(end, "GB") ? 20 : -1;
	if (errno || shift < 0 || n == 0 || n > (HUSK_HUGETLB_MAX_KB >> shift))
		return -EINVAL;
	*kb = (uint64_t)n << shift;
	/* only the kernel's own spelling names a hugetlb file: 2MB, not 2048KB */
	char canon[32];
	husk_hugetlb_name(*kb, canon, sizeof canon);
	return strcmp(canon, s) == 0 ? 0 : -EINVAL;
}

/* linux.resources.hugepageLimits: [{pageSize, limit}] */
static int parse_hugepages(json_t *list, struct husk_resources *r, struct husk_err *err)
{
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) > HUSK_HUGETLB_MAX)
		return husk_err_set(err, EINVAL, "linux.resources.hugepageLimits must be a list of at most %u limits",
				    HUSK_HUGETLB_MAX);
	size_t n = json_array_size(list);
	if (n == 0)
		return 0;
	if (!(r->hugetlb = calloc(n, sizeof *r->hugetlb)))
		return husk_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *h = json_array_get(list, i);
		const char *size = json_string_value(json_object_get(h, "pageSize"));
		json_t *limit = json_object_get(h, "limit");
		uint64_t kb = 0;
		size_t k;
		if (!json_is_object(h) || !size)
			return husk_err_set(err, EINVAL, "linux.resources.hugepageLimits[%zu] needs a pageSize", i);
		int bad = page_size_kb(size, &kb);
		for (k = 0; bad == 0 && k < sizeof guest_page_kb / sizeof guest_page_kb[0]; k++)
			if (guest_page_kb[k] == kb)
				break;
		if (bad < 0 || k == sizeof guest_page_kb / sizeof guest_page_kb[0])
			return husk_err_set(err, EINVAL,
					    "linux.resources.hugepageLimits[%zu].pageSize \"%s\" is not a huge page "
					    "size of the guest (2MB or 1GB)",
					    i, size);
		if (!json_is_integer(limit) || json_integer_value(limit) < 0)
			return husk_err_set(err, EINVAL,
					    "linux.resources.hugepageLimits[%zu].limit must be a number of bytes", i);
		r->hugetlb[i] =
			(struct husk_hugetlb_limit){ .page_kb = kb, .limit = (uint64_t)json_integer_value(limit) };
	}
	r->n_hugetlb = (uint32_t)n;
	r->has_hugetlb = true;
	return 0;
}

int husk_resources_from_json(json_t *res, struct husk_resources **out, struct husk_err *err)
{
	*out = NULL;
	if (!res || json_is_null(res))
		return 0;
	if (!json_is_object(res))
		return husk_err_set(err, EINVAL, "linux.resources must be an object");
	struct husk_resources *r = calloc(1, sizeof *r);
	if (!r)
		return husk_err_set(err, ENOMEM, "out of memory");
	int rc = 0;
	int64_t v = 0;
	bool has;
	json_t *mem = json_object_get(res, "memory");
	json_t *cpu = json_object_get(res, "cpu");
	json_t *pids = json_object_get(res, "pids");
	if (mem && json_is_object(mem)) {
		if ((rc = get_i64(mem, "limit", "linux.resources.memory", true, &r->has_memory_limit, &r->memory_limit,
				  err)) < 0 ||
		    (rc = get_i64(mem, "reservation", "linux.resources.memory", true, &r->has_memory_reservation,
				  &r->memory_reservation, err)) < 0 ||
		    (rc = get_i64(mem, "swap", "linux.resources.memory", true, &r->has_memory_swap, &r->memory_swap,
				  err)) < 0)
			goto fail;
	}
	if (cpu && json_is_object(cpu)) {
		if ((rc = get_i64(cpu, "shares", "linux.resources.cpu", false, &has, &v, err)) < 0)
			goto fail;
		if (has && v != 0) {
			if (v < 2 || v > 262144) {
				rc = husk_err_set(err, EINVAL, "linux.resources.cpu.shares must be 2 to 262144");
				goto fail;
			}
			r->has_cpu_shares = true;
			r->cpu_shares = (uint64_t)v;
		}
		if ((rc = get_i64(cpu, "quota", "linux.resources.cpu", true, &r->has_cpu_quota, &r->cpu_quota, err)) <
		    0)
			goto fail;
		if (r->has_cpu_quota && r->cpu_quota == 0)
			r->has_cpu_quota = false; /* 0 means "not set" to runc's callers */
		if ((rc = get_i64(cpu, "period", "linux.resources.cpu", false, &has, &v, err)) < 0)
			goto fail;
		if (has && v != 0) {
			if (v < 1000 || v > 1000000) {
				rc = husk_err_set(err, EINVAL, "linux.resources.cpu.period must be 1000 to 1000000");
				goto fail;
			}
			r->has_cpu_period = true;
			r->cpu_period = (uint64_t)v;
		}
		if ((rc = get_cpuset(cpu, "cpus", &r->cpuset_cpus, err)) < 0 ||
		    (rc = get_cpuset(cpu, "mems", &r->cpuset_mems, err)) < 0)
			goto fail;
	}
	if (pids && json_is_object(pids)) {
		if ((rc = get_i64(pids, "limit", "linux.resources.pids", true, &r->has_pids_limit, &r->pids_limit,
				  err)) < 0)
			goto fail;
		if (r->has_pids_limit && r->pids_limit == 0)
			r->pids_limit = -1; /* runc: 0 is unlimited */
	}
	if ((rc = parse_devices(json_object_get(res, "devices"), r, err)) < 0 ||
	    (rc = parse_hugepages(json_object_get(res, "hugepageLimits"), r, err)) < 0)
		goto fail;
	if (husk_resources_empty(r)) {
		husk_resources_free(r);
		return 0;
	}
	*out = r;
	return 0;
fail:
	husk_resources_free(r);
	return rc;
}

int husk_resources_add_default_devices(struct husk_resources **res, struct husk_err *err)
{
	if (*res && (*res)->has_devices)
		return 0; /* parse_devices appended them after the spec's rules */
	if (!*res && !(*res = calloc(1, sizeof **res)))
		return husk_err_set(err, ENOMEM, "out of memory");
	struct husk_resources *r = *res;
	if (!(r->devices = calloc(N_DEFAULT_DEVICES, sizeof *r->devices)))
		return husk_err_set(err, ENOMEM, "out of memory");
	memcpy(r->devices, default_devices, sizeof default_devices);
	r->n_devices = (uint32_t)N_DEFAULT_DEVICES;
	r->has_devices = true;
	return 0;
}

void husk_resources_free(struct husk_resources *r)
{
	if (!r)
		return;
	free(r->cpuset_cpus);
	free(r->cpuset_mems);
	free(r->devices);
	free(r->hugetlb);
	free(r);
}
