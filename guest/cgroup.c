/* The container's cgroup v2 group in the guest, /sys/fs/cgroup/container:
 * every container process joins it before it runs anything, which makes
 * freezing (pause/resume) and, later, resource limits cover them all. */
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

#define CONTAINER_CGROUP GUEST_CONTAINER_CGROUP
#define FREEZE_TIMEOUT_MS 10000

int cgroup_open_procs(struct husk_err *err)
{
	if (mkdir(CONTAINER_CGROUP, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", CONTAINER_CGROUP);
	int fd = open(CONTAINER_CGROUP "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s/cgroup.procs", CONTAINER_CGROUP);
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

/* true when cgroup.events says "frozen <want>" */
static bool frozen_is(int want)
{
	char buf[512];
	int fd = open(CONTAINER_CGROUP "/cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return cgroup_events_frozen(buf, want);
}

int cgroup_freeze(bool freeze, struct husk_err *err)
{
	int r = write_text(CONTAINER_CGROUP "/cgroup.freeze", freeze ? "1" : "0", err);
	if (r < 0)
		return r;
	/* the kernel freezes asynchronously: wait until it says so */
	for (int waited = 0; waited < FREEZE_TIMEOUT_MS; waited += 10) {
		if (frozen_is(freeze))
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

static int write_limit(const char *file, int64_t v, struct husk_err *err)
{
	char path[128], text[32];
	snprintf(path, sizeof path, CONTAINER_CGROUP "/%s", file);
	if (v < 0)
		snprintf(text, sizeof text, "max");
	else
		snprintf(text, sizeof text, "%lld", (long long)v);
	return write_text(path, text, err);
}

static int read_text(const char *file, char *buf, size_t cap)
{
	char path[128];
	snprintf(path, sizeof path, CONTAINER_CGROUP "/%s", file);
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
static int apply_hugetlb(const struct husk_resources *r, struct husk_err *err)
{
	for (uint32_t i = 0; i < r->n_hugetlb; i++) {
		const struct husk_hugetlb_limit *h = &r->hugetlb[i];
		char name[32], file[64];
		husk_hugetlb_name(h->page_kb, name, sizeof name);
		snprintf(file, sizeof file, "hugetlb.%s.max", name);
		struct husk_err e = { 0 };
		int rc = write_limit(file, (int64_t)h->limit, &e);
		if (rc == -ENOENT && h->limit == 0)
			continue;
		if (rc == -ENOENT)
			return husk_err_set(err, ENOENT, "hugepageLimits: the guest kernel has no %s pages", name);
		if (rc < 0)
			return husk_err_set(err, e.code, "%s", e.msg);
		snprintf(file, sizeof file, "hugetlb.%s.rsvd.max", name);
		rc = write_limit(file, (int64_t)h->limit, &e);
		if (rc < 0 && rc != -ENOENT)
			return husk_err_set(err, e.code, "%s", e.msg);
	}
	return 0;
}

int cgroup_apply(const struct husk_resources *r, struct husk_err *err)
{
	int rc;
	if (r->has_memory_limit && (rc = write_limit("memory.max", r->memory_limit, err)) < 0)
		return rc;
	if (r->has_memory_reservation && (rc = write_limit("memory.low", r->memory_reservation, err)) < 0)
		return rc;
	if (r->has_memory_swap) {
		int64_t swap;
		if ((rc = cgroup_swap_max(r, &swap, err)) < 0)
			return rc;
		struct husk_err ignore = { 0 };
		write_limit("memory.swap.max", swap, &ignore); /* absent without swap accounting */
	}
	if (r->has_cpu_shares && (rc = write_limit("cpu.weight", (int64_t)cgroup_cpu_weight(r->cpu_shares), err)) < 0)
		return rc;
	if (r->has_cpu_quota || r->has_cpu_period) {
		char cur[64], text[64];
		cgroup_cpu_max_text(read_text("cpu.max", cur, sizeof cur) > 0 ? cur : NULL, r, text, sizeof text);
		if ((rc = write_text(CONTAINER_CGROUP "/cpu.max", text, err)) < 0)
			return rc;
	}
	if (r->cpuset_cpus && (rc = write_text(CONTAINER_CGROUP "/cpuset.cpus", r->cpuset_cpus, err)) < 0)
		return rc;
	if (r->cpuset_mems && (rc = write_text(CONTAINER_CGROUP "/cpuset.mems", r->cpuset_mems, err)) < 0)
		return rc;
	if (r->has_pids_limit && (rc = write_limit("pids.max", r->pids_limit, err)) < 0)
		return rc;
	if (r->has_devices && (rc = cgroup_devices_apply(r, err)) < 0)
		return rc;
	if (r->has_hugetlb && (rc = apply_hugetlb(r, err)) < 0)
		return rc;
	return 0;
}

uint64_t cgroup_oom_kills(void)
{
	char buf[512];
	return read_text("memory.events", buf, sizeof buf) > 0 ? cgroup_keyed(buf, "oom_kill") : 0;
}

/* a file's text in buf, or NULL when it cannot be read or is empty */
static char *read_or_null(const char *file, char *buf, size_t cap)
{
	return read_text(file, buf, cap) > 0 ? buf : NULL;
}

int cgroup_stats(struct husk_stats_msg *m, struct husk_err *err)
{
	static char cpu[16384], io[16384], mem[16384];
	static struct cgroup_stat_files f;
	char cur[64], max[64], swap[64], pids[64], pids_max[64], events[512];
	if (read_text("cpu.stat", cpu, sizeof cpu) < 0)
		return husk_err_sys(err, errno, "reading the container's cpu.stat");
	f.cpu_stat = cpu;
	f.memory_current = read_or_null("memory.current", cur, sizeof cur);
	f.memory_max = read_or_null("memory.max", max, sizeof max);
	f.swap_current = read_or_null("memory.swap.current", swap, sizeof swap);
	f.pids_current = read_or_null("pids.current", pids, sizeof pids);
	f.pids_max = read_or_null("pids.max", pids_max, sizeof pids_max);
	f.io_stat = read_or_null("io.stat", io, sizeof io);
	f.memory_events = read_or_null("memory.events", events, sizeof events);
	f.memory_stat = read_or_null("memory.stat", mem, sizeof mem);
	cgroup_stats_parse(&f, m);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return 0;
}

/* --- OOM notifications ------------------------------------------------ */

static struct watch oom_w = { .fd = -1 };
static uint64_t oom_seen;

static void on_memory_events(struct watch *w, uint32_t events)
{
	char buf[4096];
	while (read(w->fd, buf, sizeof buf) > 0)
		;
	uint64_t kills = cgroup_oom_kills();
	if (kills <= oom_seen)
		return;
	oom_seen = kills;
	struct proc *init = container_proc();
	GLOG_INFO("the kernel OOM-killed in the container (%llu so far)", (unsigned long long)kills);
	if (init && init->conn) {
		uint8_t msg[32];
		struct husk_cbor_enc e;
		husk_cbor_enc_init(&e, msg, sizeof msg);
		husk_msg_encode_oom(&e, &(struct husk_oom_msg){ .oom_kills = kills });
		conn_send(init->conn, HUSK_MSG_OOM, 0, 0, e.buf, e.len);
	}
}

int cgroup_watch_oom(struct husk_err *err)
{
	if (oom_w.fd >= 0)
		return 0;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "inotify_init1");
	if (inotify_add_watch(fd, CONTAINER_CGROUP "/memory.events", IN_MODIFY) < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "watching memory.events");
	}
	oom_w.fd = fd;
	oom_w.on_event = on_memory_events;
	oom_seen = cgroup_oom_kills();
	return loop_add(&oom_w, EPOLLIN, err);
}
