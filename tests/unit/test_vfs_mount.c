/* Read-only binds with their submounts (host/monitor/vfs_mount.c), by
 * mount_setattr and by the fallback walk of /proc/self/mountinfo; a pod's
 * share slots (host/monitor/vfs_slot.c) injected into a running share and
 * seen from a slave namespace standing in for virtiofsd's. Run as root in
 * a child's own mount namespace (skipped otherwise). */
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host/monitor/monitor_priv.h"
#include "host/monitor/vfs_mount.h"
#include "host/monitor/vfs_slot.h"
#include "proto/msg_container.h"
#include "proto/proto.h"
#include "tests/unit/unit.h"

static int writable(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/probe", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return errno == EROFS ? 0 : -1;
	close(fd);
	unlink(path);
	return 1;
}

/* child exit codes: 0 all as expected, 77 cannot set up, 1.. which check failed */
static int ro_child(const char *top, bool walk)
{
	char src[128], sub[128], dst[128], dsub[128], name[128];
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 77;
	snprintf(src, sizeof src, "%s/src", top);
	snprintf(sub, sizeof sub, "%s/src/sub dir", top); /* mountinfo escapes the space */
	snprintf(dst, sizeof dst, "%s/dst", top);
	snprintf(dsub, sizeof dsub, "%s/dst/sub dir", top);
	snprintf(name, sizeof name, "%s/dstx", top); /* a sibling whose name starts alike */
	if (mkdir(src, 0755) < 0 || mkdir(dst, 0755) < 0 || mkdir(name, 0755) < 0 ||
	    mount("t", src, "tmpfs", 0, "size=64k") < 0 || mkdir(sub, 0755) < 0 ||
	    mount("t", sub, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0 ||
	    mount("t", name, "tmpfs", 0, "size=64k") < 0)
		return 77;
	struct husk_err err = { 0 };
	if (husk_bind_into(src, dst, true, false, &err) < 0)
		return 1;
	if (writable(dst) != 1 || writable(dsub) != 1)
		return 2;
	if (husk_mount_ro_tree(dst, walk, &err) < 0) {
		printf("# %s\n", err.msg);
		return 3;
	}
	if (writable(dst) != 0 || writable(dsub) != 0)
		return 4;
	/* the source, and the sibling, are untouched */
	if (writable(src) != 1 || writable(sub) != 1 || writable(name) != 1)
		return 5;
	struct statvfs sv;
	if (statvfs(dsub, &sv) < 0 || !(sv.f_flag & ST_NOSUID) || !(sv.f_flag & ST_NODEV))
		return 6;
	return 0;
}

static enum test_result run_ro(bool walk)
{
	if (geteuid() != 0)
		return TEST_SKIP;
	char top[] = "/tmp/husk-unit-vfs.XXXXXX";
	CHECK(mkdtemp(top) != NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(ro_child(top, walk));
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	CHECK(system(cmd) == 0);
	CHECK(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		return TEST_SKIP;
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	return TEST_PASS;
}

static enum test_result test_setattr(void)
{
	return run_ro(false);
}

static enum test_result test_walk(void)
{
	return run_ro(true);
}

/* ---- share slots ----
 * The caller's namespace stands in for the host's; "sandbox" for the
 * sandbox monitor's (husk_vfs_stage made the share there); "vfsd" for
 * virtiofsd's (a copy made after staging, every mount a slave). */
struct pod {
	char top[64], sb[128], vfs[160];
	bool pool; /* a pool VM's share (ctr/0 too) */
	pid_t sandbox, vfsd;
	int hold; /* write end: closing it ends both */
};

static void wait_eof(int fd)
{
	char c;
	while (read(fd, &c, 1) > 0)
		;
}

static int sandbox_main(struct pod *p, int ready, int hold_r)
{
	char s0[160];
	snprintf(s0, sizeof s0, "%s/s0", p->top);
	struct husk_spec spec = { .rootfs = s0 };
	struct husk_monitor_args a = { .state_dir = p->sb, .spec = &spec, .pool_share = p->pool };
	char dir[PATH_MAX];
	struct husk_err err = { 0 };
	if (husk_vfs_stage(&a, dir, sizeof dir, &err) < 0) {
		printf("# stage: %s\n", err.msg);
		return 1;
	}
	int sync[2];
	if (pipe(sync) < 0)
		return 1;
	pid_t v = fork();
	if (v == 0) {
		close(sync[0]);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
			_exit(1);
		if (write(sync[1], "v", 1) != 1)
			_exit(1);
		wait_eof(hold_r);
		_exit(0);
	}
	close(sync[1]);
	char c;
	if (v < 0 || read(sync[0], &c, 1) != 1)
		return 1;
	/* the vfsd pid, then ready */
	if (write(ready, &v, sizeof v) != sizeof v)
		return 1;
	wait_eof(hold_r);
	int st;
	waitpid(v, &st, 0);
	return 0;
}

static int pod_start(struct pod *p)
{
	char path[192];
	snprintf(p->sb, sizeof p->sb, "%s/sb", p->top);
	snprintf(p->vfs, sizeof p->vfs, "%s/vfs", p->sb);
	snprintf(path, sizeof path, "%s/s0", p->top);
	if (mkdir(p->sb, 0755) < 0 || mkdir(path, 0755) < 0)
		return -1;
	int ready[2], hold[2];
	if (pipe(ready) < 0 || pipe(hold) < 0)
		return -1;
	p->sandbox = fork();
	if (p->sandbox == 0) {
		close(ready[0]);
		close(hold[1]);
		_exit(sandbox_main(p, ready[1], hold[0]));
	}
	close(ready[1]);
	close(hold[0]);
	p->hold = hold[1];
	ssize_t n = read(ready[0], &p->vfsd, sizeof p->vfsd);
	close(ready[0]);
	return p->sandbox > 0 && n == sizeof p->vfsd ? 0 : -1;
}

static void pod_stop(struct pod *p)
{
	int st;
	close(p->hold);
	if (p->sandbox > 0)
		waitpid(p->sandbox, &st, 0);
}

/* Runs fn(arg) in a child that has entered pid's mount namespace; its
 * exit code (0: as expected). */
static int in_ns_of(pid_t pid, int (*fn)(const struct pod *), const struct pod *p)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	pid_t c = fork();
	if (c == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
			_exit(90);
		fflush(stdout);
		_exit(fn(p));
	}
	int st;
	if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st))
		return 99;
	return WEXITSTATUS(st);
}

