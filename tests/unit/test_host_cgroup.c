/* The VM's host cgroup, computed: linux.cgroupsPath resolved as runc 1.1.5
 * resolves it (cgroupfs and systemd forms), the paths on cgroup v1 and v2,
 * and the limit files and values for each. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/state/host_cgroup.h"
#include "tests/unit/unit.h"

static const char *clean(const char *in)
{
	static char out[PATH_MAX];
	if (husk_cgroup_clean(in, out, sizeof out) < 0)
		return "(error)";
	return out;
}

static enum test_result test_clean_path(void)
{
	CHECK_STR(clean("/a/b"), "/a/b");
	CHECK_STR(clean("/a//b/./c/"), "/a/b/c");
	CHECK_STR(clean("/a/../../b"), "/b");
	CHECK_STR(clean("/.."), "/");
	CHECK_STR(clean("a/b"), "a/b");
	/* relative: ".." cannot climb out of the caller's group */
	CHECK_STR(clean("../../etc"), "etc");
	CHECK_STR(clean("a/../.."), "");
	CHECK_STR(clean("./x/"), "x");
	return TEST_PASS;
}

/* inner(path, systemd) -> out, relative */
static int inner(const char *path, bool systemd, char *out, bool *rel, struct husk_err *err)
{
	husk_err_clear(err);
	return husk_cgroup_inner(path, systemd, "c1", out, PATH_MAX, rel, err);
}

static enum test_result test_cgroupfs_forms(void)
{
	char out[PATH_MAX], dir[PATH_MAX];
	bool rel;
	struct husk_err err = { 0 };
	/* no cgroupsPath: the id, under the caller's own group (runc's default) */
	CHECK_EQ_INT(inner(NULL, false, out, &rel, &err), 0);
	CHECK_STR(out, "c1");
	CHECK(rel);
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup/memory", "/process_api/x", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/memory/process_api/x/c1");
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup/pids", "/", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/pids/c1");
	/* absolute: from the hierarchy's root, whatever the caller's group */
	CHECK_EQ_INT(inner("/kubepods/burstable/pod1/../pod2/ctr", false, out, &rel, &err), 0);
	CHECK_STR(out, "/kubepods/burstable/pod2/ctr");
	CHECK(!rel);
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup/memory", "/process_api/x", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/memory/kubepods/burstable/pod2/ctr");
	/* v2: one hierarchy */
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup", "/", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/kubepods/burstable/pod2/ctr");
	/* relative, with a climb that cleaning takes away */
	CHECK_EQ_INT(inner("../../pod/ctr", false, out, &rel, &err), 0);
	CHECK_STR(out, "pod/ctr");
	CHECK(rel);
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup", "/user.slice/s.scope", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/user.slice/s.scope/pod/ctr");
	/* the root, or the caller's own group: refused, one line naming the key */
	CHECK(inner("/", false, out, &rel, &err) < 0);
	CHECK(strstr(err.msg, "cgroupsPath") && strstr(err.msg, "root"));
	CHECK(inner("/a/..", false, out, &rel, &err) < 0);
	CHECK(inner("..", false, out, &rel, &err) < 0);
	CHECK(strstr(err.msg, "caller's own") != NULL);
	CHECK(inner("/a\nb", false, out, &rel, &err) < 0);
	CHECK(strstr(err.msg, "control character") != NULL);
	return TEST_PASS;
}

/* the systemd form, mapped to the cgroupfs path systemd gives the unit
 * (husk creates it itself: no D-Bus transient unit) */
