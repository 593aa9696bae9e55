/* The container cgroup's files, parsed and written as text: no syscalls
 * here, so host-run unit tests cover it (tests/unit/test_guest_cgroup.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_resources.h"
#include "guest/guest.h"

uint64_t cgroup_keyed(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

uint64_t cgroup_single(const char *text, bool *is_max)
{
	if (is_max)
		*is_max = false;
	if (!text || !*text)
		return 0;
	if (!strncmp(text, "max", 3)) {
		if (is_max)
			*is_max = true;
		return 0;
	}
	return strtoull(text, NULL, 10);
}

bool cgroup_events_frozen(const char *text, bool want)
{
	const char *f = strstr(text, "frozen ");
	return f && f[7] == (want ? '1' : '0');
}

uint64_t cgroup_cpu_weight(uint64_t shares)
{
	return 1 + ((shares - 2) * 9999) / 262142;
}

void cgroup_cpu_max_text(const char *cur, const struct husk_resources *r, char *out, size_t cap)
{
	long long quota = -1, period = 100000;
	if (cur && *cur) {
		if (strncmp(cur, "max", 3) != 0)
			quota = strtoll(cur, NULL, 10);
		const char *sp = strchr(cur, ' ');
		if (sp)
			period = strtoll(sp + 1, NULL, 10);
	}
	if (r->has_cpu_quota)
		quota = r->cpu_quota;
	if (r->has_cpu_period)
		period = (long long)r->cpu_period;
	if (quota >= 0)
		snprintf(out, cap, "%lld %lld", quota, period);
	else
		snprintf(out, cap, "max %lld", period);
}

int cgroup_swap_max(const struct husk_resources *r, int64_t *swap, struct husk_err *err)
{
	/* runc's memory_swap is memory + swap; cgroup v2 wants the swap part */
	*swap = -1;
	if (r->memory_swap >= 0) {
		if (!r->has_memory_limit || r->memory_limit < 0 || r->memory_swap < r->memory_limit)
			return husk_err_set(err, EINVAL,
					    "memory+swap limit must be at least the memory limit and needs one");
		*swap = r->memory_swap - r->memory_limit;
	}
	return 0;
}

static void parse_io_stat(char *buf, struct husk_stats_msg *m)
{
	for (char *p = buf; *p;) {
		char *eol = strchr(p, '\n');
		if (eol)
			*eol = '\0';
		for (char *tok = strchr(p, ' '); tok; tok = strchr(tok + 1, ' ')) {
			if (!strncmp(tok + 1, "rbytes=", 7))
				m->io_read_bytes += strtoull(tok + 8, NULL, 10);
			else if (!strncmp(tok + 1, "wbytes=", 7))
				m->io_write_bytes += strtoull(tok + 8, NULL, 10);
			else if (!strncmp(tok + 1, "rios=", 5))
				m->io_reads += strtoull(tok + 6, NULL, 10);
			else if (!strncmp(tok + 1, "wios=", 5))
				m->io_writes += strtoull(tok + 6, NULL, 10);
		}
		if (!eol)
			break;
		p = eol + 1;
	}
}

/* every counter of memory.stat, the first HUSK_STATS_MEMORY_MAX lines; a
 * line without a value reads "? 0" */
static uint32_t parse_memory_stat(char *buf, struct husk_stat_counter *out)
{
	uint32_t n = 0;
	for (char *p = buf; *p && n < HUSK_STATS_MEMORY_MAX; p++)
		if (*p == '\n')
			n++;
	char *p = buf;
	for (uint32_t i = 0; i < n; i++) {
		char *eol = strchr(p, '\n');
		char *sp = strchr(p, ' ');
		if (!eol || !sp || sp > eol) {
			out[i] = (struct husk_stat_counter){ .key = "?", .value = 0 };
		} else {
			out[i].value = strtoull(sp + 1, NULL, 10);
			*sp = '\0';
			out[i].key = p;
		}
		p = eol ? eol + 1 : p + strlen(p);
	}
	return n;
}

void cgroup_stats_parse(struct cgroup_stat_files *f, struct husk_stats_msg *m)
{
	bool mem_max, pids_max;
	memset(m, 0, sizeof *m);
	if (f->cpu_stat) {
		m->cpu_usage_ns = cgroup_keyed(f->cpu_stat, "usage_usec") * 1000;
		m->cpu_user_ns = cgroup_keyed(f->cpu_stat, "user_usec") * 1000;
		m->cpu_system_ns = cgroup_keyed(f->cpu_stat, "system_usec") * 1000;
	}
	m->memory_usage = cgroup_single(f->memory_current, NULL);
	uint64_t mem_limit = cgroup_single(f->memory_max, &mem_max);
	m->memory_limit = mem_max ? -1 : (int64_t)mem_limit;
	m->swap_usage = cgroup_single(f->swap_current, NULL);
	m->pids_current = cgroup_single(f->pids_current, NULL);
	uint64_t pids_limit = cgroup_single(f->pids_max, &pids_max);
	m->pids_limit = pids_max ? -1 : (int64_t)pids_limit;
	if (f->io_stat)
		parse_io_stat(f->io_stat, m);
	m->oom_kills = f->memory_events ? cgroup_keyed(f->memory_events, "oom_kill") : 0;
	m->memory_stat = f->counters;
	m->n_memory_stat = f->memory_stat ? parse_memory_stat(f->memory_stat, f->counters) : 0;
}
