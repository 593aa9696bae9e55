/* The container part of CREATE: coding round trip, the guest's
 * rejections, and config.json parsing of mounts, sysctl and devices. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "host/spec/spec.h"
#include "proto/msg_container.h"
#include "tests/unit/container_util.h"
#include "tests/unit/unit.h"

static char bundle[PATH_MAX];

static struct husk_mount sample_mounts[] = {
	{ .destination = "/proc", .type = "proc", .source = "proc", .flags = MS_NOSUID },
	{ .destination = "/dev/shm",
	  .type = "tmpfs",
	  .source = "shm",
	  .flags = MS_NOSUID | MS_NODEV,
	  .data = "mode=1777,size=65536k" },
	{ .destination = "/etc/hosts",
	  .bind = true,
	  .bind_dir = false,
	  .bind_index = 0,
	  .flags = MS_BIND | MS_RDONLY,
	  .propagation = MS_PRIVATE | MS_REC,
	  .rattr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME,
	  .rattr_clr = MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME },
};
static char *sample_masked[] = { "/proc/kcore", "/sys/firmware", NULL };
static char *sample_ro[] = { "/proc/sys", NULL };
static struct husk_sysctl sample_sysctl[] = { { "net.ipv4.ip_forward", "1" }, { "kernel/shmmax", "123" } };
static struct husk_device sample_devices[] = { { "/dev/fuse", 'c', 10, 229, 0666, 0, 0 },
					       { "/dev/myfifo", 'p', 0, 0, 0600, 5, 6 } };

static struct husk_container_config sample(void)
{
	struct husk_container_config c = {
		.mounts = sample_mounts,
		.n_mounts = 3,
		.masked = sample_masked,
		.n_masked = 2,
		.readonly_paths = sample_ro,
		.n_readonly = 1,
		.rootfs_propagation = MS_SLAVE | MS_REC,
		.sysctl = sample_sysctl,
		.n_sysctl = 2,
		.devices = sample_devices,
		.n_devices = 2,
		.domainname = "example.org",
		.namespaces = HUSK_NS_DEFAULT | HUSK_NS_CGROUP,
	};
	return c;
}

static enum test_result test_round_trip(void)
{
	struct husk_container_config in = sample(), out;
	struct husk_err err = { 0 };
	int r = container_round_trip(&in, &out, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(out.n_mounts, 3);
	CHECK_STR(out.mounts[0].destination, "/proc");
	CHECK_STR(out.mounts[0].type, "proc");
	CHECK_EQ_INT(out.mounts[0].flags, MS_NOSUID);
	CHECK(out.mounts[0].data == NULL);
	CHECK_STR(out.mounts[1].data, "mode=1777,size=65536k");
	CHECK(out.mounts[2].bind);
	CHECK(!out.mounts[2].bind_dir);
	CHECK(out.mounts[2].type == NULL);
	CHECK_EQ_INT(out.mounts[2].flags, MS_BIND | MS_RDONLY);
	CHECK_EQ_INT(out.mounts[2].propagation, MS_PRIVATE | MS_REC);
	CHECK_EQ_INT(out.mounts[2].rattr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME);
	CHECK_EQ_INT(out.mounts[2].rattr_clr, MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME);
	CHECK_EQ_INT(out.mounts[0].rattr_set, 0);
	CHECK_EQ_INT(out.mounts[0].rattr_clr, 0);
	CHECK_EQ_INT(out.n_masked, 2);
	CHECK_STR(out.masked[1], "/sys/firmware");
	CHECK_EQ_INT(out.n_readonly, 1);
	CHECK_STR(out.readonly_paths[0], "/proc/sys");
	CHECK_EQ_INT(out.rootfs_propagation, MS_SLAVE | MS_REC);
	CHECK_EQ_INT(out.n_sysctl, 2);
	CHECK_STR(out.sysctl[1].key, "kernel/shmmax");
	CHECK_STR(out.sysctl[1].value, "123");
	CHECK_EQ_INT(out.n_devices, 2);
	CHECK_EQ_INT(out.devices[0].type, 'c');
	CHECK_EQ_INT(out.devices[0].minor, 229);
	CHECK_EQ_INT(out.devices[1].type, 'p');
	CHECK_EQ_INT(out.devices[1].mode, 0600);
	CHECK_EQ_INT(out.devices[1].gid, 6);
	CHECK_STR(out.domainname, "example.org");

	CHECK_EQ_INT(out.namespaces, HUSK_NS_DEFAULT | HUSK_NS_CGROUP);
	struct husk_container_config empty = { .namespaces = HUSK_NS_MOUNT };
	CHECK_EQ_INT(container_round_trip(&empty, &out, &err), 0);
	CHECK_EQ_INT(out.n_mounts, 0);
	CHECK(out.domainname == NULL);
	return TEST_PASS;
}

static enum test_result test_rejections(void)
{
	struct husk_err err = { 0 };
	struct husk_container_config c, out;
	struct husk_mount m;
	static const char *bad_dst[] = { "relative", "/a/../b", "/a/./b", "/a//b", "/a/", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_dst); i++) {
		c = sample();
		m = sample_mounts[0];
		m.destination = (char *)bad_dst[i];
		c.mounts = &m;
		c.n_mounts = 1;
		CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	}
	c = sample();
	m = sample_mounts[0];
	m.flags = MS_MOVE;
	c.mounts = &m;
	c.n_mounts = 1;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	m = sample_mounts[2];
	m.propagation = MS_REMOUNT;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	m = sample_mounts[2];
	m.bind_index = HUSK_MAX_MOUNTS;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -ERANGE);
	m = sample_mounts[0];
	m.type = "../x";
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);

	/* recursive attributes mount_setattr(2) would refuse, or that are no
	 * recursive attribute (an idmapping needs a user namespace fd) */
	static const uint64_t bad_rattr[][2] = {
		{ MOUNT_ATTR_IDMAP, 0 },
		{ 0, 1ull << 40 },
		{ MOUNT_ATTR_RDONLY, MOUNT_ATTR_RDONLY },
		{ 0, MOUNT_ATTR_NOATIME },
		{ MOUNT_ATTR_NOATIME, 0 },
		{ MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_rattr); i++) {
		m = sample_mounts[2];
		m.rattr_set = bad_rattr[i][0];
		m.rattr_clr = bad_rattr[i][1];
		int r = container_round_trip(&c, &out, &err);
		if (r != -EINVAL && r != -ERANGE) {
			printf("# rattr case %zu: r=%d\n", i, r);
			return TEST_FAIL;
		}
	}
	CHECK(husk_mount_attr_problem(MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME) == NULL);
	CHECK(husk_mount_attr_problem(MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NODIRATIME) == NULL);

	/* too many mounts */
	static struct husk_mount many[HUSK_MAX_MOUNTS + 1];
	for (size_t i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = sample_mounts[0];
	c = sample();
	c.mounts = many;
	c.n_mounts = HUSK_MAX_MOUNTS + 1;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -E2BIG);
	c.n_mounts = HUSK_MAX_MOUNTS;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), 0);

	static const char *bad_keys[] = { "../../etc/passwd", "a..b", "/abs", "a/", "a b", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_keys); i++) {
		struct husk_sysctl s = { (char *)bad_keys[i], "1" };
		c = sample();
		c.sysctl = &s;
		c.n_sysctl = 1;
		CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	}
	struct husk_device d = sample_devices[0];
	c = sample();
	c.devices = &d;
	c.n_devices = 1;
	d.type = 'x';
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	d = sample_devices[0];
	d.mode = 010000;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -ERANGE);
	d = sample_devices[0];
	d.path = "/dev/../etc/x";
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	c = sample();
	char *bad_paths[] = { "proc/kcore" };
	c.masked = bad_paths;
	c.n_masked = 1;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	return TEST_PASS;
}

