/* update: change the container's resources in the guest's cgroup. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proto/msg_resources.h"
#include "host/cli/cli.h"
#include "host/container/container.h"
#include "host/state/fsutil.h"
#include "host/state/host_cgroup.h"
#include "host/spec/spec.h"

/* "512m", "1g", "1048576", "-1" */
static int parse_bytes(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (v == -1 && *end == '\0') {
		*out = -1;
		return 0;
	}
	if (v < 0)
		return -EINVAL;
	long long mult = 1;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1LL << 10;
		break;
	case 'm':
	case 'M':
		mult = 1LL << 20;
		break;
	case 'g':
	case 'G':
		mult = 1LL << 30;
		break;
	default:
		return -EINVAL;
	}
	if (*end && end[1] && !((end[1] == 'b' || end[1] == 'B') && end[2] == '\0'))
		return -EINVAL;
	if (v > INT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

struct update_opts {
	struct husk_resources flags; /* what the options set */
	const char *file;            /* --resources */
	unsigned blkio_weight;
};

/* The options, each checked; prints the error and returns 1 on a bad one. */
static int parse_update_opts(int argc, char **argv, struct update_opts *o)
{
	enum {
		OPT_MEMORY = 256,
		OPT_RESERVATION,
		OPT_SWAP,
		OPT_PERIOD,
		OPT_QUOTA,
		OPT_SHARES,
		OPT_CPUS,
		OPT_MEMS,
		OPT_PIDS,
		OPT_BLKIO,
		OPT_OTHER
	};
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "memory-reservation", required_argument, NULL, OPT_RESERVATION },
		{ "memory-swap", required_argument, NULL, OPT_SWAP },
		{ "cpu-period", required_argument, NULL, OPT_PERIOD },
		{ "cpu-quota", required_argument, NULL, OPT_QUOTA },
		{ "cpu-share", required_argument, NULL, OPT_SHARES },
		{ "cpu-shares", required_argument, NULL, OPT_SHARES },
		{ "cpuset-cpus", required_argument, NULL, OPT_CPUS },
		{ "cpuset-mems", required_argument, NULL, OPT_MEMS },
		{ "pids-limit", required_argument, NULL, OPT_PIDS },
		{ "blkio-weight", required_argument, NULL, OPT_BLKIO },
		{ "kernel-memory", required_argument, NULL, OPT_OTHER },
		{ "kernel-memory-tcp", required_argument, NULL, OPT_OTHER },
		{ "cpu-rt-period", required_argument, NULL, OPT_OTHER },
		{ "cpu-rt-runtime", required_argument, NULL, OPT_OTHER },
		{ "l3-cache-schema", required_argument, NULL, OPT_OTHER },
		{ "mem-bw-schema", required_argument, NULL, OPT_OTHER },
		{ NULL, 0, NULL, 0 },
	};
	struct husk_resources *flags = &o->flags;
	int64_t v;
	int c;
	memset(o, 0, sizeof *o);
	while ((c = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
		const char *name = optind > 1 ? argv[optind - 1] : "?";
		switch (c) {
		case 'r':
			o->file = optarg;
			break;
		case OPT_MEMORY:
		case OPT_RESERVATION:
		case OPT_SWAP:
			if (parse_bytes(optarg, &v) < 0)
				return cli_failf("update: %s \"%s\" is not a size (bytes, or with k, m, g)", name,
						 optarg);
			if (c == OPT_MEMORY)
				flags->has_memory_limit = true, flags->memory_limit = v;
			else if (c == OPT_RESERVATION)
				flags->has_memory_reservation = true, flags->memory_reservation = v;
			else
				flags->has_memory_swap = true, flags->memory_swap = v;
			break;
		case OPT_PERIOD:
			if (parse_int(optarg, 1000, 1000000, &v) < 0)
				return cli_failf("update: --cpu-period must be 1000 to 1000000 microseconds");
			flags->has_cpu_period = true, flags->cpu_period = (uint64_t)v;
			break;
		case OPT_QUOTA:
			if (parse_int(optarg, -1, INT64_MAX, &v) < 0)
				return cli_failf("update: --cpu-quota must be -1 or a number of microseconds");
			flags->has_cpu_quota = true, flags->cpu_quota = v;
			break;
		case OPT_SHARES:
			if (parse_int(optarg, 2, 262144, &v) < 0)
				return cli_failf("update: --cpu-share must be 2 to 262144");
			flags->has_cpu_shares = true, flags->cpu_shares = (uint64_t)v;
			break;
		case OPT_CPUS:
		case OPT_MEMS:
			for (const char *p = optarg; *p; p++)
				if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-'))
					return cli_failf("update: %s \"%s\" is not a list like 0-3,5", name, optarg);
			if (c == OPT_CPUS)
				flags->cpuset_cpus = optarg;
			else
				flags->cpuset_mems = optarg;
			break;
		case OPT_PIDS:
			if (parse_int(optarg, -1, INT64_MAX, &v) < 0)
				return cli_failf("update: --pids-limit must be -1 or a number");
			flags->has_pids_limit = true, flags->pids_limit = v == 0 ? -1 : v;
			break;
		case OPT_BLKIO:
			if (parse_int(optarg, 10, 1000, &v) < 0)
				return cli_failf("update: --blkio-weight must be 10 to 1000");
			o->blkio_weight = (unsigned)v;
			break;
		case OPT_OTHER:
			return cli_failf("update: %s is not supported (no such control in a cgroup v2 guest)", name);
		default:
			return cli_failf("update: unknown option %s (see husk update --help)", name);
		}
	}
	return 0;
}

