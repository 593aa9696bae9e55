/* `probe report [SYSCTL-KEY...]`: what a container looks like from inside,
 * as one JSON object, so the conformance runner (tests/conformance) can
 * compare the same config.json under runc and under husk. Facts only:
 * no normalisation here; the runner decides what may differ and why. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/probe/probe.h"

/* --- a tiny JSON writer ------------------------------------------------ */

static int need_comma[16]; /* per nesting level: a member was written */
static int depth, after_key;

static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* before any value: a comma unless it follows a key or opens a container */
static void value_prefix(void)
{
	if (after_key)
		after_key = 0;
	else if (need_comma[depth])
		putchar(',');
	need_comma[depth] = 1;
}

static void key(const char *k)
{
	value_prefix();
	json_str(k);
	putchar(':');
	after_key = 1;
}

static void open_(char c)
{
	value_prefix();
	putchar(c);
	need_comma[++depth] = 0;
}

static void close_(char c)
{
	depth--;
	putchar(c);
}

static void v_str(const char *s)
{
	value_prefix();
	if (s)
		json_str(s);
	else
		fputs("null", stdout);
}

static void v_int(long long v)
{
	value_prefix();
	printf("%lld", v);
}

static void v_bool(int b)
{
	value_prefix();
	fputs(b ? "true" : "false", stdout);
}

static void kv_str(const char *k, const char *v)
{
	key(k);
	v_str(v);
}

static void kv_int(const char *k, long long v)
{
	key(k);
	v_int(v);
}

/* --- helpers ------------------------------------------------------------- */

/* the first line of a small file, without its newline; NULL if unreadable */
static char *read_line(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *r = fgets(buf, (int)cap, f);
	fclose(f);
	if (!r)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static const char *errno_name(int e)
{
	switch (e) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOENT:
		return "ENOENT";
	case ENXIO:
		return "ENXIO";
	case ENODEV:
		return "ENODEV";
	case EROFS:
		return "EROFS";
	case EINVAL:
		return "EINVAL";
	case EBUSY:
		return "EBUSY";
	case EIO:
		return "EIO";
	default:
		return "other";
	}
}

/* --- identity, process state ------------------------------------------- */

static void report_identity(void)
{
	struct utsname u;
	char buf[4096];
	if (uname(&u) == 0) {
		kv_str("kernel", u.release);
		kv_str("hostname", u.nodename);
		kv_str("domainname", u.domainname);
	}
	key("pid1");
	v_bool(getpid() == 1);
	kv_int("uid", getuid());
	kv_int("gid", getgid());
	kv_int("euid", geteuid());
	kv_int("egid", getegid());
	gid_t groups[256];
	int n = getgroups(256, groups);
	key("groups");
	open_('[');
	for (int i = 0; i < n; i++)
		v_int(groups[i]);
	close_(']');
	mode_t m = umask(0);
	umask(m);
	snprintf(buf, sizeof buf, "%04o", (unsigned)m);
	kv_str("umask", buf);
	kv_str("cwd", getcwd(buf, sizeof buf) ? buf : NULL);
	extern char **environ;
	key("env");
	open_('[');
	for (char **e = environ; e && *e; e++)
		v_str(*e);
	close_(']');
	key("oom_score_adj");
	v_str(read_line("/proc/self/oom_score_adj", buf, sizeof buf));
}

/* the five capability sets, no_new_privs and seccomp from /proc/self/status */
static void report_status(void)
{
	static const struct {
		const char *field, *name;
	} keys[] = { { "CapInh:", "cap_inheritable" }, { "CapPrm:", "cap_permitted" },
		     { "CapEff:", "cap_effective" },   { "CapBnd:", "cap_bounding" },
		     { "CapAmb:", "cap_ambient" },     { "NoNewPrivs:", "no_new_privs" },
		     { "Seccomp:", "seccomp" },        { "Seccomp_filters:", "seccomp_filters" } };
	char line[512];
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			size_t kl = strlen(keys[i].field);
			if (strncmp(line, keys[i].field, kl))
				continue;
			char *v = line + kl;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			kv_str(keys[i].name, v);
		}
	fclose(f);
}

static void report_rlimits(void)
{
	static const char *const names[] = { "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
					     "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
					     "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
					     "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME" };
	key("rlimits");
	open_('{');
	for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
		struct rlimit r;
		if (getrlimit(i, &r) < 0)
			continue;
		key(names[i]);
		open_('[');
		v_int(r.rlim_cur == RLIM_INFINITY ? -1LL : (long long)r.rlim_cur);
		v_int(r.rlim_max == RLIM_INFINITY ? -1LL : (long long)r.rlim_max);
		close_(']');
	}
	close_('}');
}

/* The machine as the container sees it: these differ between a host and
 * a VM sized for the container (the runner's allow-list says so). */
