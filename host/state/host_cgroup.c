#include "host/state/host_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/state/fsutil.h"
#include "host/state/log.h"

#define CG_ROOT "/sys/fs/cgroup"
#define CG2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC */
#define HIER_MAX 5
#define LIST_NAME "host-cgroups"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -(n < 0 ? e : EIO);
}

static bool is_v2_dir(const char *path)
{
	struct statfs sf;
	return path && path[0] && statfs(path, &sf) == 0 && sf.f_type == CG2_MAGIC;
}

/* One hierarchy the VM gets a group in. */
struct hier {
	char mount[PATH_MAX];
	char own[PATH_MAX]; /* the caller's group in it, "/..." */
	char dir[PATH_MAX]; /* the VM's group */
	bool v2, io, made;
};

static const char *const v1_controllers[] = { "cpu", "cpuacct", "memory", "pids", "blkio" };

static bool in_list(const char *list, const char *name, char sep)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, sep);
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* The caller's group in the hierarchy holding ctrl ("" for v2's "0::") */
static int own_group(const char *ctrl, char *out, size_t cap)
{
	char line[PATH_MAX + 128];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (ctrl[0] ? !in_list(c1 + 1, ctrl, ',') : c1[1] != '\0')
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (strstr(c2 + 1, "/..") || c2[1] != '/')
			return -EINVAL;
		snprintf(out, cap, "%s", c2 + 1);
		return 0;
	}
	return -ENOENT;
}

/* The v1 mount point of ctrl, from /proc/self/mountinfo */
static int v1_mount(const char *ctrl, char *out, size_t cap)
{
	char line[4096];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE SOURCE SUPEROPTS */
		char *dash = strstr(line, " - cgroup ");
		if (!dash)
			continue;
		char *super = strrchr(dash, ' ');
		super[1 + strcspn(super + 1, "\n")] = '\0';
		if (!in_list(super + 1, ctrl, ','))
			continue;
		char *p = line;
		for (int i = 0; i < 4 && p; i++)
			p = strchr(p + 1, ' ');
		if (!p)
			continue;
		size_t n = strcspn(p + 1, " ");
		if (n >= cap || memchr(p + 1, '\\', n)) /* an escaped name: not husk's to guess */
			continue;
		snprintf(out, cap, "%.*s", (int)n, p + 1);
		return 0;
	}
	return -ENOENT;
}

/* The hierarchies: cgroup v2's one, or each v1 mount of the controllers
 * (cpu and cpuacct may share one). */
static size_t find_hiers(struct hier *h)
{
	struct statfs sf;
	size_t n = 0;
	if (statfs(CG_ROOT, &sf) < 0)
		return 0;
	if (sf.f_type == CG2_MAGIC) {
		memset(h, 0, sizeof *h);
		snprintf(h->mount, sizeof h->mount, CG_ROOT);
		if (own_group("", h->own, sizeof h->own) < 0)
			return 0;
		h->v2 = h->io = true;
		return 1;
	}
	for (size_t c = 0; c < sizeof v1_controllers / sizeof v1_controllers[0] && n < HIER_MAX; c++) {
		struct hier *x = &h[n];
		memset(x, 0, sizeof *x);
		if (v1_mount(v1_controllers[c], x->mount, sizeof x->mount) < 0 ||
		    own_group(v1_controllers[c], x->own, sizeof x->own) < 0)
			continue;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(h[i].mount, x->mount);
		if (dup)
			continue;
		x->io = !strcmp(v1_controllers[c], "blkio");
		n++;
	}
	return n;
}