static bool exists(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

static bool is_mount(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;
	snprintf(parent, sizeof parent, "%s/..", path);
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

/* what virtiofsd would serve: slot 1 whole */
static int slot_full(const struct pod *p)
{
	char ctr[PATH_MAX], link[64];
	snprintf(ctr, sizeof ctr, "%s/ctr/1", p->vfs);
	if (!is_mount(ctr))
		return 1;
	if (!exists(ctr, "rootfs/marker") || !exists(ctr, "rootfs/sub/deep") || !exists(ctr, "binds/0/vol/v"))
		return 2;
	ssize_t n = readlink(strcat(ctr, "/mounts/0"), link, sizeof link - 1);
	if (n < 0 || (link[n] = '\0', strcmp(link, "../binds/0/vol")))
		return 3;
	snprintf(ctr, sizeof ctr, "%s/ctr/1", p->vfs);
	char w[PATH_MAX];
	/* the rootfs as asked (read-write), the bind read-only down to its
	 * submount, the slot's own tmpfs read-only */
	snprintf(w, sizeof w, "%s/rootfs", ctr);
	if (writable(w) != 1)
		return 4;
	snprintf(w, sizeof w, "%s/binds/0/vol", ctr);
	if (writable(w) != 0)
		return 5;
	snprintf(w, sizeof w, "%s/binds/0/vol/sub", ctr);
	if (writable(w) != 0)
		return 6;
	if (writable(ctr) != 0)
		return 7;
	/* the other slots are still empty */
	snprintf(w, sizeof w, "%s/ctr/2", p->vfs);
	if (is_mount(w) || exists(w, "rootfs"))
		return 8;
	return 0;
}

static int slot_empty(const struct pod *p)
{
	char ctr[PATH_MAX];
	snprintf(ctr, sizeof ctr, "%s/ctr/1", p->vfs);
	if (is_mount(ctr) || exists(ctr, "rootfs") || !exists(p->vfs, "ctr/15"))
		return 1;
	return 0;
}

/* slot 2, root.readonly: the rootfs read-only down to its submount,
 * with the mount point the guest needs made in the real rootfs */
static int slot_ro(const struct pod *p)
{
	char w[PATH_MAX];
	snprintf(w, sizeof w, "%s/ctr/2/rootfs", p->vfs);
	if (!exists(w, "marker") || !exists(w, "data"))
		return 1;
	if (writable(w) != 0)
		return 2;
	snprintf(w, sizeof w, "%s/ctr/2/rootfs/sub", p->vfs);
	return writable(w) == 0 ? 0 : 3;
}

static ino_t own_mntns(void)
{
	struct stat st;
	return stat("/proc/self/ns/mnt", &st) == 0 ? st.st_ino : 0;
}

/* mounts right at vfs/ctr/4 (stacked ones count too) */
static int ctr4_mounts(const struct pod *p)
{
	char want[PATH_MAX], *line = NULL;
	size_t cap = 0;
	int n = 0;
	snprintf(want, sizeof want, "%s/ctr/4", p->vfs);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	while (f && getline(&line, &cap, f) > 0) {
		char mnt[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1 && !strcmp(mnt, want))
			n++;
	}
	free(line);
	if (f)
		fclose(f);
	return n;
}

/* four callers race for slot 4: one gets it, the others EBUSY, one tree */
static int slot_race(const struct pod *p, const struct husk_pid_ref *ref, const struct husk_spec *spec)
{
	pid_t kids[4];
	int won = 0, busy = 0, go[2];
	if (pipe(go) < 0)
		return 77;
	for (int i = 0; i < 4; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(go[1]);
			wait_eof(go[0]); /* all at once */
			int r = husk_vfs_inject(ref, p->sb, 4, spec, &(struct husk_err){ 0 });
			_exit(r == 0 ? 0 : r == -EBUSY ? 1 : 2);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 4; i++) {
		int st;
		if (kids[i] < 0 || waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st))
			return 50;
		won += WEXITSTATUS(st) == 0;
		busy += WEXITSTATUS(st) == 1;
	}
	if (won != 1 || busy != 3)
		return 51;
	return in_ns_of(p->vfsd, ctr4_mounts, p) == 1 ? 0 : 52;
}

/* a read-only rootfs; a failure once in the sandbox's namespace leaves
 * the caller back in its own, in its own directory */
static int slot_more(const struct pod *p, const struct husk_pid_ref *ref, struct husk_spec *spec)
{
	struct husk_err err = { 0 };
	char cwd[PATH_MAX], again[PATH_MAX];
	spec->readonly = true;
	if (husk_vfs_inject(ref, p->sb, 2, spec, &err) < 0) {
		printf("# inject ro: %s\n", err.msg);
		return 40;
	}
	int rc = in_ns_of(p->vfsd, slot_ro, p);
	if (rc != 0)
		return 40 + rc;
	if (!exists(p->top, "src/data"))
		return 44;
	ino_t ns = own_mntns();
	if (chdir(p->top) < 0 || !getcwd(cwd, sizeof cwd))
		return 77;
	err = (struct husk_err){ 0 };
	/* p->top has no vfs/ctr/3: found out there */
	if (husk_vfs_inject(ref, p->top, 3, spec, &err) != -ENOENT || !strstr(err.msg, "vfs/ctr/3"))
		return 45;
	if (own_mntns() != ns || !getcwd(again, sizeof again) || strcmp(cwd, again))
		return 46;
	return slot_race(p, ref, spec);
}

/* in the caller's namespace nothing was mounted, and no stage is left */
static int host_clean(const struct pod *p)
{
	return is_mount(p->vfs) || exists(p->sb, "ctr1.stage") ? 1 : 0;
}

/* a cold sandbox's share has no ctr/0: slot 0 is refused both ways */
static int slot0_refused(const struct pod *p, const struct husk_pid_ref *ref, const struct husk_spec *spec)
{
	struct husk_err err = { 0 };
	if (husk_vfs_inject(ref, p->sb, 0, spec, &err) != -EINVAL || !strstr(err.msg, "no pool VM's"))
		return 1;
	if (husk_vfs_eject(ref, p->sb, 0, &(struct husk_err){ 0 }) != -EINVAL)
		return 2;
	return host_clean(p) ? 3 : 0;
}

static int slot0_full(const struct pod *p)
{
	char ctr[PATH_MAX];
	snprintf(ctr, sizeof ctr, "%s/ctr/0", p->vfs);
	if (!is_mount(ctr) || !exists(ctr, "rootfs/marker") || !exists(ctr, "binds/0/vol/v"))
		return 1;
	return exists(p->vfs, "rootfs/marker") ? 2 : 0;
}

static int slot0_empty(const struct pod *p)
{
	char ctr[PATH_MAX];
	snprintf(ctr, sizeof ctr, "%s/ctr/0", p->vfs);
	return is_mount(ctr) || exists(ctr, "rootfs") || !exists(p->vfs, "ctr/15") ? 1 : 0;
}

/* a pool VM's share (ctr/0 made at staging): slot 0 is injected and
 * ejected as any other */
static int pool_slot0(const char *top, const struct husk_spec *spec)
{
	struct pod p = { .pool = true };
	char sub[64];
	snprintf(sub, sizeof sub, "%s/pool", top);
	if (mkdir(sub, 0755) < 0)
		return 77;
	snprintf(p.top, sizeof p.top, "%s", sub);
	if (pod_start(&p) < 0)
		return 1;
	struct husk_pid_ref ref;
	husk_pid_ref_set(&ref, p.sandbox);
	struct husk_err err = { 0 };
	int rc = 0;
	if (in_ns_of(p.vfsd, slot0_empty, &p) != 0)
		rc = 2;
	else if (husk_vfs_inject(&ref, p.sb, 0, spec, &err) < 0)
		printf("# inject 0: %s\n", err.msg), rc = 3;
	else if ((rc = in_ns_of(p.vfsd, slot0_full, &p)) != 0)
		rc += 4;
	else if (husk_vfs_inject(&ref, p.sb, 0, spec, &(struct husk_err){ 0 }) != -EBUSY)
		rc = 7;
	else if (husk_vfs_eject(&ref, p.sb, 0, &err) < 0)
		printf("# eject 0: %s\n", err.msg), rc = 8;
	else if (in_ns_of(p.vfsd, slot0_empty, &p) != 0)
		rc = 9;
	pod_stop(&p);
	return rc;
}

/* the member's sources: a rootfs with a submount, a volume with one */
static int member_sources(const char *top)
{
	char path[PATH_MAX];
	const char *dirs[] = { "src", "src/sub", "vol", "vol/sub" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof path, "%s/%s", top, dirs[i]);
		if (mkdir(path, 0755) < 0 || mount("t", path, "tmpfs", 0, "size=64k") < 0)
			return -1;
	}
	const char *files[] = { "src/marker", "src/sub/deep", "vol/v" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof path, "%s/%s", top, files[i]);
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int slot_child(const char *top)
{
	struct pod p = { 0 };
	char src[128], vol[128], dst[] = "/data";
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    member_sources(top) < 0)
		return 77;
	snprintf(p.top, sizeof p.top, "%s", top);
	if (pod_start(&p) < 0)
		return 10;
	snprintf(src, sizeof src, "%s/src", top);
	snprintf(vol, sizeof vol, "%s/vol", top);
	struct husk_mount m = { .destination = dst,
				.bind = true,
				.bind_dir = true,
				.host_source = vol,
				.flags = MS_BIND | MS_REC | MS_RDONLY };
	struct husk_container_config cfg = { .mounts = &m, .n_mounts = 1 };
	struct husk_spec spec = { .rootfs = src, .container = &cfg };
	struct husk_pid_ref ref;
	husk_pid_ref_set(&ref, p.sandbox);
	struct husk_err err = { 0 };
	int rc = 0;
	if (in_ns_of(p.vfsd, slot_empty, &p) != 0)
		rc = 11;
	else if (husk_vfs_inject(&ref, p.sb, 1, &spec, &err) < 0)
		printf("# inject: %s\n", err.msg), rc = 12;
	else if ((rc = in_ns_of(p.vfsd, slot_full, &p)) != 0)
		rc += 20;
	else if (host_clean(&p) != 0)
		rc = 13;
	else if (husk_vfs_inject(&ref, p.sb, 1, &spec, &(struct husk_err){ 0 }) != -EBUSY)
		rc = 14;
	else if (husk_vfs_eject(&ref, p.sb, 1, &err) < 0)
		printf("# eject: %s\n", err.msg), rc = 15;
	else if ((rc = in_ns_of(p.vfsd, slot_empty, &p)) != 0)
		rc += 30;
	else if (husk_vfs_eject(&ref, p.sb, 1, &(struct husk_err){ 0 }) != -ENOENT)
		rc = 16;
	else if ((rc = slot0_refused(&p, &ref, &spec)) != 0)
		rc += 60;
	else
		rc = slot_more(&p, &ref, &spec);
	pod_stop(&p);
	if (rc == 0 && (rc = pool_slot0(top, &spec)) != 0 && rc != 77)
		rc += 70;
	return rc;
}