static void make_test_bundle(void)
{
	struct husk_err err = { 0 };
	char p[PATH_MAX + 32];
	snprintf(bundle, sizeof bundle, "/tmp/husk-unit-cc.%d", (int)getpid());
	snprintf(p, sizeof p, "%s/rootfs", bundle);
	mkdir_p(p, 0755, &err);
	snprintf(p, sizeof p, "%s/vol", bundle);
	mkdir_p(p, 0755, &err);
	snprintf(p, sizeof p, "%s/hosts", bundle);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}

/* The extra members of a config.json; with runc's usual namespaces added
 * to its "linux" (or a "linux" of their own). */
static int parse_with(const char *extra, struct husk_spec *spec, struct husk_err *err)
{
	static const char ns[] = "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"}]";
	char text[8192], more[4096];
	const char *lx = strstr(extra, "\"linux\":{");
	if (lx)
		snprintf(more, sizeof more, "%.*s\"linux\":{%s,%s", (int)(lx - extra), extra, ns, lx + 9);
	else
		snprintf(more, sizeof more, "%s%s\"linux\":{%s}", extra, extra[0] ? "," : "", ns);
	snprintf(text, sizeof text,
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\"},%s}",
		 more);
	husk_err_clear(err);
	return husk_spec_parse(spec, bundle, text, strlen(text), err);
}