/* <state_dir>/host-cgroups: "made<TAB>dir<TAB>origin" per group */
static int write_list(const char *state_dir, const struct hier *h, size_t n, struct husk_err *err)
{
	char path[PATH_MAX + 32];
	size_t cap = HIER_MAX * (3 * PATH_MAX + 8) + 1, len = 0;
	_cleanup_free_ char *text = malloc(cap);
	if (!text)
		return husk_err_set(err, ENOMEM, "out of memory");
	text[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(text + len, cap - len, "%d\t%s\t%s%s\n", h[i].made, h[i].dir, h[i].mount,
					strcmp(h[i].own, "/") ? h[i].own : "");
	snprintf(path, sizeof path, "%s/" LIST_NAME, state_dir);
	return write_file_atomic(path, text, len, 0600, err);
}

static void remove_group(const char *dir)
{
	/* processes that were just killed (virtiofsd's sandbox child) may
	 * take a moment to leave the group */
	for (int i = 0; i < 300; i++) {
		if (rmdir(dir) == 0 || errno != EBUSY)
			return;
		usleep(10000);
	}
	log_warn("host cgroup %s is still busy; left behind", dir);
}

static void undo(const struct hier *h, size_t n)
{
	char procs[PATH_MAX + 32], pid[24];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	for (size_t i = 0; i < n; i++) {
		snprintf(procs, sizeof procs, "%s%s/cgroup.procs", h[i].mount, strcmp(h[i].own, "/") ? h[i].own : "");
		write_str(procs, pid);
		if (h[i].made)
			remove_group(h[i].dir);
	}
}

/* v2: the controllers enabled from the root down to dir's parent, so that
 * dir has their files (best effort: a parent with processes refuses) */
static void v2_delegate(const char *dir)
{
	char path[PATH_MAX + 32];
	size_t root = strlen(CG_ROOT);
	for (const char *p = dir + root; p && *p; p = strchr(p + 1, '/')) {
		snprintf(path, sizeof path, "%.*s/cgroup.subtree_control", (int)(p - dir), dir);
		static const char *const ctl[] = { "+cpu", "+io", "+memory", "+pids" };
		for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
			write_str(path, ctl[i]);
	}
}

/* dir must be below the hierarchy's root and neither the caller's own
 * group nor one above it */
static int check_not_own(const struct hier *x, struct husk_err *err)
{
	char own_dir[PATH_MAX * 2];
	snprintf(own_dir, sizeof own_dir, "%s%s", x->mount, strcmp(x->own, "/") ? x->own : "");
	size_t n = strlen(x->dir);
	if (!strcmp(x->dir, x->mount) || (!strncmp(own_dir, x->dir, n) && (own_dir[n] == '/' || !own_dir[n])))
		return husk_err_set(err, EINVAL,
				    "linux.cgroupsPath: host cgroup %s holds the caller itself; give the container "
				    "a group of its own",
				    x->dir);
	return 0;
}

static int make_group(struct hier *x, struct husk_err *err)
{
	char parent[PATH_MAX];
	int r = check_not_own(x, err);
	if (r < 0)
		return r;
	snprintf(parent, sizeof parent, "%s", x->dir);
	*strrchr(parent, '/') = '\0';
	if ((r = mkdir_p(parent, 0755, err)) < 0)
		return husk_err_wrap(err, "host cgroup %s", x->dir);
	if (x->v2)
		v2_delegate(x->dir);
	if (mkdir(x->dir, 0755) == 0)
		x->made = true;
	else if (errno != EEXIST)
		return husk_err_sys(err, errno, "creating host cgroup %s", x->dir);
	return 0;
}

/* Each write into the group that has its file; a v1 controller the host
 * does not mount is skipped, a v2 controller not enabled is an error. A
 * write refused first (a cfs period below the quota in place) is tried
 * again after the others. */
static int apply_writes(const struct hier *h, size_t n, const struct husk_cg_write *w, size_t nw, struct husk_err *err)
{
	int failed = -1;
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < nw; k++) {
			if (pass == 1 && (int)k != failed)
				continue;
			char file[PATH_MAX + 64];
			const char *dir = NULL;
			for (size_t i = 0; i < n && !dir; i++) {
				snprintf(file, sizeof file, "%s/%s", h[i].dir, w[k].file);
				if (access(file, F_OK) == 0)
					dir = h[i].dir;
			}
			if (!dir) {
				if (n && h[0].v2)
					return husk_err_set(err, EOPNOTSUPP,
							    "host cgroup %s has no %s (its controller is not enabled "
							    "in the parent's cgroup.subtree_control)",
							    h[0].dir, w[k].file);
				continue;
			}
			int r = write_str(file, w[k].value);
			if (r < 0 && pass == 0 && failed < 0 && r == -EINVAL) {
				failed = (int)k;
				continue;
			}
			if (r < 0)
				return husk_err_sys(err, -r, "host cgroup: writing %s to %s", w[k].value, file);
		}
	}
	return 0;
}

int husk_io_cgroup_set_weight(const char *path, unsigned weight, struct husk_err *err)
{
	static const char *const files[] = { "io.bfq.weight", "io.weight", "blkio.bfq.weight", "blkio.weight" };
	char file[PATH_MAX + 32], text[32];
	if (!path || !path[0])
		return husk_err_set(err, EOPNOTSUPP, "this host has no io or blkio cgroup controller for the VM's I/O");
	if (weight < 10 || weight > 1000)
		return husk_err_set(err, EINVAL, "block-IO weight must be 10 to 1000, not %u", weight);
	snprintf(text, sizeof text, "%u", weight);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(file, sizeof file, "%s/%s", path, files[i]);
		if (access(file, F_OK) < 0)
			continue;
		int r = write_str(file, text);
		if (r < 0)
			return husk_err_sys(err, -r, "writing %s", file);
		return 0;
	}
	return husk_err_set(err, EOPNOTSUPP,
			    "the host's io controller has no weight file (it needs the BFQ scheduler or io.cost)");
}

