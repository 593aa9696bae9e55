/* A container's cgroup v2 group in the guest, /sys/fs/cgroup/container
 * (slot 0) or its sibling container.<n> (a pod's member n): every
 * container process joins it before it runs anything, which makes freezing
 * (pause/resume), resource limits, kill --all and ps cover them all. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "guest/guest.h"

#define FREEZE_TIMEOUT_MS 10000
#define CGROUP_WALK_DEPTH 16

int cgroup_open_procs(const struct gctr *g, struct husk_err *err)
{
	char path[96];
	if (mkdir(g->cgroup, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", g->cgroup);
	snprintf(path, sizeof path, "%s/cgroup.procs", g->cgroup);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	return fd;
}

int cgroup_join(int procs_fd)
{
	/* "0" moves the writing process */
	return write(procs_fd, "0", 1) == 1 ? 0 : -errno;
}

static int write_text(const char *path, const char *text, struct husk_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	if (n != (ssize_t)strlen(text))
		return husk_err_sys(err, n < 0 ? e : EIO, "writing %s", path);
	return 0;
}

static int read_text(const struct gctr *g, const char *file, char *buf, size_t cap);

/* true when cgroup.events says "frozen <want>" */
static bool frozen_is(const struct gctr *g, int want)
{
	char buf[512];
	return read_text(g, "cgroup.events", buf, sizeof buf) > 0 && cgroup_events_frozen(buf, want);
}

static int write_file(const struct gctr *g, const char *file, const char *text, struct husk_err *err)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", g->cgroup, file);
	return write_text(path, text, err);
}

int cgroup_freeze(const struct gctr *g, bool freeze, struct husk_err *err)
{
	int r = write_file(g, "cgroup.freeze", freeze ? "1" : "0", err);
	if (r < 0)
		return r;
	/* the kernel freezes asynchronously: wait until it says so */
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 10) {
		if (frozen_is(g, freeze))
			return 0;
		usleep(10000);
	}
	return husk_err_set(err, ETIMEDOUT, "the container did not %s within %d s", freeze ? "freeze" : "thaw",
			    FREEZE_TIMEOUT_MS / 1000);
}

/* --- resources -------------------------------------------------------- */

int cgroup_enable_controllers(struct husk_err *err)
{
	/* the root may delegate controllers to the container's group */
	static const char *const ctrls[] = { "+cpu", "+cpuset", "+memory", "+pids", "+io", "+hugetlb" };
	for (size_t i = 0; i < sizeof ctrls / sizeof ctrls[0]; i++) {
		struct husk_err ignore = { 0 };
		/* io and hugetlb are optional: a kernel without them still runs
		 * containers that set no such limit */
		if (write_text("/sys/fs/cgroup/cgroup.subtree_control", ctrls[i], &ignore) < 0 &&
		    strcmp(ctrls[i], "+io") != 0 && strcmp(ctrls[i], "+hugetlb") != 0)
			return husk_err_set(err, ignore.code, "enabling the %s controller: %s", ctrls[i] + 1,
					    ignore.msg);
	}
	return 0;
}

static int write_limit(const struct gctr *g, const char *file, int64_t v, struct husk_err *err)
{
	char text[32];
	if (v < 0)
		snprintf(text, sizeof text, "max");
	else
		snprintf(text, sizeof text, "%lld", (long long)v);
	return write_file(g, file, text, err);
}

static int read_text(const struct gctr *g, const char *file, char *buf, size_t cap)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", g->cgroup, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, cap - 1);
	int e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	return (int)n;
}

/* hugetlb.<size>.max, and .rsvd.max where the kernel has it (as runc);
 * a size the guest kernel lacks holds no pages, so a limit of 0 there is
 * met as it is */
static int apply_hugetlb(const struct gctr *g, const struct husk_resources *r, struct husk_err *err)
{
	for (uint32_t i = 0; i < r->n_hugetlb; i++) {
		const struct husk_hugetlb_limit *h = &r->hugetlb[i];
		char name[32], file[64];
		husk_hugetlb_name(h->page_kb, name, sizeof name);
		snprintf(file, sizeof file, "hugetlb.%s.max", name);
		struct husk_err e = { 0 };
		int rc = write_limit(g, file, (int64_t)h->limit, &e);
		if (rc == -ENOENT && h->limit == 0)
			continue;
		if (rc == -ENOENT)
			return husk_err_set(err, ENOENT, "hugepageLimits: the guest kernel has no %s pages", name);
		if (rc < 0)
			return husk_err_set(err, e.code, "%s", e.msg);
		snprintf(file, sizeof file, "hugetlb.%s.rsvd.max", name);
		rc = write_limit(g, file, (int64_t)h->limit, &e);
		if (rc < 0 && rc != -ENOENT)
			return husk_err_set(err, e.code, "%s", e.msg);
	}
	return 0;
}