static enum test_result test_slot(void)
{
	if (geteuid() != 0)
		return TEST_SKIP;
	char top[] = "/tmp/husk-unit-slot.XXXXXX";
	CHECK(mkdtemp(top) != NULL);
	pid_t pid = fork();
	if (pid == 0)
		_exit(slot_child(top));
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	CHECK(system(cmd) == 0);
	CHECK(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		return TEST_SKIP;
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
	return TEST_PASS;
}

/* refused before anything is touched: slots 0 and HUSK_POD_MAX, a
 * sandbox whose pid ref names another process */
static enum test_result test_slot_refusals(void)
{
	struct husk_spec spec = { .rootfs = (char *)"/" };
	struct husk_pid_ref self;
	husk_pid_ref_set(&self, getpid());
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_vfs_inject(&self, "/nonexistent", HUSK_POD_MAX, &spec, &err), -EINVAL);
	CHECK(strstr(err.msg, "slot 16 is not one of 0..15") != NULL);
	err = (struct husk_err){ 0 };
	CHECK_EQ_INT(husk_vfs_eject(&self, "/nonexistent", HUSK_POD_MAX, &err), -EINVAL);
	struct husk_pid_ref stale = self;
	stale.start_time++;
	err = (struct husk_err){ 0 };
	CHECK_EQ_INT(husk_vfs_eject(&stale, "/nonexistent", 1, &err), -ESRCH);
	CHECK(strstr(err.msg, "is gone") != NULL);
	/* the sources are opened first, in the caller's namespace */
	struct husk_spec missing = { .rootfs = (char *)"/nonexistent-rootfs" };
	err = (struct husk_err){ 0 };
	CHECK_EQ_INT(husk_vfs_inject(&stale, "/nonexistent", 1, &missing, &err), -ENOENT);
	CHECK(strstr(err.msg, "the rootfs: opening the tree at /nonexistent-rootfs") != NULL);
	struct husk_pid_ref none = { 0 };
	err = (struct husk_err){ 0 };
	CHECK_EQ_INT(husk_vfs_eject(&none, "/nonexistent", 1, &err), -ESRCH);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a read-only rbind covers its submounts (mount_setattr)", test_setattr },
		{ "a read-only rbind covers its submounts (mountinfo walk)", test_walk },
		{ "a slot injected into a running share reaches a slave namespace whole; eject empties it; "
		  "slot 0 only in a pool VM's share",
		  test_slot },
		{ "share slots: bad slot numbers and a stale sandbox pid ref are refused", test_slot_refusals },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