struct throttle_kind {
	const char *spec_key, *v1_file, *v2_key;
};

static const struct throttle_kind throttles[] = {
	{ "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps" },
	{ "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps" },
	{ "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops" },
	{ "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops" },
};

static int device_number(json_t *d, const char *key, const char *where, size_t i, unsigned long *out,
			 struct husk_err *err)
{
	json_t *v = json_object_get(d, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xfffff)
		return husk_err_set(err, EINVAL, "linux.resources.blockIO.%s[%zu].%s must be a device number", where, i,
				    key);
	*out = (unsigned long)json_integer_value(v);
	return 0;
}

int husk_io_cgroup_apply_spec(const char *path, json_t *block_io, struct husk_err *err)
{
	if (!block_io || json_is_null(block_io))
		return 0;
	if (!json_is_object(block_io))
		return husk_err_set(err, EINVAL, "linux.resources.blockIO must be an object");
	json_t *w = json_object_get(block_io, "weight");
	if (json_is_integer(w) && json_integer_value(w) > 0) {
		int r = husk_io_cgroup_set_weight(path, (unsigned)json_integer_value(w), err);
		if (r < 0)
			return husk_err_wrap(err, "linux.resources.blockIO.weight");
	}
	bool v2 = is_v2_dir(path);
	for (size_t k = 0; k < sizeof throttles / sizeof throttles[0]; k++) {
		json_t *list = json_object_get(block_io, throttles[k].spec_key);
		if (!list || json_is_null(list))
			continue;
		if (!json_is_array(list) || json_array_size(list) > 64)
			return husk_err_set(err, EINVAL,
					    "linux.resources.blockIO.%s must be a list of at most 64 devices",
					    throttles[k].spec_key);
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *d = json_array_get(list, i);
			unsigned long major, minor;
			json_t *rate = json_object_get(d, "rate");
			int r;
			if ((r = device_number(d, "major", throttles[k].spec_key, i, &major, err)) < 0 ||
			    (r = device_number(d, "minor", throttles[k].spec_key, i, &minor, err)) < 0)
				return r;
			if (!json_is_integer(rate) || json_integer_value(rate) < 0)
				return husk_err_set(err, EINVAL,
						    "linux.resources.blockIO.%s[%zu].rate must be a number",
						    throttles[k].spec_key, i);
			if (!path || !path[0])
				return husk_err_set(
					err, EOPNOTSUPP,
					"linux.resources.blockIO.%s: this host has no io or blkio cgroup controller",
					throttles[k].spec_key);
			char file[PATH_MAX + 48], text[96];
			long long v = (long long)json_integer_value(rate);
			if (v2) {
				snprintf(file, sizeof file, "%s/io.max", path);
				if (v == 0)
					snprintf(text, sizeof text, "%lu:%lu %s=max", major, minor,
						 throttles[k].v2_key);
				else
					snprintf(text, sizeof text, "%lu:%lu %s=%lld", major, minor,
						 throttles[k].v2_key, v);
			} else {
				snprintf(file, sizeof file, "%s/%s", path, throttles[k].v1_file);
				snprintf(text, sizeof text, "%lu:%lu %lld", major, minor, v);
			}
			r = write_str(file, text);
			if (r < 0)
				return husk_err_sys(err, -r, "linux.resources.blockIO.%s[%zu]: device %lu:%lu",
						    throttles[k].spec_key, i, major, minor);
		}
	}
	return 0;
}

int husk_host_cgroups_join(const char *id, const char *cgroups_path, bool systemd,
			   const struct husk_host_cgroup_limits *l, const char *state_dir, char *io_out, size_t cap,
			   struct husk_err *err)
{
	struct hier h[HIER_MAX];
	char inner[PATH_MAX], pid[24];
	bool relative;
	io_out[0] = '\0';
	int r = husk_cgroup_inner(cgroups_path, systemd, id, inner, sizeof inner, &relative, err);
	if (r < 0)
		return r;
	size_t n = find_hiers(h);
	if (n == 0) {
		husk_err_set(err, ENOENT, "no cgroup file system at " CG_ROOT ": the VM runs without host limits");
		return 0;
	}
	size_t made = 0;
	for (; made < n; made++) {
		struct hier *x = &h[made];
		if (husk_cgroup_join_path(x->mount, x->own, inner, relative, x->dir, sizeof x->dir) < 0) {
			r = husk_err_set(err, ENAMETOOLONG, "linux.cgroupsPath is too long");
			break;
		}
		if ((r = make_group(x, err)) < 0)
			break;
	}
	struct husk_cg_write w[8];
	size_t nw = husk_cgroup_limit_writes(h[0].v2, l, w, 8);
	if (r == 0)
		r = apply_writes(h, n, w, nw, err);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	for (size_t i = 0; r == 0 && i < n; i++) {
		char procs[PATH_MAX + 32];
		snprintf(procs, sizeof procs, "%s/cgroup.procs", h[i].dir);
		if ((r = write_str(procs, pid)) < 0)
			r = husk_err_sys(err, -r, "joining host cgroup %s", h[i].dir);
		else if (h[i].io)
			snprintf(io_out, cap, "%s", h[i].dir);
	}
	if (r == 0)
		r = write_list(state_dir, h, n, err);
	if (r < 0) {
		io_out[0] = '\0';
		undo(h, made);
	}
	return r;
}

