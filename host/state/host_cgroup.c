#include "host/state/host_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "host/state/log.h"

#define V2_ROOT "/sys/fs/cgroup"
#define V1_BLKIO "/sys/fs/cgroup/blkio"

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

static bool file_has_word(const char *path, const char *word)
{
	char buf[512];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (!strcmp(t, word))
			return true;
	return false;
}

/* the parent for husk's groups, or NULL without an io/blkio controller */
static const char *io_hierarchy(bool *v2)
{
	struct stat st;
	if (file_has_word(V2_ROOT "/cgroup.controllers", "io")) {
		*v2 = true;
		return V2_ROOT;
	}
	if (stat(V1_BLKIO "/cgroup.procs", &st) == 0) {
		*v2 = false;
		return V1_BLKIO;
	}
	return NULL;
}

static void move_tree(const char *procs, pid_t pid, int depth)
{
	char buf[32], path[96], kids[4096];
	snprintf(buf, sizeof buf, "%d", (int)pid);
	write_str(procs, buf);
	if (depth > 4)
		return;
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, kids, sizeof kids - 1);
	close(fd);
	if (n <= 0)
		return;
	kids[n] = '\0';
	for (char *save = NULL, *t = strtok_r(kids, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		move_tree(procs, (pid_t)atoi(t), depth + 1);
}

int husk_io_cgroup_create(const char *id, const pid_t *pids, size_t n, char *path_out, size_t cap, struct husk_err *err)
{
	bool v2 = false;
	const char *root = io_hierarchy(&v2);
	path_out[0] = '\0';
	if (!root)
		return 0;
	char parent[PATH_MAX], procs[PATH_MAX + 16];
	snprintf(parent, sizeof parent, "%s/husk", root);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating host cgroup %s", parent);
	if (v2) {
		/* delegate io down to husk/ and its groups */
		char ctl[PATH_MAX + 32];
		write_str(V2_ROOT "/cgroup.subtree_control", "+io");
		snprintf(ctl, sizeof ctl, "%s/cgroup.subtree_control", parent);
		write_str(ctl, "+io");
	}
	if ((size_t)snprintf(path_out, cap, "%s/%s", parent, id) >= cap)
		return husk_err_set(err, ENAMETOOLONG, "host cgroup path too long");
	if (mkdir(path_out, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		path_out[0] = '\0';
		return husk_err_sys(err, e, "creating host cgroup for %s", id);
	}
	snprintf(procs, sizeof procs, "%s/cgroup.procs", path_out);
	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0)
			move_tree(procs, pids[i], 0);
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

void husk_io_cgroup_remove(const char *path)
{
	if (!path || !path[0])
		return;
	/* processes that were just killed (virtiofsd's sandbox child) may
	 * take a moment to leave the group */
	for (int i = 0; i < 300; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		usleep(10000);
	}
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
	bool v2 = path && !strncmp(path, V2_ROOT "/husk/", strlen(V2_ROOT "/husk/"));
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

static const char *const stats_controllers[] = { "cpu", "cpuacct", "memory", "pids" };

static bool controller_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* the groups the monitor made are listed in <state dir>/host-cgroups */
static void stats_list_path(char *out, size_t cap, const char *state_dir)
{
	snprintf(out, cap, "%s/host-cgroups", state_dir);
}

int husk_stats_cgroups_join(const char *id, const char *state_dir, struct husk_err *err)
{
	char line[PATH_MAX], made[4][PATH_MAX + 64], list_path[PATH_MAX + 16];
	stats_list_path(list_path, sizeof list_path, state_dir);
	size_t n_made = 0;
	int rc = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return husk_err_sys(err, errno, "reading /proc/self/cgroup");
	while (fgets(line, sizeof line, f) && n_made < 4) {
		/* "N:controllers:/path" (v1); "0::/path" is the unified hierarchy */
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2 || c2 == c1 + 1)
			continue;
		*c2 = '\0';
		char *ctrls = c1 + 1, *path = c2 + 1;
		path[strcspn(path, "\n")] = '\0';
		const char *name = NULL;
		for (size_t i = 0; i < sizeof stats_controllers / sizeof stats_controllers[0]; i++)
			if (controller_listed(ctrls, stats_controllers[i])) {
				name = stats_controllers[i];
				break;
			}
		if (!name || strstr(path, "/.."))
			continue;
		char dir[PATH_MAX + 64], procs[PATH_MAX + 80], pid[32];
		if ((size_t)snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s/husk-%s", name,
				     strcmp(path, "/") ? path : "", id) >= sizeof dir)
			continue;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			rc = husk_err_sys(err, errno, "creating host cgroup %s", dir);
			continue;
		}
		snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
		snprintf(pid, sizeof pid, "%d", (int)getpid());
		int w = write_str(procs, pid);
		if (w < 0) {
			rmdir(dir);
			rc = husk_err_sys(err, -w, "joining host cgroup %s", dir);
			continue;
		}
		snprintf(made[n_made++], sizeof made[0], "%s", dir);
	}
	fclose(f);
	if (n_made) {
		char text[sizeof made + 8] = "";
		size_t len = 0;
		for (size_t i = 0; i < n_made; i++)
			len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", made[i]);
		struct husk_err werr = { 0 };
		if (write_file_atomic(list_path, text, len, 0600, &werr) < 0 && rc == 0)
			rc = husk_err_set(err, werr.code, "%s", werr.msg);
	}
	return rc;
}

void husk_stats_cgroups_remove(const char *state_dir, bool leave_self)
{
	char list_path[PATH_MAX + 16];
	stats_list_path(list_path, sizeof list_path, state_dir);
	char *text = NULL;
	size_t len;
	struct husk_err err = { 0 };
	if (read_file(list_path, 64 * 1024, &text, &len, &err) < 0)
		return;
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	for (char *save = NULL, *dir = strtok_r(text, "\n", &save); dir; dir = strtok_r(NULL, "\n", &save)) {
		/* only groups husk made: /sys/fs/cgroup/<controller>/.../husk-<id> */
		const char *base = strrchr(dir, '/');
		if (strncmp(dir, "/sys/fs/cgroup/", 15) || !base || strncmp(base, "/husk-", 6) || strstr(dir, "/.."))
			continue;
		if (leave_self) {
			char parent[PATH_MAX + 80];
			snprintf(parent, sizeof parent, "%.*s/cgroup.procs", (int)(base - dir), dir);
			write_str(parent, pid);
		}
		husk_io_cgroup_remove(dir);
	}
	free(text);
	unlink(list_path);
}

/* the caller is in the io group: back to the parent, so the group can go */
static void leave_io_cgroup(const char *path)
{
	char procs[PATH_MAX + 32], pid[32];
	const char *base = path ? strrchr(path, '/') : NULL;
	if (!base)
		return;
	snprintf(procs, sizeof procs, "%.*s/cgroup.procs", (int)(base - path), path);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, pid, strlen(pid)) < 0)
			log_debug("leaving %s: %s", path, strerror(errno));
		close(fd);
	}
}

void husk_host_cgroups_remove(const char *state_dir, const char *io_cgroup, bool leave_self)
{
	if (leave_self)
		leave_io_cgroup(io_cgroup);
	husk_io_cgroup_remove(io_cgroup);
	husk_stats_cgroups_remove(state_dir, leave_self);
}