static void report_machine(void)
{
	cpu_set_t set;
	char line[256];
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		kv_int("cpus_allowed", CPU_COUNT(&set));
	kv_int("cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		long long kb;
		while (fgets(line, sizeof line, f))
			if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
				kv_int("mem_total_kb", kb);
		fclose(f);
	}
}

/* --- namespaces ---------------------------------------------------------- */

/* The initial namespaces of a kernel have fixed inode numbers (the
 * PROC_*_INIT_INO constants, stable since Linux 3.8/4.6/5.6). Under runc
 * the initial namespaces are the host's, under husk the guest's: "initial"
 * means the container shares the namespace with its runtime's machine,
 * "own" that it was given one, which is comparable between the two. The
 * mount and network namespaces have no fixed number in older kernels and
 * are not reported. */
static void report_namespaces(void)
{
	static const struct {
		const char *name;
		unsigned long init_ino;
	} ns[] = { { "ipc", 0xEFFFFFFFUL }, { "uts", 0xEFFFFFFEUL },    { "user", 0xEFFFFFFDUL },
		   { "pid", 0xEFFFFFFCUL }, { "cgroup", 0xEFFFFFFBUL }, { "time", 0xEFFFFFFAUL } };
	char path[64];
	key("namespaces");
	open_('{');
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		struct stat st;
		snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i].name);
		if (stat(path, &st) < 0)
			continue;
		kv_str(ns[i].name, st.st_ino == ns[i].init_ino ? "initial" : "own");
	}
	close_('}');
	static const char *const maps[] = { "uid_map", "gid_map" };
	for (size_t i = 0; i < 2; i++) {
		char line[256];
		snprintf(path, sizeof path, "/proc/self/%s", maps[i]);
		FILE *f = fopen(path, "re");
		key(maps[i]);
		open_('[');
		while (f && fgets(line, sizeof line, f)) {
			unsigned long a, b, c;
			if (sscanf(line, "%lu %lu %lu", &a, &b, &c) == 3) {
				snprintf(line, sizeof line, "%lu %lu %lu", a, b, c);
				v_str(line);
			}
		}
		if (f)
			fclose(f);
		close_(']');
	}
	/* /proc/self/cgroup: with a cgroup namespace every path is "/" */
	FILE *f = fopen("/proc/self/cgroup", "re");
	int all_root = f != NULL;
	char line[1024];
	while (f && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		char *colon = strrchr(line, ':');
		if (!colon || strcmp(colon + 1, "/"))
			all_root = 0;
	}
	if (f)
		fclose(f);
	key("cgroup_paths_are_root");
	v_bool(all_root);
}

/* --- mounts -------------------------------------------------------------- */

static void report_mounts(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	key("mounts");
	open_('[');
	while (f && fgets(line, sizeof line, f)) {
		/* id parent maj:min root target opts [optional...] - fstype source super */
		char *fields[16];
		int n = 0;
		line[strcspn(line, "\n")] = '\0';
		for (char *save, *t = strtok_r(line, " ", &save); t && n < 16; t = strtok_r(NULL, " ", &save))
			fields[n++] = t;
		int dash = -1;
		for (int i = 6; i < n; i++)
			if (!strcmp(fields[i], "-")) {
				dash = i;
				break;
			}
		if (n < 6 || dash < 0 || dash + 3 >= n + 1)
			continue;
		/* the optional fields say how the mount propagates */
		char prop[64] = "";
		for (int i = 6; i < dash; i++) {
			const char *kind = !strncmp(fields[i], "shared:", 7)   ? "shared"
					   : !strncmp(fields[i], "master:", 7) ? "slave"
					   : !strcmp(fields[i], "unbindable")  ? "unbindable"
									       : NULL;
			if (kind)
				snprintf(prop + strlen(prop), sizeof prop - strlen(prop), "%s%s", prop[0] ? "," : "",
					 kind);
		}
		open_('{');
		kv_str("target", fields[4]);
		kv_str("propagation", prop[0] ? prop : "private");
		kv_str("opts", fields[5]);
		kv_str("fstype", dash + 1 < n ? fields[dash + 1] : NULL);
		kv_str("source", dash + 2 < n ? fields[dash + 2] : NULL);
		kv_str("super", dash + 3 < n ? fields[dash + 3] : NULL);
		close_('}');
	}
	if (f)
		fclose(f);
	close_(']');
	struct statfs sf;
	key("shm");
	if (statfs("/dev/shm", &sf) == 0) {
		open_('{');
		kv_int("bytes", (long long)sf.f_blocks * (long long)sf.f_bsize);
		char t[32];
		snprintf(t, sizeof t, "0x%lx", (unsigned long)sf.f_type);
		kv_str("fs_magic", t);
		close_('}');
	} else {
		v_str(NULL);
	}
}