/* the groups from <state_dir>/host-cgroups */
static size_t read_list(const char *state_dir, struct hier *h)
{
	char path[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	struct husk_err err = { 0 };
	size_t n = 0;
	snprintf(path, sizeof path, "%s/" LIST_NAME, state_dir);
	if (read_file(path, 64 * 1024, &text, NULL, &err) < 0)
		return 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && n < HIER_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			continue;
		*t1 = *t2 = '\0';
		/* only groups under the cgroup file system, named plainly */
		if (strncmp(t1 + 1, CG_ROOT "/", strlen(CG_ROOT) + 1) || strstr(t1 + 1, "/..") ||
		    strncmp(t2 + 1, CG_ROOT, strlen(CG_ROOT)) || strstr(t2 + 1, "/.."))
			continue;
		memset(&h[n], 0, sizeof h[n]);
		h[n].made = line[0] == '1';
		snprintf(h[n].dir, sizeof h[n].dir, "%s", t1 + 1);
		snprintf(h[n].mount, sizeof h[n].mount, "%s", t2 + 1); /* the origin: mount + own */
		snprintf(h[n].own, sizeof h[n].own, "/");
		h[n].v2 = is_v2_dir(h[n].dir);
		n++;
	}
	return n;
}

void husk_host_cgroups_remove(const char *state_dir, bool leave_self)
{
	struct hier h[HIER_MAX];
	char path[PATH_MAX + 32];
	size_t n = read_list(state_dir, h);
	if (leave_self) {
		undo(h, n);
	} else {
		for (size_t i = 0; i < n; i++)
			if (h[i].made)
				remove_group(h[i].dir);
	}
	snprintf(path, sizeof path, "%s/" LIST_NAME, state_dir);
	unlink(path);
}

int husk_host_cgroups_add(const char *state_dir, pid_t pid, struct husk_err *err)
{
	struct hier h[HIER_MAX];
	char procs[PATH_MAX + 32], num[24];
	size_t n = read_list(state_dir, h);
	snprintf(num, sizeof num, "%d", (int)pid);
	for (size_t i = 0; i < n; i++) {
		snprintf(procs, sizeof procs, "%s/cgroup.procs", h[i].dir);
		int r = write_str(procs, num);
		if (r < 0)
			return husk_err_sys(err, -r, "moving process %d into host cgroup %s", (int)pid, h[i].dir);
	}
	return 0;
}

/* v2's cpu.max holds quota and period together: the one not given keeps
 * what the file has */
static void v2_cpu_max_fill(const struct hier *h, size_t n, struct husk_host_cgroup_limits *l)
{
	char file[PATH_MAX + 16], buf[64] = "";
	if (!n || !h[0].v2 || (l->cpu_quota && l->cpu_period) || (!l->cpu_quota && !l->cpu_period))
		return;
	snprintf(file, sizeof file, "%s/cpu.max", h[0].dir);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[got > 0 ? got : 0] = '\0';
	long long q = -1;
	unsigned long long p = 0;
	if (strncmp(buf, "max", 3))
		q = strtoll(buf, NULL, 10);
	const char *sp = strchr(buf, ' ');
	if (sp)
		p = strtoull(sp + 1, NULL, 10);
	if (!l->cpu_quota)
		l->cpu_quota = q;
	if (!l->cpu_period)
		l->cpu_period = p;
}

int husk_host_cgroups_update_cpu(const char *state_dir, const struct husk_resources *res, struct husk_err *err)
{
	struct husk_host_cgroup_limits l;
	struct hier h[HIER_MAX];
	struct husk_cg_write w[4];
	husk_host_cgroup_limits(0, 0, 0, res, &l);
	l.pids = 0;
	if (!l.cpu_shares && !l.cpu_quota && !l.cpu_period)
		return 0;
	size_t n = read_list(state_dir, h);
	if (!n)
		return 0; /* the VM got no host cgroup: nothing on the host to change */
	v2_cpu_max_fill(h, n, &l);
	size_t nw = husk_cgroup_cpu_writes(h[0].v2, &l, w, 4);
	return apply_writes(h, n, w, nw, err);
}