static enum test_result test_systemd_forms(void)
{
	char out[PATH_MAX], dir[PATH_MAX];
	bool rel;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(inner("system.slice:docker:abc", true, out, &rel, &err), 0);
	CHECK_STR(out, "/system.slice/docker-abc.scope");
	CHECK(!rel);
	CHECK_EQ_INT(inner("kubepods-burstable-pod1.slice:cri-containerd:abc", true, out, &rel, &err), 0);
	CHECK_STR(out,
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-abc.scope");
	CHECK_EQ_INT(husk_cgroup_join_path("/sys/fs/cgroup/cpu", "/ignored", out, rel, dir, sizeof dir), 0);
	CHECK_STR(dir, "/sys/fs/cgroup/cpu/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
		       "cri-containerd-abc.scope");
	/* defaults: system.slice, prefix husk, the id */
	CHECK_EQ_INT(inner(NULL, true, out, &rel, &err), 0);
	CHECK_STR(out, "/system.slice/husk-c1.scope");
	CHECK_EQ_INT(inner(":p:n", true, out, &rel, &err), 0);
	CHECK_STR(out, "/system.slice/p-n.scope");
	CHECK_EQ_INT(inner("-.slice::n", true, out, &rel, &err), 0);
	CHECK_STR(out, "/n.scope");
	CHECK_EQ_INT(inner("machine.slice:x:my.slice", true, out, &rel, &err), 0);
	CHECK_STR(out, "/machine.slice/my.slice");
	/* not slice:prefix:name, or not a slice */
	CHECK(inner("/kubepods/x", true, out, &rel, &err) < 0);
	CHECK(strstr(err.msg, "slice:prefix:name") != NULL);
	CHECK(inner("a:b:c:d", true, out, &rel, &err) < 0);
	CHECK(inner("system:p:n", true, out, &rel, &err) < 0);
	CHECK(strstr(err.msg, "not a systemd slice") != NULL);
	CHECK(inner("a--b.slice:p:n", true, out, &rel, &err) < 0);
	CHECK(inner("-a.slice:p:n", true, out, &rel, &err) < 0);
	CHECK(inner("a/b.slice:p:n", true, out, &rel, &err) < 0);
	CHECK(inner("system.slice:p:a/b", true, out, &rel, &err) < 0);
	CHECK(inner("system.slice:p:..", true, out, &rel, &err) < 0);
	return TEST_PASS;
}

static enum test_result test_limits(void)
{
	struct husk_host_cgroup_limits l;
	/* a 512 MiB VM, 2 vCPUs, TCG's 16 MiB cache, no CPU values */
	husk_host_cgroup_limits(512, 2, 16, NULL, &l);
	CHECK_EQ_INT(l.memory, (512LL + 16 + HUSK_HOST_CG_OVERHEAD_MIB) << 20);
	CHECK_EQ_INT(l.pids, HUSK_HOST_CG_PIDS_BASE + 2 * HUSK_HOST_CG_PIDS_PER_VCPU);
	CHECK_EQ_INT(l.cpu_shares, 0);
	CHECK_EQ_INT(l.cpu_quota, 0);
	CHECK_EQ_INT(l.cpu_period, 0);
	struct husk_resources res = { .has_cpu_shares = true,
				      .cpu_shares = 512,
				      .has_cpu_quota = true,
				      .cpu_quota = 50000,
				      .has_cpu_period = true,
				      .cpu_period = 100000 };
	husk_host_cgroup_limits(256, 1, 0, &res, &l);
	CHECK_EQ_INT(l.memory, (256LL + HUSK_HOST_CG_OVERHEAD_MIB) << 20);
	CHECK_EQ_INT(l.cpu_shares, 512);
	CHECK_EQ_INT(l.cpu_quota, 50000);
	CHECK_EQ_INT(l.cpu_period, 100000);
	res.cpu_quota = -5;
	husk_host_cgroup_limits(256, 1, 0, &res, &l);
	CHECK_EQ_INT(l.cpu_quota, -1);
	return TEST_PASS;
}

static enum test_result test_weight_conversion(void)
{
	/* runc's values: 2 -> 1, 1024 -> 39, 262144 -> 10000 */
	CHECK_EQ_INT(husk_cgroup_shares_to_weight(2), 1);
	CHECK_EQ_INT(husk_cgroup_shares_to_weight(1024), 39);
	CHECK_EQ_INT(husk_cgroup_shares_to_weight(262144), 10000);
	CHECK_EQ_INT(husk_cgroup_shares_to_weight(0), 0);
	return TEST_PASS;
}

static const char *value_of(const struct husk_cg_write *w, size_t n, const char *file)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w[i].file, file))
			return w[i].value;
	return NULL;
}