/* Go's encoding/json, which runc reads --resources with, matches keys to
 * fields case-insensitively: {"CPU":{"Cpus":"1"}} is cpu.cpus. Each key of
 * the object that folds to a field name of the LinuxResources level named
 * by fields becomes that name (the last of several wins, as in Go); the
 * sub-objects of the levels below are renamed too. Returns a new reference. */
static const char *const root_fields[] = { "memory",  "cpu",  "pids",    "blockIO", "hugepageLimits",
					   "network", "rdma", "unified", "devices", NULL };
static const char *const memory_fields[] = {
	"limit",        "reservation",       "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller",
	"useHierarchy", "checkBeforeUpdate", NULL
};
static const char *const cpu_fields[] = { "shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus",
					  "mems",   "idle",  NULL };
static const char *const pids_fields[] = { "limit", NULL };
static const char *const blockio_fields[] = { "weight",
					      "leafWeight",
					      "weightDevice",
					      "throttleReadBpsDevice",
					      "throttleWriteBpsDevice",
					      "throttleReadIOPSDevice",
					      "throttleWriteIOPSDevice",
					      NULL };

static const char *const *sub_fields(const char *field)
{
	if (!strcmp(field, "memory"))
		return memory_fields;
	if (!strcmp(field, "cpu"))
		return cpu_fields;
	if (!strcmp(field, "pids"))
		return pids_fields;
	if (!strcmp(field, "blockIO"))
		return blockio_fields;
	return NULL;
}

static json_t *fold_keys(json_t *obj, const char *const *fields)
{
	if (!fields || !json_is_object(obj))
		return json_incref(obj);
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		const char *name = key;
		for (const char *const *f = fields; *f; f++)
			if (!strcasecmp(key, *f))
				name = *f;
		json_object_set_new(out, name, fold_keys(v, fields == root_fields ? sub_fields(name) : NULL));
	}
	return out;
}

/* The guest kernel has no real-time group scheduling (CONFIG_RT_GROUP_SCHED
 * off, as on most distributions' cgroup v2 kernels): a real-time budget
 * cannot be applied, so it is refused rather than dropped. */