static enum test_result test_spec_mounts(void)
{
	struct husk_spec spec;
	struct husk_err err = { 0 };
	char want[PATH_MAX + 32];
	int r = parse_with(
		"\"mounts\":["
		"{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/tmp/\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
		"\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=1m\",\"ro\",\"rw\",\"rprivate\"]},"
		"{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"vol\",\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"etc//hosts\",\"source\":\"hosts\",\"options\":[\"bind\",\"nosuid\"]},"
		"{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
		"\"options\":[\"ro\",\"cpu\"]}]",
		&spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	struct husk_container_config *c = spec.container;
	CHECK(c != NULL);
	CHECK_EQ_INT(c->n_mounts, 5);
	CHECK_STR(c->mounts[0].type, "proc");
	CHECK_EQ_INT(c->mounts[0].flags, 0);
	CHECK_STR(c->mounts[1].destination, "/tmp");
	CHECK_EQ_INT(c->mounts[1].flags, MS_NOSUID | MS_STRICTATIME);
	CHECK_EQ_INT(c->mounts[1].propagation, MS_PRIVATE | MS_REC);
	CHECK_STR(c->mounts[1].data, "mode=755,size=1m");
	CHECK(c->mounts[2].bind);
	CHECK(c->mounts[2].bind_dir);
	CHECK_EQ_INT(c->mounts[2].bind_index, 0);
	CHECK_EQ_INT(c->mounts[2].flags, MS_BIND | MS_REC | MS_RDONLY);
	snprintf(want, sizeof want, "%s/vol", bundle);
	CHECK_STR(c->mounts[2].host_source, want);
	CHECK_STR(c->mounts[3].destination, "/etc/hosts");
	CHECK(c->mounts[3].bind);
	CHECK(!c->mounts[3].bind_dir);
	CHECK_EQ_INT(c->mounts[3].bind_index, 1);
	CHECK_EQ_INT(c->mounts[3].flags, MS_BIND | MS_NOSUID);
	CHECK_STR(c->mounts[4].type, "cgroup2");
	CHECK(c->mounts[4].data == NULL);
	husk_spec_free(&spec);
	return TEST_PASS;
}

/* The spec's recursive options: which pair each list resolves to. */
static enum test_result test_spec_recursive_options(void)
{
	static const struct {
		const char *opts;
		bool bind;
		uint64_t set, clr, flags;
	} cases[] = {
		{ "\"rbind\",\"rro\",\"rnosuid\",\"rnoatime\",\"rnodev\",\"rdev\"", true,
		  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV | MOUNT_ATTR__ATIME,
		  MS_BIND | MS_REC | MS_RDONLY },
		/* a later option undoes an earlier one; rro/rrw decide the top */
		{ "\"rbind\",\"rro\",\"rrw\"", true, 0, MOUNT_ATTR_RDONLY, MS_BIND | MS_REC },
		{ "\"rbind\",\"ro\",\"rrw\"", true, 0, MOUNT_ATTR_RDONLY, MS_BIND | MS_REC },
		{ "\"rro\",\"rw\",\"bind\"", true, MOUNT_ATTR_RDONLY, 0, MS_BIND | MS_RDONLY },
		{ "\"rbind\",\"rnoexec\",\"rexec\",\"rnosymfollow\",\"rnodiratime\"", true,
		  MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC, MS_BIND | MS_REC },
		{ "\"rbind\",\"rsuid\",\"rsymfollow\",\"rdiratime\"", true, 0,
		  MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR_NODIRATIME, MS_BIND | MS_REC },
		/* the access time is one mode */
		{ "\"rbind\",\"rnoatime\",\"ratime\"", true, 0, 0, MS_BIND | MS_REC },
		{ "\"rbind\",\"rrelatime\"", true, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, MS_BIND | MS_REC },
		{ "\"rbind\",\"rstrictatime\",\"rnorelatime\"", true, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
		  MS_BIND | MS_REC },
		{ "\"rbind\",\"rnoatime\",\"rstrictatime\",\"rnostrictatime\"", true, 0, 0, MS_BIND | MS_REC },
		{ "\"rbind\",\"ratime\",\"rnorelatime\",\"rnostrictatime\"", true, 0, 0, MS_BIND | MS_REC },
		/* not a bind: the mount's own flags stay the plain options' */
		{ "\"rro\",\"nosuid\"", false, MOUNT_ATTR_RDONLY, 0, MS_NOSUID },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char extra[512];
		struct husk_spec spec;
		struct husk_err err = { 0 };
		snprintf(extra, sizeof extra,
			 "\"mounts\":[{\"destination\":\"/d\",\"type\":\"%s\",\"source\":\"vol\",\"options\":[%s]}]",
			 cases[i].bind ? "none" : "tmpfs", cases[i].opts);
		int r = parse_with(extra, &spec, &err);
		const struct husk_mount *m = r == 0 ? &spec.container->mounts[0] : NULL;
		bool ok = m && m->bind == cases[i].bind && m->rattr_set == cases[i].set &&
			  m->rattr_clr == cases[i].clr && m->flags == cases[i].flags && m->data == NULL &&
			  husk_mount_attr_problem(m->rattr_set, m->rattr_clr) == NULL;
		if (!ok)
			printf("# case %zu: r=%d %s set=%#llx clr=%#llx flags=%#llx data=%s\n", i, r, err.msg,
			       m ? (unsigned long long)m->rattr_set : 0, m ? (unsigned long long)m->rattr_clr : 0,
			       m ? (unsigned long long)m->flags : 0, m && m->data ? m->data : "-");
		husk_spec_free(&spec);
		if (!ok)
			return TEST_FAIL;
	}
	return TEST_PASS;
}

static enum test_result test_spec_shm_from_host_tmpfs(void)
{
	struct statfs sfs;
	if (statfs("/dev/shm", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
		return TEST_SKIP;
	struct husk_spec spec;
	struct husk_err err = { 0 };
	char want[64];
	int r = parse_with("\"mounts\":[{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/dev/shm\","
			   "\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\"]}]",
			   &spec, &err);
	CHECK_EQ_INT(r, 0);
	struct husk_mount *m = &spec.container->mounts[0];
	CHECK(!m->bind);
	CHECK_STR(m->type, "tmpfs");
	CHECK_EQ_INT(m->flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
	snprintf(want, sizeof want, "mode=1777,size=%llu",
		 (unsigned long long)sfs.f_blocks * (unsigned long long)sfs.f_bsize);
	CHECK_STR(m->data, want);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_spec_linux(void)
{
	struct husk_spec spec;
	struct husk_err err = { 0 };
	int r = parse_with("\"domainname\":\"dom\",\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
			   "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\",\"/proc/bus\"],"
			   "\"rootfsPropagation\":\"rslave\","
			   "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"u\",\"major\":10,\"minor\":229},"
			   "{\"path\":\"/dev/p\",\"type\":\"p\",\"fileMode\":384,\"uid\":1,\"gid\":2},"
			   /* Podman --privileged: the host's mode with Go's type bits */
			   "{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3,\"fileMode\":69206454}]}",
			   &spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	struct husk_container_config *c = spec.container;
	CHECK_STR(c->domainname, "dom");
	CHECK_EQ_INT(c->n_sysctl, 1);
	CHECK_STR(c->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_EQ_INT(c->n_masked, 1);
	CHECK_EQ_INT(c->n_readonly, 2);
	CHECK_EQ_INT(c->rootfs_propagation, MS_SLAVE | MS_REC);
	CHECK_EQ_INT(c->n_devices, 3);
	CHECK_EQ_INT(c->devices[2].mode, 0666);
	CHECK_EQ_INT(c->devices[0].type, 'c');
	CHECK_EQ_INT(c->devices[0].mode, 0666);
	CHECK_EQ_INT(c->devices[1].mode, 0600);
	CHECK_EQ_INT(c->devices[1].gid, 2);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_spec_bad(void)
{
	static const struct {
		const char *extra, *needle;
	} cases[] = {
		{ "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/nonexistent/husk\"}]",
		  "bind source /nonexistent/husk" },
		{ "\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]", "needs a source" },
		{ "\"mounts\":[{\"type\":\"tmpfs\"}]", "mounts[0].destination" },
		{ "\"mounts\":[{\"destination\":\"/x\"}]", "not a file system type" },
		{ "\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":\"ro\"}]", "options must be" },
		{ "\"mounts\":{}", "\"mounts\" must be an array" },
		{ "\"linux\":{\"sysctl\":{\"../x\":\"1\"}}", "not a sysctl name" },
		{ "\"linux\":{\"sysctl\":{\"kernel.x\":1}}", "must be a string" },
		{ "\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\"}]}", "needs major and minor" },
		{ "\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"z\",\"major\":1,\"minor\":1}]}",
		  "not c, u, b or p" },
		{ "\"linux\":{\"devices\":[{\"path\":\"dev/x\",\"type\":\"c\",\"major\":1,\"minor\":1}]}", "absolute" },
		{ "\"linux\":{\"maskedPaths\":[\"proc/kcore\"]}", "maskedPaths[0] must be an absolute path" },
		{ "\"linux\":{\"rootfsPropagation\":\"sideways\"}", "not a propagation" },
		{ "\"domainname\":7", "domainname" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct husk_spec spec;
		struct husk_err err = { 0 };
		int r = parse_with(cases[i].extra, &spec, &err);
		husk_spec_free(&spec);
		if (r >= 0 || !strstr(err.msg, cases[i].needle) || !strstr(err.msg, "config.json") ||
		    strchr(err.msg, '\n')) {
			printf("# case %zu: r=%d msg=\"%s\"\n", i, r, err.msg);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "container config round trip", test_round_trip },
		{ "container config rejections", test_rejections },
		{ "spec mounts and options", test_spec_mounts },
		{ "spec recursive mount options (rro, rnosuid, ratime, ...)", test_spec_recursive_options },
		{ "a host tmpfs bound on /dev/shm becomes a tmpfs of its size", test_spec_shm_from_host_tmpfs },
		{ "spec sysctl, paths, propagation, devices, domainname", test_spec_linux },
		{ "bad spec entries are one-line config.json errors", test_spec_bad },
	};
	make_test_bundle();
	int r = unit_run(tests, ARRAY_SIZE(tests));
	struct husk_err err = { 0 };
	remove_tree(bundle, &err);
	return r;
}