static enum test_result test_files_v1_v2(void)
{
	struct husk_cg_write w[8];
	struct husk_host_cgroup_limits l = {
		.memory = 600LL << 20, .pids = 520, .cpu_shares = 512, .cpu_quota = 50000, .cpu_period = 100000
	};
	size_t n = husk_cgroup_limit_writes(false, &l, w, 8);
	CHECK_EQ_INT(n, 5);
	CHECK_STR(value_of(w, n, "memory.limit_in_bytes"), "629145600");
	CHECK_STR(value_of(w, n, "pids.max"), "520");
	CHECK_STR(value_of(w, n, "cpu.shares"), "512");
	CHECK_STR(value_of(w, n, "cpu.cfs_period_us"), "100000");
	CHECK_STR(value_of(w, n, "cpu.cfs_quota_us"), "50000");
	/* the period before the quota (a quota above the old period's bound) */
	size_t ip = 0, iq = 0;
	for (size_t i = 0; i < n; i++) {
		ip = !strcmp(w[i].file, "cpu.cfs_period_us") ? i : ip;
		iq = !strcmp(w[i].file, "cpu.cfs_quota_us") ? i : iq;
	}
	CHECK(ip < iq);
	n = husk_cgroup_limit_writes(true, &l, w, 8);
	CHECK_EQ_INT(n, 4);
	CHECK_STR(value_of(w, n, "memory.max"), "629145600");
	CHECK_STR(value_of(w, n, "pids.max"), "520");
	CHECK_STR(value_of(w, n, "cpu.weight"), "20");
	CHECK_STR(value_of(w, n, "cpu.max"), "50000 100000");
	/* no quota: "max"; a quota without a period: the default period */
	l = (struct husk_host_cgroup_limits){ .cpu_quota = -1, .cpu_period = 20000 };
	n = husk_cgroup_cpu_writes(true, &l, w, 8);
	CHECK_EQ_INT(n, 1);
	CHECK_STR(value_of(w, n, "cpu.max"), "max 20000");
	n = husk_cgroup_cpu_writes(false, &l, w, 8);
	CHECK_STR(value_of(w, n, "cpu.cfs_quota_us"), "-1");
	l = (struct husk_host_cgroup_limits){ .cpu_quota = 30000 };
	n = husk_cgroup_cpu_writes(true, &l, w, 8);
	CHECK_STR(value_of(w, n, "cpu.max"), "30000 100000");
	/* nothing set, nothing written */
	l = (struct husk_host_cgroup_limits){ 0 };
	CHECK_EQ_INT(husk_cgroup_limit_writes(true, &l, w, 8), 0);
	CHECK_EQ_INT(husk_cgroup_limit_writes(false, &l, w, 8), 0);
	return TEST_PASS;
}

static long read_num(const char *dir, const char *file)
{
	char path[PATH_MAX + 64], buf[64] = "";
	snprintf(path, sizeof path, "%s/%s", dir, file);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

static bool procs_has(const char *dir, pid_t pid)
{
	char path[PATH_MAX + 64], line[64];
	bool found = false;
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof line, f))
		found = atoi(line) == (int)pid;
	if (f)
		fclose(f);
	return found;
}

