/* husk sandbox run --net nat / --image, the parts without a VM: the
 * address slot picked from the host's links and addresses, the /30's
 * addresses, image names, running a host tool (its status, stdout and the
 * reason on stderr), the spec's network namespace path, and the job's
 * resolv.conf (--dns checked, the host's nameservers filtered, the
 * default, its bind mount in the spec). */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static enum test_result test_dns_valid(void)
{
	CHECK(husk_sb_dns_valid("192.0.2.1"));
	CHECK(husk_sb_dns_valid("2001:db8::53"));
	CHECK(husk_sb_dns_valid("::ffff:10.0.0.1"));
	CHECK(husk_sb_dns_valid("::1"));
	CHECK(!husk_sb_dns_valid(""));
	CHECK(!husk_sb_dns_valid(NULL));
	CHECK(!husk_sb_dns_valid("1.2.3"));
	CHECK(!husk_sb_dns_valid("1.2.3.256"));
	CHECK(!husk_sb_dns_valid("01.2.3.4x"));
	CHECK(!husk_sb_dns_valid(" 1.2.3.4"));
	CHECK(!husk_sb_dns_valid("1.2.3.4/32"));
	CHECK(!husk_sb_dns_valid("fe80::1%eth0"));
	CHECK(!husk_sb_dns_valid("dns.example"));
	CHECK(!husk_sb_dns_valid("1111:2222:3333:4444:5555:6666:7777:8888:9999"));
	/* usable from the job: IPv4, not loopback, not 0.0.0.0 */
	CHECK(husk_sb_dns_usable("10.255.255.53"));
	CHECK(husk_sb_dns_usable("128.0.0.1"));
	CHECK(husk_sb_dns_usable("126.255.255.255"));
	CHECK(!husk_sb_dns_usable("127.0.0.53"));
	CHECK(!husk_sb_dns_usable("127.255.255.254"));
	CHECK(!husk_sb_dns_usable("0.0.0.0"));
	CHECK(!husk_sb_dns_usable("::1"));
	CHECK(!husk_sb_dns_usable("2001:db8::53"));
	CHECK(!husk_sb_dns_usable("x"));
	return TEST_PASS;
}

#define HEAD "# made by husk sandbox --net nat (docs/sandbox.md)\n"