/* --- /dev: nodes, and whether the device cgroup lets them open ----------- */

static void report_dev_dir(const char *dir, dev_t fs, int level)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[512], desc[128];
		struct stat st;
		if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, name);
		free(names[i]);
		if (lstat(path, &st) < 0)
			continue;
		open_('{');
		kv_str("path", path);
		if (S_ISLNK(st.st_mode)) {
			char target[256];
			ssize_t t = readlink(path, target, sizeof target - 1);
			target[t < 0 ? 0 : t] = '\0';
			kv_str("link", target);
		} else {
			char type = S_ISCHR(st.st_mode)    ? 'c'
				    : S_ISBLK(st.st_mode)  ? 'b'
				    : S_ISDIR(st.st_mode)  ? 'd'
				    : S_ISFIFO(st.st_mode) ? 'p'
				    : S_ISSOCK(st.st_mode) ? 's'
							   : 'f';
			snprintf(desc, sizeof desc, "%c %04o %u:%u", type, (unsigned)(st.st_mode & 07777),
				 (unsigned)st.st_uid, (unsigned)st.st_gid);
			kv_str("node", desc);
			if (type == 'c' || type == 'b') {
				snprintf(desc, sizeof desc, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
				kv_str("rdev", desc);
				int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
				kv_str("open", fd >= 0 ? "ok" : errno_name(errno));
				if (fd >= 0)
					close(fd);
			}
		}
		close_('}');
		/* directories of /dev's own file system (not pts, shm, mqueue) */
		if (S_ISDIR(st.st_mode) && st.st_dev == fs && level < 3)
			report_dev_dir(path, fs, level + 1);
	}
	if (n >= 0)
		free(names);
}

static void report_dev(void)
{
	struct stat st;
	key("dev");
	open_('[');
	if (stat("/dev", &st) == 0)
		report_dev_dir("/dev", st.st_dev, 0);
	close_(']');
}

/* --- sysctl, cgroup -------------------------------------------------------- */

static void report_sysctl(int argc, char **argv)
{
	key("sysctl");
	open_('{');
	for (int i = 0; i < argc; i++) {
		char path[512], buf[1024];
		snprintf(path, sizeof path, "/proc/sys/%s", argv[i]);
		for (char *p = path + 10; *p; p++)
			if (*p == '.')
				*p = '/';
		key(argv[i]);
		/* tabs (several-valued keys) as spaces, as sysctl(8) prints them */
		char *v = read_line(path, buf, sizeof buf);
		for (char *p = v; p && *p; p++)
			if (*p == '\t')
				*p = ' ';
		v_str(v);
	}
	close_('}');
}

/* The limits of the container's own cgroup, as mounted at /sys/fs/cgroup
 * (a cgroup namespace makes it the root): cgroup v2 files at the top, or
 * the v1 controllers' files in their directories. Raw values; the runner
 * converts v1 to v2 the way runc does on a v2 host. */
static void report_cgroup(void)
{
	static const char *const v2[] = { "memory.max",
					  "memory.low",
					  "memory.swap.max",
					  "cpu.max",
					  "cpu.weight",
					  "cpuset.cpus.effective",
					  "cpuset.mems.effective",
					  "pids.max" };
	static const char *const v1[] = { "memory/memory.limit_in_bytes",
					  "memory/memory.soft_limit_in_bytes",
					  "memory/memory.memsw.limit_in_bytes",
					  "cpu/cpu.cfs_quota_us",
					  "cpu/cpu.cfs_period_us",
					  "cpu/cpu.shares",
					  "cpuset/cpuset.cpus",
					  "cpuset/cpuset.mems",
					  "pids/pids.max" };
	char buf[256], path[256];
	int version = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? 2
		      : access("/sys/fs/cgroup/memory", F_OK) == 0           ? 1
									     : 0;
	key("cgroup");
	open_('{');
	kv_int("version", version);
	const char *const *files = version == 2 ? v2 : v1;
	size_t n = version == 2 ? sizeof v2 / sizeof v2[0] : version == 1 ? sizeof v1 / sizeof v1[0] : 0;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "/sys/fs/cgroup/%s", files[i]);
		kv_str(files[i], read_line(path, buf, sizeof buf));
	}
	close_('}');
}

int probe_report(int argc, char **argv)
{
	depth = 0;
	need_comma[0] = 0;
	after_key = 0;
	open_('{');
	report_identity();
	report_status();
	report_rlimits();
	report_machine();
	report_namespaces();
	report_mounts();
	report_dev();
	report_sysctl(argc, argv);
	report_cgroup();
	close_('}');
	putchar('\n');
	return fflush(stdout) == 0 ? 0 : 1;
}