/* the list's group for the hierarchy whose dir holds file */
static bool group_with(const char *list, const char *file, char *out, size_t cap)
{
	char path[PATH_MAX + 64];
	FILE *f = fopen(list, "r");
	char line[3 * PATH_MAX];
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f)) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			continue;
		*t2 = '\0';
		snprintf(path, sizeof path, "%s/%s", t1 + 1, file);
		if (access(path, F_OK) == 0) {
			snprintf(out, cap, "%s", t1 + 1);
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/* On this host, in a child: the group made in each hierarchy, the limits
 * written, the child in it; then out again and the groups gone. Needs
 * root and a cgroup file system with memory (skipped otherwise). */
static enum test_result test_join_on_this_host(void)
{
	char state[] = "/tmp/husk-test-cg.XXXXXX", rel[64], list[PATH_MAX], mem[PATH_MAX] = "", pids[PATH_MAX] = "";
	if (geteuid() != 0 || access("/sys/fs/cgroup", F_OK) < 0 || !mkdtemp(state))
		return TEST_SKIP;
	snprintf(rel, sizeof rel, "husk-unit-%d/g", (int)getpid());
	snprintf(list, sizeof list, "%s/host-cgroups", state);
	struct husk_host_cgroup_limits l;
	struct husk_resources res = { .has_cpu_shares = true, .cpu_shares = 300 };
	husk_host_cgroup_limits(100, 1, 16, &res, &l);
	int up[2], down[2]; /* child to parent, parent to child */
	if (pipe(up) < 0 || pipe(down) < 0)
		return TEST_FAIL;
	pid_t child = fork();
	if (child == 0) {
		struct husk_err err = { 0 };
		char io[PATH_MAX];
		int r = husk_host_cgroups_join("x", rel, false, &l, state, io, sizeof io, &err);
		char c = r == 0 && !err.msg[0] ? 'y' : 'n';
		if (c == 'n')
			printf("# join: %s\n", err.msg);
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(2);
		husk_host_cgroups_remove(state, true);
		_exit(0);
	}
	char c = 'n';
	if (read(up[0], &c, 1) != 1 || c != 'y') {
		waitpid(child, NULL, 0);
		rmdir(state);
		return c == 'n' ? TEST_SKIP : TEST_FAIL; /* a host without memory cgroups, or not ours to change */
	}
	bool ok = group_with(list, "memory.limit_in_bytes", mem, sizeof mem) ||
		  group_with(list, "memory.max", mem, sizeof mem);
	ok = ok && group_with(list, "pids.max", pids, sizeof pids);
	long limit = ok ? read_num(mem, access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
						? "memory.max"
						: "memory.limit_in_bytes")
			: -1;
	long pmax = ok ? read_num(pids, "pids.max") : -1;
	bool in = ok && procs_has(mem, child) && procs_has(pids, child);
	/* another process moved in by pid (a pool VM's, adopted), out again
	 * by its exit before the groups go */
	pid_t other = fork();
	if (other == 0) {
		pause();
		_exit(0);
	}
	struct husk_err aerr = { 0 };
	bool added = other > 0 && husk_host_cgroups_add(state, other, &aerr) == 0 && procs_has(mem, other) &&
		     procs_has(pids, other);
	if (!added)
		printf("# add: %s\n", aerr.msg);
	if (other > 0) {
		kill(other, SIGKILL);
		waitpid(other, NULL, 0);
	}
	/* every group's parent (the relative path made them): the test's to remove */
	char parents[8][PATH_MAX], line[3 * PATH_MAX];
	size_t np = 0;
	FILE *f = fopen(list, "r");
	while (f && np < 8 && fgets(line, sizeof line, f)) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *slash;
		if (!t2)
			continue;
		*t2 = '\0';
		snprintf(parents[np], sizeof parents[np], "%s", t1 + 1);
		if ((slash = strrchr(parents[np], '/')))
			*slash = '\0';
		np++;
	}
	if (f)
		fclose(f);
	if (write(down[1], "x", 1) != 1)
		ok = false;
	waitpid(child, NULL, 0);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
	struct stat st;
	bool gone = stat(mem, &st) < 0 && stat(pids, &st) < 0;
	for (size_t i = 0; i < np; i++)
		rmdir(parents[i]);
	unlink(list);
	rmdir(state);
	CHECK(ok);
	CHECK_EQ_INT(limit, (100L + 16 + HUSK_HOST_CG_OVERHEAD_MIB) << 20);
	CHECK_EQ_INT(pmax, HUSK_HOST_CG_PIDS_BASE + HUSK_HOST_CG_PIDS_PER_VCPU);
	CHECK(in);
	CHECK(added);
	CHECK(gone);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "cgroupsPath cleaned as runc's CleanPath", test_clean_path },
		{ "cgroupfs: absolute, relative to the caller's group, the id by default; root refused",
		  test_cgroupfs_forms },
		{ "systemd: slice:prefix:name to the unit's path; defaults; bad forms refused", test_systemd_forms },
		{ "memory = VM + TCG cache + overhead; pids per vCPU; CPU from the spec", test_limits },
		{ "cpu.shares to cpu.weight as runc", test_weight_conversion },
		{ "limit files and values, v1 and v2", test_files_v1_v2 },
		{ "on this host: groups made, limits set, joined, another pid added, left and removed",
		  test_join_on_this_host },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
