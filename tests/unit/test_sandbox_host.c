/* husk sandbox run --net nat / --image, the parts without a VM: the
 * address slot picked from the host's links and addresses, the /30's
 * addresses, image names, running a host tool (its status, stdout and the
 * reason on stderr), and the spec's network namespace path. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/sandbox_host.h"
#include "host/spec/sandbox_spec.h"
#include "host/spec/spec.h"
#include "proto/msg_container.h"
#include "tests/unit/unit.h"

static enum test_result test_addresses(void)
{
	char s[16];
	husk_sb_net_fmt(husk_sb_net_addr(0), s);
	CHECK_STR(s, "10.233.0.0");
	husk_sb_net_fmt(husk_sb_net_addr(0) + 2, s);
	CHECK_STR(s, "10.233.0.2");
	husk_sb_net_fmt(husk_sb_net_addr(65), s);
	CHECK_STR(s, "10.233.1.4");
	husk_sb_net_fmt(husk_sb_net_addr(HUSK_SB_NET_SLOTS - 1) + 3, s);
	CHECK_STR(s, "10.233.255.255");
	return TEST_PASS;
}

static enum test_result test_pick(void)
{
	/* nothing in use: slot 0 */
	CHECK_EQ_INT(husk_sb_net_pick(NULL, 0, NULL, 0), 0);
	/* links hsb0, hsb1 and hsb3 in use; look-alikes are not slots */
	const char *links[] = { "lo", "eth0", "hsb0", "hsb1", "hsb3", "hsb02", "hsbx", "hsb", "hsb99999999" };
	CHECK_EQ_INT(husk_sb_net_pick(links, ARRAY_SIZE(links), NULL, 0), 2);
	/* an address of the host inside slot 2's /30 (10.233.0.9) takes it;
	 * addresses elsewhere do not count */
	uint32_t addrs[] = { 0x7f000001u, husk_sb_net_addr(2) + 1, 0x0ae80000u + 12, husk_sb_net_addr(4) };
	CHECK_EQ_INT(husk_sb_net_pick(links, ARRAY_SIZE(links), addrs, ARRAY_SIZE(addrs)), 5);
	/* every slot taken by addresses: ENOSPC */
	static uint32_t all[HUSK_SB_NET_SLOTS];
	for (unsigned i = 0; i < HUSK_SB_NET_SLOTS; i++)
		all[i] = husk_sb_net_addr(i) + 3;
	CHECK_EQ_INT(husk_sb_net_pick(NULL, 0, all, HUSK_SB_NET_SLOTS), -ENOSPC);
	/* the last one free */
	all[HUSK_SB_NET_SLOTS - 1] = 0;
	CHECK_EQ_INT(husk_sb_net_pick(NULL, 0, all, HUSK_SB_NET_SLOTS), HUSK_SB_NET_SLOTS - 1);
	return TEST_PASS;
}

static enum test_result test_image_names(void)
{
	CHECK(husk_sb_image_name_valid("busybox"));
	CHECK(husk_sb_image_name_valid("localhost/ci:latest"));
	CHECK(husk_sb_image_name_valid("quay.io/x/y@sha256:0123"));
	CHECK(!husk_sb_image_name_valid(""));
	CHECK(!husk_sb_image_name_valid("-x"));
	CHECK(!husk_sb_image_name_valid("a b"));
	CHECK(!husk_sb_image_name_valid("a\nb"));
	char long_name[300];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	CHECK(!husk_sb_image_name_valid(long_name));
	return TEST_PASS;
}

static enum test_result test_cmd(void)
{
	char out[8];
	struct husk_err err = { 0 };
	char *const ok[] = { "sh", "-c", "echo 0123456789; echo noise >&2", NULL };
	CHECK_EQ_INT(husk_sb_cmd(NULL, ok, out, sizeof out, &err), 0);
	CHECK_STR(out, "0123456"); /* cut at the buffer */
	CHECK(!husk_err_is_set(&err));
	char *const bad[] = { "sh", "-c", "echo first >&2; echo 'the reason' >&2; exit 3", NULL };
	CHECK_EQ_INT(husk_sb_cmd(NULL, bad, NULL, 0, &err), 3);
	CHECK_STR(err.msg, "sh: the reason");
	husk_err_clear(&err);
	char *const missing[] = { "husk-no-such-tool", NULL };
	CHECK_EQ_INT(husk_sb_cmd(NULL, missing, NULL, 0, &err), -ENOENT);
	CHECK_STR(err.msg, "husk-no-such-tool is not installed");
	char path[PATH_MAX];
	CHECK(husk_sb_find_tool("sh", path, sizeof path) && path[0] == '/');
	CHECK(!husk_sb_find_tool("husk-no-such-tool", path, sizeof path) && path[0] == '\0');
	return TEST_PASS;
}

static enum test_result test_spec_netns(void)
{
	char *argv[] = { "true" }, *text = NULL;
	struct husk_sandbox_opts o = {
		.rootfs = "/",
		.netns = "/proc/1234/ns/net",
		.memory_mib = 512,
		.cpus = 1,
		.argv = argv,
		.argc = 1,
	};
	struct husk_spec spec;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), 0);
	int r = husk_spec_parse(&spec, "/", text, strlen(text), &err);
	free(text);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	CHECK(spec.container && spec.container->netns_path);
	CHECK_STR(spec.container->netns_path, "/proc/1234/ns/net");
	husk_spec_free(&spec);
	o.netns = "relative";
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), -EINVAL);
	CHECK_STR(err.msg, "the network namespace must be an absolute path");
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "--net nat: a slot's /30 addresses", test_addresses },
		{ "--net nat: the slot picked from links and addresses", test_pick },
		{ "--image: image names podman may look up", test_image_names },
		{ "a host tool's status, stdout and reason", test_cmd },
		{ "--net nat: the spec's network namespace path", test_spec_netns },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
