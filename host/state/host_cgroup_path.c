/* Where a VM's host cgroup is and what goes in it, computed without
 * touching the host (tests/unit/test_host_cgroup.c): linux.cgroupsPath
 * resolved as runc 1.1.5 resolves it, and the files and values of the
 * limits for cgroup v1 and v2. */
#include <stdio.h>
#include <string.h>

#include "host/state/host_cgroup.h"

int husk_cgroup_clean(const char *in, char *out, size_t cap)
{
	/* runc's CleanPath: lexically clean; ".." never climbs above the
	 * start; a relative path stays relative */
	bool abs = in[0] == '/';
	size_t len = 0;
	if (cap < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(out, '/');
			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
		} else {
			if (len + n + 2 > cap)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		p += n;
	}
	if (abs) {
		if (!len)
			snprintf(out, cap, "/");
	} else if (len) {
		memmove(out, out + 1, len); /* the leading '/' and the NUL move up */
	}
	return 0;
}

/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" -> "" (the root) */
static int expand_slice(const char *slice, char *out, size_t cap, struct husk_err *err)
{
	size_t n = strlen(slice);
	out[0] = '\0';
	if (n < 7 || strcmp(slice + n - 6, ".slice") || strchr(slice, '/'))
		return husk_err_set(err, EINVAL, "linux.cgroupsPath: \"%s\" is not a systemd slice (NAME.slice)",
				    slice);
	if (!strcmp(slice, "-.slice"))
		return 0;
	size_t base = n - 6, len = 0;
	for (size_t i = 0; i <= base; i++) {
		if (i < base && slice[i] != '-')
			continue;
		/* a prefix up to a '-' (or the whole name) is one level */
		if (i == 0 || slice[i - 1] == '-' || (i == base && slice[i - 1] == '-'))
			return husk_err_set(err, EINVAL, "linux.cgroupsPath: bad systemd slice \"%s\"", slice);
		int w = snprintf(out + len, cap - len, "/%.*s.slice", (int)i, slice);
		if (w < 0 || (size_t)w >= cap - len)
			return husk_err_set(err, ENAMETOOLONG, "linux.cgroupsPath: slice name too long");
		len += (size_t)w;
	}
	return 0;
}

/* runc's systemd form "slice:prefix:name" (and its defaults) as the path
 * systemd would give the unit: <slice path>/<prefix>-<name>.scope */