static int check_realtime(json_t *res)
{
	json_t *cpu = json_object_get(res, "cpu");
	const char *keys[] = { "realtimeRuntime", "realtimePeriod" };
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(cpu, keys[i]);
		if (v && !json_is_null(v) && !(json_is_integer(v) && json_integer_value(v) == 0))
			return cli_failf("update: cpu.%s cannot be applied: the guest kernel has no real-time "
					 "group scheduling",
					 keys[i]);
	}
	return 0;
}

/* --resources FILE (or - for stdin): the resources, and blockIO.weight
 * unless --blkio-weight gave one. Prints the error and returns 1. */
static int read_resources_file(struct update_opts *o, struct husk_resources **from_file)
{
	struct husk_err err = { 0 };
	char *text = NULL;
	size_t len;
	json_error_t jerr;
	if (read_file(strcmp(o->file, "-") ? o->file : "/dev/stdin", 1 << 20, &text, &len, &err) < 0)
		return cli_fail(&err);
	json_t *raw = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!raw)
		return cli_failf("update: %s: line %d: %s", o->file, jerr.line, jerr.text);
	json_t *j = fold_keys(raw, root_fields);
	json_decref(raw);
	if (check_realtime(j) != 0) {
		json_decref(j);
		return 1;
	}
	json_t *w = json_object_get(json_object_get(j, "blockIO"), "weight");
	if (json_is_integer(w) && json_integer_value(w) && !o->blkio_weight) {
		if (json_integer_value(w) < 10 || json_integer_value(w) > 1000)
			return cli_failf("update: blockIO.weight must be 10 to 1000");
		o->blkio_weight = (unsigned)json_integer_value(w);
	}
	int rr = husk_resources_from_json(j, from_file, &err);
	json_decref(j);
	if (rr < 0)
		return cli_fail(&err);
	return 0;
}

/* flags win over the file */
static void merge_flags(struct husk_resources *res, const struct husk_resources *flags)
{
	if (flags->has_memory_limit)
		res->has_memory_limit = true, res->memory_limit = flags->memory_limit;
	if (flags->has_memory_reservation)
		res->has_memory_reservation = true, res->memory_reservation = flags->memory_reservation;
	if (flags->has_memory_swap)
		res->has_memory_swap = true, res->memory_swap = flags->memory_swap;
	if (flags->has_cpu_period)
		res->has_cpu_period = true, res->cpu_period = flags->cpu_period;
	if (flags->has_cpu_quota)
		res->has_cpu_quota = true, res->cpu_quota = flags->cpu_quota;
	if (flags->has_cpu_shares)
		res->has_cpu_shares = true, res->cpu_shares = flags->cpu_shares;
	if (flags->cpuset_cpus)
		res->cpuset_cpus = flags->cpuset_cpus;
	if (flags->cpuset_mems)
		res->cpuset_mems = flags->cpuset_mems;
	if (flags->has_pids_limit)
		res->has_pids_limit = true, res->pids_limit = flags->pids_limit;
}

int cmd_update(struct husk_globals *g, int argc, char **argv)
{
	struct husk_resources *from_file = NULL;
	struct husk_err err = { 0 };
	struct update_opts o;
	if (parse_update_opts(argc, argv, &o) != 0)
		return 1;
	if (optind != argc - 1)
		return cli_failf("update: expected exactly one container id (see husk update --help)");
	const char *id = argv[optind];
	if (o.file && read_resources_file(&o, &from_file) != 0)
		return 1;
	struct husk_resources res = from_file ? *from_file : (struct husk_resources){ 0 };
	merge_flags(&res, &o.flags);
	if (husk_resources_empty(&res) && !o.blkio_weight) {
		husk_resources_free(from_file);
		return cli_failf("update: nothing to update");
	}

	int r = husk_container_update(g->root, id, &res, o.blkio_weight, &err);
	husk_resources_free(from_file);
	if (r < 0)
		return cli_fail(&err);
	return 0;
}
