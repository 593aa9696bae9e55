/* Which containers may take a pool VM (host/container/container_pool.c). */
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/msg_container.h"
#include "proto/msg_resources.h"
#include "host/container/container_pool.h"
#include "tests/unit/unit.h"

/* makes DIR/pool.sock (a plain file: create only looks whether it is there) */
static void touch_sock(const char *dir)
{
	char p[256];
	snprintf(p, sizeof p, "%s/pool.sock", dir);
	FILE *f = fopen(p, "w");
	if (f)
		fclose(f);
}

static enum test_result test_pool_root(void)
{
	char own[] = "/tmp/husk-pool-root-own.XXXXXX", dflt[] = "/tmp/husk-pool-root-dflt.XXXXXX";
	CHECK(mkdtemp(own) && mkdtemp(dflt));
	CHECK(husk_pool_root_of(own, dflt) == NULL);
	CHECK(husk_pool_root_of(dflt, dflt) == NULL);
	touch_sock(dflt);
	/* an engine's own root without a pool: the default root's pool */
	CHECK(husk_pool_root_of(own, dflt) == dflt);
	CHECK(husk_pool_root_of(dflt, dflt) == dflt);
	touch_sock(own);
	/* its own pool first */
	CHECK(husk_pool_root_of(own, dflt) == own);
	CHECK(husk_pool_root_of("/nonexistent/husk-root", "/nonexistent/husk-default") == NULL);
	char p[300];
	snprintf(p, sizeof p, "%s/pool.sock", own), unlink(p), rmdir(own);
	snprintf(p, sizeof p, "%s/pool.sock", dflt), unlink(p), rmdir(dflt);
	return TEST_PASS;
}

static int load_cfg(struct husk_config *cfg)
{
	struct husk_err err = { 0 };
	unsetenv("HUSK_MEMORY_MIB");
	unsetenv("HUSK_VCPUS");
	unsetenv("HUSK_POOL");
	setenv("HUSK_CONFIG", "/dev/null", 1);
	int r = husk_config_load(cfg, &err);
	unsetenv("HUSK_CONFIG");
	return r;
}

static enum test_result test_eligible(void)
{
	struct husk_config cfg;
	CHECK_EQ_INT(load_cfg(&cfg), 0);
	struct husk_spec spec = { .json = json_pack("{}") };
	struct husk_pod_target pod = { 0 };
	struct husk_pool_shape shape, big;
	char why[256] = "";
	/* a plain container: the config's shape */
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 0);
	CHECK_EQ_INT(shape.memory_mib, husk_config_get_long(&cfg, CFG_MEMORY_MIB));
	CHECK(shape.vcpus >= 1);
	CHECK(!strcmp(shape.accel, "tcg") || !strcmp(shape.accel, "kvm"));
	/* a memory limit above the shape: eligible, but another shape */
	struct husk_resources res = { .has_memory_limit = true, .memory_limit = 4096ll << 20 };
	spec.resources = &res;
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &big, why, sizeof why), 0);
	CHECK(!husk_pool_shape_equal(&shape, &big));
	spec.resources = NULL;
	/* refusals, each with its reason */
	snprintf(cfg.e[CFG_POOL_USE].value, sizeof cfg.e[CFG_POOL_USE].value, "off");
	snprintf(cfg.e[CFG_POOL_USE].source, sizeof cfg.e[CFG_POOL_USE].source, "env HUSK_POOL");
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 1);
	CHECK(strstr(why, "pool use is off (env HUSK_POOL)") != NULL);
	snprintf(cfg.e[CFG_POOL_USE].value, sizeof cfg.e[CFG_POOL_USE].value, "auto");
	pod.pod_sandbox = true;
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 1);
	CHECK(strstr(why, "pod") != NULL);
	pod.pod_sandbox = false;
	json_object_set_new(spec.json, "annotations", json_pack("{s:s}", "io.husk.net.spare_nics", "1"));
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 1);
	CHECK(strstr(why, "spare_nics") != NULL);
	json_object_set_new(spec.json, "annotations", json_pack("{s:s}", "io.husk.vm.memory_mib", "lots"));
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 1);
	CHECK(strstr(why, "memory_mib") != NULL);
	json_decref(spec.json);
	return TEST_PASS;
}

/* a tap named name in the caller's netns, held open (-1 on failure) */
static int tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* In a fresh netns: 0 when lo only and HUSK_POOL_NICS interfaces fit and
 * one more does not; the failing step otherwise, 77 to skip. */
static int netns_child(const struct husk_config *cfg, struct husk_spec *spec, struct husk_container_config *cc)
{
	struct husk_pod_target pod = { 0 };
	struct husk_pool_shape shape;
	char why[256] = "", name[16];
	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	cc->netns_path = (char *)"/proc/self/ns/net";
	if (husk_pool_eligible(cfg, spec, &pod, &shape, why, sizeof why) != 0)
		return 1;
	for (unsigned i = 0; i < HUSK_POOL_NICS; i++) {
		snprintf(name, sizeof name, "veth%u", i);
		if (tap(name) < 0)
			return 77;
	}
	if (husk_pool_eligible(cfg, spec, &pod, &shape, why, sizeof why) != 0) {
		printf("# %s\n", why);
		return 2;
	}
	if (tap("one-more") < 0)
		return 77;
	if (husk_pool_eligible(cfg, spec, &pod, &shape, why, sizeof why) != 1 || !strstr(why, "interfaces"))
		return 3;
	return 0;
}

/* a network namespace path: one with at most HUSK_POOL_NICS interfaces fits */
static enum test_result test_netns(void)
{
	struct husk_config cfg;
	CHECK_EQ_INT(load_cfg(&cfg), 0);
	struct husk_container_config cc = { 0 };
	struct husk_spec spec = { .json = json_pack("{}"), .container = &cc };
	struct husk_pod_target pod = { 0 };
	struct husk_pool_shape shape;
	char why[256] = "";
	cc.netns_path = (char *)"/nonexistent/ns/net";
	CHECK_EQ_INT(husk_pool_eligible(&cfg, &spec, &pod, &shape, why, sizeof why), 1);
	CHECK(strstr(why, "/nonexistent/ns/net") != NULL);
	if (geteuid() != 0) {
		json_decref(spec.json);
		return TEST_SKIP;
	}
	pid_t child = fork();
	if (child == 0)
		_exit(netns_child(&cfg, &spec, &cc));
	int status = 0;
	waitpid(child, &status, 0);
	json_decref(spec.json);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		return TEST_SKIP;
	CHECK_EQ_INT(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "the pool asked: the root's own, else the default root's", test_pool_root },
		{ "eligibility: the config's shape; a bigger limit another shape; off, pods, spare NICs, bad size refused",
		  test_eligible },
		{ "eligibility: a network namespace with up to HUSK_POOL_NICS interfaces fits; more or a missing one not",
		  test_netns },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