static int systemd_inner(const char *path, const char *id, char *out, size_t cap, struct husk_err *err)
{
	char slice[256] = "system.slice", prefix[256] = "husk", name[256], sp[PATH_MAX];
	snprintf(name, sizeof name, "%s", id);
	if (path && *path) {
		const char *c1 = strchr(path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2 || strchr(c2 + 1, ':'))
			return husk_err_set(
				err, EINVAL,
				"linux.cgroupsPath must be \"slice:prefix:name\" with --systemd-cgroup, not \"%s\"",
				path);
		if ((size_t)(c1 - path) >= sizeof slice || (size_t)(c2 - c1 - 1) >= sizeof prefix ||
		    strlen(c2 + 1) >= sizeof name)
			return husk_err_set(err, ENAMETOOLONG, "linux.cgroupsPath is too long");
		snprintf(slice, sizeof slice, "%.*s", (int)(c1 - path), path);
		snprintf(prefix, sizeof prefix, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
		snprintf(name, sizeof name, "%s", c2 + 1);
		if (!slice[0])
			snprintf(slice, sizeof slice, "system.slice");
	}
	if (!name[0] || strchr(name, '/') || strchr(prefix, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return husk_err_set(err, EINVAL, "linux.cgroupsPath: bad unit name in \"%s\"", path ? path : "");
	int r = expand_slice(slice, sp, sizeof sp, err);
	if (r < 0)
		return r;
	size_t n = strlen(name);
	int w;
	if (n > 6 && !strcmp(name + n - 6, ".slice"))
		w = snprintf(out, cap, "%s/%s", sp, name); /* a slice of its own, as runc */
	else if (prefix[0])
		w = snprintf(out, cap, "%s/%s-%s.scope", sp, prefix, name);
	else
		w = snprintf(out, cap, "%s/%s.scope", sp, name);
	if (w < 0 || (size_t)w >= cap)
		return husk_err_set(err, ENAMETOOLONG, "linux.cgroupsPath is too long");
	return 0;
}

int husk_cgroup_inner(const char *cgroups_path, bool systemd, const char *id, char *out, size_t cap, bool *relative,
		      struct husk_err *err)
{
	*relative = false;
	for (const char *c = cgroups_path; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return husk_err_set(err, EINVAL, "linux.cgroupsPath holds a control character");
	if (systemd)
		return systemd_inner(cgroups_path, id, out, cap, err);
	if (!cgroups_path || !*cgroups_path) {
		/* runc's default: the container's id, under the caller's cgroup */
		*relative = true;
		return husk_cgroup_clean(id, out, cap) < 0 ? husk_err_set(err, ENAMETOOLONG, "id too long") : 0;
	}
	if (husk_cgroup_clean(cgroups_path, out, cap) < 0)
		return husk_err_set(err, ENAMETOOLONG, "linux.cgroupsPath is too long");
	*relative = cgroups_path[0] != '/';
	/* the hierarchy's root, or the caller's own group: not the VM's to limit */
	if (!strcmp(out, "/") || !out[0])
		return husk_err_set(err, EINVAL,
				    "linux.cgroupsPath \"%s\" names the %s cgroup, not one of the container's",
				    cgroups_path, *relative ? "caller's own" : "root");
	return 0;
}

int husk_cgroup_join_path(const char *mount, const char *own, const char *inner, bool relative, char *out, size_t cap)
{
	const char *parent = relative && own && strcmp(own, "/") ? own : "";
	int w = snprintf(out, cap, "%s%s%s%s", mount, parent, inner[0] == '/' ? "" : "/", inner);
	return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

void husk_host_cgroup_limits(long vm_mib, int vcpus, long tb_mib, const struct husk_resources *res,
			     struct husk_host_cgroup_limits *out)
{
	memset(out, 0, sizeof *out);
	if (vm_mib > 0)
		out->memory = ((int64_t)vm_mib + (tb_mib > 0 ? tb_mib : 0) + HUSK_HOST_CG_OVERHEAD_MIB) << 20;
	out->pids = HUSK_HOST_CG_PIDS_BASE + HUSK_HOST_CG_PIDS_PER_VCPU * (vcpus > 0 ? vcpus : 1);
	if (!res)
		return;
	if (res->has_cpu_shares && res->cpu_shares > 0)
		out->cpu_shares = res->cpu_shares;
	if (res->has_cpu_quota && res->cpu_quota != 0)
		out->cpu_quota = res->cpu_quota < 0 ? -1 : res->cpu_quota;
	if (res->has_cpu_period && res->cpu_period > 0)
		out->cpu_period = res->cpu_period;
}

uint64_t husk_cgroup_shares_to_weight(uint64_t shares)
{
	/* runc's mapping of [2, 262144] onto [1, 10000] */
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static void put(struct husk_cg_write *w, size_t cap, size_t *n, const char *file, long long v)
{
	if (*n >= cap)
		return;
	w[*n].file = file;
	snprintf(w[*n].value, sizeof w[*n].value, "%lld", v);
	(*n)++;
}

size_t husk_cgroup_cpu_writes(bool v2, const struct husk_host_cgroup_limits *l, struct husk_cg_write *w, size_t cap)
{
	size_t n = 0;
	if (v2) {
		if (l->cpu_shares)
			put(w, cap, &n, "cpu.weight", (long long)husk_cgroup_shares_to_weight(l->cpu_shares));
		if (l->cpu_quota || l->cpu_period) {
			char q[24] = "max";
			if (l->cpu_quota > 0)
				snprintf(q, sizeof q, "%lld", (long long)l->cpu_quota);
			if (n < cap) {
				w[n].file = "cpu.max";
				/* a period alone keeps the quota "max", as runc writes it */
				snprintf(w[n].value, sizeof w[n].value, "%s %llu", q,
					 (unsigned long long)(l->cpu_period ? l->cpu_period : 100000));
				n++;
			}
		}
		return n;
	}
	if (l->cpu_shares)
		put(w, cap, &n, "cpu.shares", (long long)l->cpu_shares);
	if (l->cpu_period)
		put(w, cap, &n, "cpu.cfs_period_us", (long long)l->cpu_period);
	if (l->cpu_quota)
		put(w, cap, &n, "cpu.cfs_quota_us", (long long)l->cpu_quota);
	return n;
}

size_t husk_cgroup_limit_writes(bool v2, const struct husk_host_cgroup_limits *l, struct husk_cg_write *w, size_t cap)
{
	size_t n = 0;
	if (l->memory > 0)
		put(w, cap, &n, v2 ? "memory.max" : "memory.limit_in_bytes", (long long)l->memory);
	if (l->pids > 0)
		put(w, cap, &n, "pids.max", (long long)l->pids);
	return n + husk_cgroup_cpu_writes(v2, l, w + n, cap - n);
}