static enum test_result test_resolv_text(void)
{
	char out[HUSK_SB_RESOLV_MAX];
	const char *host = "# generated by something\n"
			   "nameserver 127.0.0.53\n"
			   "nameserver ::1\n"
			   "nameserver\t10.0.0.2 # a comment\n"
			   "nameserver fe80::1%eth0\n"
			   ";nameserver 10.9.9.9\n"
			   "nameservers 10.9.9.8\n"
			   "search a.test b.test\n"
			   "options ndots:2\n"
			   "nameserver 10.0.0.3\n"
			   "nameserver 10.0.0.4\n"
			   "nameserver 10.0.0.5\n"
			   "sortlist 10.0.0.0\n"
			   "domain c.test";
	/* the host's: loopback, IPv6 and the fourth left out; search, domain
	 * and options kept */
	CHECK_EQ_INT(husk_sb_resolv_text(host, NULL, 0, out, sizeof out), 3);
	CHECK_STR(out, HEAD "nameserver 10.0.0.2\nnameserver 10.0.0.3\nnameserver 10.0.0.4\n"
			    "search a.test b.test\noptions ndots:2\ndomain c.test\n");
	/* --dns: those, the host's search and options still */
	static const char dns[][HUSK_SB_DNS_LEN] = { "192.0.2.1", "2001:db8::1" };
	CHECK_EQ_INT(husk_sb_resolv_text(host, dns, 2, out, sizeof out), 0);
	CHECK_STR(out, HEAD "nameserver 192.0.2.1\nnameserver 2001:db8::1\n"
			    "search a.test b.test\noptions ndots:2\ndomain c.test\n");
	/* none usable, or no host file: the default */
	CHECK_EQ_INT(husk_sb_resolv_text("nameserver 127.0.0.1\nnameserver ::1\n", NULL, 0, out, sizeof out), 0);
	CHECK_STR(out, HEAD "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	CHECK_EQ_INT(husk_sb_resolv_text(NULL, NULL, 0, out, sizeof out), 0);
	CHECK_STR(out, HEAD "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	/* a long search line and control characters are not copied */
	char big[600];
	snprintf(big, sizeof big, "search %0500d\noptions a\001b\nnameserver 10.1.1.1\n", 0);
	CHECK_EQ_INT(husk_sb_resolv_text(big, NULL, 0, out, sizeof out), 1);
	CHECK_STR(out, HEAD "nameserver 10.1.1.1\n");
	/* bad --dns entries, too many, too small a buffer */
	static const char bad[][HUSK_SB_DNS_LEN] = { "192.0.2.1", "300.1.1.1" };
	CHECK_EQ_INT(husk_sb_resolv_text(host, bad, 2, out, sizeof out), -EINVAL);
	static const char four[][HUSK_SB_DNS_LEN] = { "1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4" };
	CHECK_EQ_INT(husk_sb_resolv_text(NULL, four, 4, out, sizeof out), -EINVAL);
	CHECK_EQ_INT(husk_sb_resolv_text(host, NULL, 0, out, 60), -ENOSPC);
	CHECK_EQ_INT(husk_sb_resolv_text(host, NULL, 0, out, 0), -ENOSPC);
	return TEST_PASS;
}

/* the source and options of the spec's /etc/resolv.conf mount, NULL if none */
static json_t *resolv_mount(const char *text)
{
	json_t *spec = json_loads(text, 0, NULL), *m;
	size_t i;
	json_array_foreach(json_object_get(spec, "mounts"), i, m)
	{
		if (!strcmp(json_string_value(json_object_get(m, "destination")) ?: "", "/etc/resolv.conf")) {
			json_incref(m);
			json_decref(spec);
			return m;
		}
	}
	json_decref(spec);
	return NULL;
}

static enum test_result test_spec_resolv(void)
{
	char *argv[] = { "true" }, *text = NULL;
	char dir[] = "/tmp/husk-test-sb-resolv.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct husk_sandbox_opts o = {
		.rootfs = dir,
		.netns = "/proc/1234/ns/net",
		.resolv_conf = "/run/husk-sandbox/net-0-1/resolv.conf",
		.memory_mib = 512,
		.cpus = 1,
		.argv = argv,
		.argc = 1,
	};
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), 0);
	json_t *m = resolv_mount(text);
	free(text);
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "source")), "/run/husk-sandbox/net-0-1/resolv.conf");
	CHECK_STR(json_string_value(json_object_get(m, "type")), "bind");
	CHECK_EQ_INT(json_array_size(json_object_get(m, "options")), 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(m, "options"), 1)), "ro");
	json_decref(m);
	/* --read-only too, the rootfs having no /etc/resolv.conf: the guest
	 * makes the mount point in its overlay */
	o.read_only = true;
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), 0);
	m = resolv_mount(text);
	free(text);
	rmdir(dir);
	CHECK(m != NULL);
	json_decref(m);
	/* none without --net nat's file */
	o.resolv_conf = NULL;
	o.read_only = false;
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), 0);
	m = resolv_mount(text);
	free(text);
	CHECK(m == NULL);
	o.resolv_conf = "relative";
	CHECK_EQ_INT(husk_sandbox_spec(&o, &text, &err), -EINVAL);
	CHECK_STR(err.msg, "the resolv.conf must be an absolute path");
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
		{ "--dns: addresses taken, nameservers the job can reach", test_dns_valid },
		{ "--net nat: the job's resolv.conf from the host's and --dns", test_resolv_text },
		{ "--net nat: the spec's /etc/resolv.conf bind mount", test_spec_resolv },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
