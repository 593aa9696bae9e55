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
#include "guest/guest.h"

#define CONTAINER_CGROUP "/sys/fs/cgroup/container"
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
	const char *f = strstr(buf, "frozen ");
	return f && f[7] == (want ? '1' : '0');
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
	static const char *const ctrls[] = { "+cpu", "+cpuset", "+memory", "+pids", "+io" };
	for (size_t i = 0; i < sizeof ctrls / sizeof ctrls[0]; i++) {
		struct husk_err ignore = { 0 };
		if (write_text("/sys/fs/cgroup/cgroup.subtree_control", ctrls[i], &ignore) < 0 &&
		    strcmp(ctrls[i], "+io") != 0)
			return husk_err_set(err, ignore.code, "enabling the %s controller: %s", ctrls[i] + 1, ignore.msg);
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

int cgroup_apply(const struct husk_resources *r, struct husk_err *err)
{
	int rc;
	if (r->has_memory_limit && (rc = write_limit("memory.max", r->memory_limit, err)) < 0)
		return rc;
	if (r->has_memory_reservation && (rc = write_limit("memory.low", r->memory_reservation, err)) < 0)
		return rc;
	if (r->has_memory_swap) {
		/* runc's memory_swap is memory + swap; cgroup v2 wants the swap part */
		int64_t swap = -1;
		if (r->memory_swap >= 0) {
			if (!r->has_memory_limit || r->memory_limit < 0 || r->memory_swap < r->memory_limit)
				return husk_err_set(err, EINVAL,
						    "memory+swap limit must be at least the memory limit and needs one");
			swap = r->memory_swap - r->memory_limit;
		}
		struct husk_err ignore = { 0 };
		write_limit("memory.swap.max", swap, &ignore); /* absent without swap accounting */
	}
	if (r->has_cpu_shares) {
		uint64_t weight = 1 + ((r->cpu_shares - 2) * 9999) / 262142;
		if ((rc = write_limit("cpu.weight", (int64_t)weight, err)) < 0)
			return rc;
	}
	if (r->has_cpu_quota || r->has_cpu_period) {
		char cur[64], text[64];
		long long quota = -1, period = 100000;
		if (read_text("cpu.max", cur, sizeof cur) > 0) {
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
			snprintf(text, sizeof text, "%lld %lld", quota, period);
		else
			snprintf(text, sizeof text, "max %lld", period);
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
	return 0;
}

/* value of "key N" in a flat-keyed cgroup file, or 0 */
static uint64_t keyed(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

static uint64_t single(const char *file, bool *is_max)
{
	char buf[64];
	if (is_max)
		*is_max = false;
	if (read_text(file, buf, sizeof buf) <= 0)
		return 0;
	if (!strncmp(buf, "max", 3)) {
		if (is_max)
			*is_max = true;
		return 0;
	}
	return strtoull(buf, NULL, 10);
}

uint64_t cgroup_oom_kills(void)
{
	char buf[512];
	return read_text("memory.events", buf, sizeof buf) > 0 ? keyed(buf, "oom_kill") : 0;
}

static void put_u(struct husk_cbor_enc *e, const char *k, uint64_t v)
{
	husk_cbor_put_text(e, k);
	husk_cbor_put_uint(e, v);
}

int cgroup_stats(struct husk_cbor_enc *e, struct husk_err *err)
{
	static char buf[16384];
	bool mem_max, pids_max;
	if (read_text("cpu.stat", buf, sizeof buf) < 0)
		return husk_err_sys(err, errno, "reading the container's cpu.stat");
	uint64_t usage = keyed(buf, "usage_usec"), user = keyed(buf, "user_usec"), sys = keyed(buf, "system_usec");
	uint64_t mem = single("memory.current", NULL), mem_limit = single("memory.max", &mem_max);
	uint64_t swap = single("memory.swap.current", NULL);
	uint64_t pids = single("pids.current", NULL), pids_limit = single("pids.max", &pids_max);
	uint64_t rbytes = 0, wbytes = 0, rios = 0, wios = 0;
	if (read_text("io.stat", buf, sizeof buf) > 0) {
		for (char *p = buf; *p;) {
			char *eol = strchr(p, '\n');
			if (eol)
				*eol = '\0';
			for (char *tok = strchr(p, ' '); tok; tok = strchr(tok + 1, ' ')) {
				if (!strncmp(tok + 1, "rbytes=", 7))
					rbytes += strtoull(tok + 8, NULL, 10);
				else if (!strncmp(tok + 1, "wbytes=", 7))
					wbytes += strtoull(tok + 8, NULL, 10);
				else if (!strncmp(tok + 1, "rios=", 5))
					rios += strtoull(tok + 6, NULL, 10);
				else if (!strncmp(tok + 1, "wios=", 5))
					wios += strtoull(tok + 6, NULL, 10);
			}
			if (!eol)
				break;
			p = eol + 1;
		}
	}
	husk_cbor_put_map(e, 15);
	put_u(e, "cpu_usage_ns", usage * 1000);
	put_u(e, "cpu_user_ns", user * 1000);
	put_u(e, "cpu_system_ns", sys * 1000);
	put_u(e, "memory_usage", mem);
	husk_cbor_put_text(e, "memory_limit");
	husk_cbor_put_int(e, mem_max ? -1 : (int64_t)mem_limit);
	put_u(e, "swap_usage", swap);
	put_u(e, "pids_current", pids);
	husk_cbor_put_text(e, "pids_limit");
	husk_cbor_put_int(e, pids_max ? -1 : (int64_t)pids_limit);
	put_u(e, "io_read_bytes", rbytes);
	put_u(e, "io_write_bytes", wbytes);
	put_u(e, "io_reads", rios);
	put_u(e, "io_writes", wios);
	put_u(e, "oom_kills", cgroup_oom_kills());
	/* memory.stat: every counter, bounded */
	husk_cbor_put_text(e, "memory_stat");
	uint32_t n = 0;
	if (read_text("memory.stat", buf, sizeof buf) > 0)
		for (char *p = buf; *p && n < 64; p++)
			if (*p == '\n')
				n++;
	husk_cbor_put_map(e, n);
	char *p = buf;
	for (uint32_t i = 0; i < n; i++) {
		char *eol = strchr(p, '\n');
		char *sp = strchr(p, ' ');
		if (!eol || !sp || sp > eol) {
			husk_cbor_put_text(e, "?");
			husk_cbor_put_uint(e, 0);
		} else {
			husk_cbor_put_textn(e, p, (size_t)(sp - p));
			husk_cbor_put_uint(e, strtoull(sp + 1, NULL, 10));
		}
		p = eol ? eol + 1 : p + strlen(p);
	}
	husk_cbor_put_text(e, "time_ns");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	husk_cbor_put_uint(e, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	return husk_cbor_enc_finish(e, err);
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
		husk_msg_encode_one_uint(&e, "oom_kills", kills);
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
