#include "host_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

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

int husk_io_cgroup_create(const char *id, const pid_t *pids, size_t n, char *path_out, size_t cap,
			  struct husk_err *err)
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
	if (path && path[0])
		rmdir(path);
}