int cgroup_apply(const struct gctr *g, const struct husk_resources *r, struct husk_err *err)
{
	int rc;
	if (r->has_memory_limit && (rc = write_limit(g, "memory.max", r->memory_limit, err)) < 0)
		return rc;
	if (r->has_memory_reservation && (rc = write_limit(g, "memory.low", r->memory_reservation, err)) < 0)
		return rc;
	if (r->has_memory_swap) {
		int64_t swap;
		if ((rc = cgroup_swap_max(r, &swap, err)) < 0)
			return rc;
		struct husk_err ignore = { 0 };
		write_limit(g, "memory.swap.max", swap, &ignore); /* absent without swap accounting */
	}
	if (r->has_cpu_shares &&
	    (rc = write_limit(g, "cpu.weight", (int64_t)cgroup_cpu_weight(r->cpu_shares), err)) < 0)
		return rc;
	if (r->has_cpu_quota || r->has_cpu_period) {
		char cur[64], text[64];
		cgroup_cpu_max_text(read_text(g, "cpu.max", cur, sizeof cur) > 0 ? cur : NULL, r, text, sizeof text);
		if ((rc = write_file(g, "cpu.max", text, err)) < 0)
			return rc;
	}
	if (r->cpuset_cpus && (rc = write_file(g, "cpuset.cpus", r->cpuset_cpus, err)) < 0)
		return rc;
	if (r->cpuset_mems && (rc = write_file(g, "cpuset.mems", r->cpuset_mems, err)) < 0)
		return rc;
	if (r->has_pids_limit && (rc = write_limit(g, "pids.max", r->pids_limit, err)) < 0)
		return rc;
	if (r->has_devices && (rc = cgroup_devices_apply(g, r, err)) < 0)
		return rc;
	if (r->has_hugetlb && (rc = apply_hugetlb(g, r, err)) < 0)
		return rc;
	return 0;
}

uint64_t cgroup_oom_kills(const struct gctr *g)
{
	char buf[512];
	return read_text(g, "memory.events", buf, sizeof buf) > 0 ? cgroup_keyed(buf, "oom_kill") : 0;
}

/* a file's text in buf, or NULL when it cannot be read or is empty */
static char *read_or_null(const struct gctr *g, const char *file, char *buf, size_t cap)
{
	return read_text(g, file, buf, cap) > 0 ? buf : NULL;
}

int cgroup_stats(const struct gctr *g, struct husk_stats_msg *m, struct husk_err *err)
{
	static char cpu[16384], io[16384], mem[16384];
	static struct cgroup_stat_files f;
	char cur[64], max[64], swap[64], pids[64], pids_max[64], events[512];
	if (read_text(g, "cpu.stat", cpu, sizeof cpu) < 0)
		return husk_err_sys(err, errno, "reading the container's cpu.stat");
	f.cpu_stat = cpu;
	f.memory_current = read_or_null(g, "memory.current", cur, sizeof cur);
	f.memory_max = read_or_null(g, "memory.max", max, sizeof max);
	f.swap_current = read_or_null(g, "memory.swap.current", swap, sizeof swap);
	f.pids_current = read_or_null(g, "pids.current", pids, sizeof pids);
	f.pids_max = read_or_null(g, "pids.max", pids_max, sizeof pids_max);
	f.io_stat = read_or_null(g, "io.stat", io, sizeof io);
	f.memory_events = read_or_null(g, "memory.events", events, sizeof events);
	f.memory_stat = read_or_null(g, "memory.stat", mem, sizeof mem);
	cgroup_stats_parse(&f, m);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

/* --- OOM notifications ------------------------------------------------ */

static void on_memory_events(struct watch *w, uint32_t events)
{
	struct gctr *g = container_of(w, struct gctr, oom_w);
	char buf[4096];
	while (read(w->fd, buf, sizeof buf) > 0)
		;
	uint64_t kills = cgroup_oom_kills(g);
	if (kills <= g->oom_seen)
		return;
	g->oom_seen = kills;
	struct proc *init = g->init;
	GLOG_INFO("the kernel OOM-killed in the container (%llu so far)", (unsigned long long)kills);
	if (init && init->conn) {
		uint8_t msg[32];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, msg, sizeof msg);
		husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = kills });
		conn_send(init->conn, HUSK_MSG_OOM, 0, 0, e.buf, e.len);
	}
}

int cgroup_watch_oom(struct gctr *g, struct husk_err *err)
{
	char path[96];
	if (g->oom_w.fd >= 0)
		return 0;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "inotify_init1");
	snprintf(path, sizeof path, "%s/memory.events", g->cgroup);
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "watching memory.events");
	}
	g->oom_w.fd = fd;
	g->oom_w.on_event = on_memory_events;
	g->oom_seen = cgroup_oom_kills(g);
	return loop_add(&g->oom_w, EPOLLIN, err);
}

void cgroup_unwatch_oom(struct gctr *g)
{
	loop_del(&g->oom_w);
}

/* --- the container's processes, kill, removal ----------------------------- */

/* cgroup.procs of dir and of every group below it, depth-bounded */
static int collect_pids(const char *dir, int depth, pid_t *pids, uint32_t cap, uint32_t *n)
{
	char path[512], buf[4096];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t len;
	size_t keep = 0;
	while ((len = read(fd, buf + keep, sizeof buf - 1 - keep)) > 0) {
		size_t end = keep + (size_t)len, start = 0;
		for (size_t i = 0; i < end; i++) {
			if (buf[i] != '\n')
				continue;
			buf[i] = '\0';
			long pid = strtol(buf + start, NULL, 10);
			if (pid > 0 && *n < cap)
				pids[(*n)++] = (pid_t)pid;
			start = i + 1;
		}
		keep = end - start;
		memmove(buf, buf + start, keep);
	}
	close(fd);
	if (depth >= CGROUP_WALK_DEPTH)
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && *n < cap) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		collect_pids(path, depth + 1, pids, cap, n);
	}
	closedir(d);
	return 0;
}

int cgroup_pids(const struct gctr *g, pid_t *pids, uint32_t cap)
{
	uint32_t n = 0;
	int r = collect_pids(g->cgroup, 0, pids, cap, &n);
	return r < 0 ? r : (int)n;
}

int cgroup_kill(const struct gctr *g)
{
	struct husk_err err = { 0 };
	return write_file(g, "cgroup.kill", "1", &err);
}

int cgroup_remove(const struct gctr *g)
{
	return rmdir(g->cgroup) == 0 || errno == ENOENT ? 0 : -errno;
}
