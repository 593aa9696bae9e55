/* The network message (CREATE's and START's "network"): round trips, bounds,
 * and what the guest's decoder refuses. */
#include <stdio.h>
#include <stdlib.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/net/net.h"
#include "host/vmm/vmm_qemu.h"
#include "proto/msg_network.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[4u << 20];
static uint8_t enc_buf[1u << 20];

static void sample(struct husk_network *n)
{
	memset(n, 0, sizeof *n);
	n->n_ifaces = 2;
	struct husk_net_iface *f = &n->ifaces[0];
	snprintf(f->name, sizeof f->name, "eth0");
	memcpy(f->dev_mac, "\x02\x11\x22\x33\x44\x55", 6);
	memcpy(f->mac, "\x02\x11\x22\x33\x44\x55", 6);
	f->mtu = 1400;
	f->n_addrs = 2;
	f->addrs[0] = (struct husk_net_addr){ .family = 4, .prefix = 24, .addr = { 10, 1, 2, 3 } };
	f->addrs[1] = (struct husk_net_addr){ .family = 6, .prefix = 64, .addr = { 0xfd, 0, [15] = 2 } };
	f->n_routes = 2;
	f->routes[0] = (struct husk_net_route){ .family = 4, .has_gateway = true, .gateway = { 10, 1, 2, 1 } };
	f->routes[1] = (struct husk_net_route){ .family = 6,
						.dst_len = 48,
						.dst = { 0xfd, 0xaa },
						.metric = 1024,
						.scope = 253,
						.has_src = true,
						.src = { 0xfd, 0, [15] = 2 } };
	f = &n->ifaces[1];
	snprintf(f->name, sizeof f->name, "net1");
	memcpy(f->dev_mac, "\x52\x54\x00\x00\x00\x01", 6);
	memcpy(f->mac, "\x0a\x00\x00\x00\x00\x07", 6);
	f->mtu = 9000;
}

static int round_trip(const struct husk_network *in, struct husk_network **out, struct husk_err *err)
{
	static struct husk_arena a;
	struct husk_cbor_enc e;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .added = in });
	if (husk_cbor_enc_finish(&e, err) < 0)
		return -ENOSPC;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	struct husk_start_msg sm;
	int r = husk_msg_parse(e.buf, e.len, &a, &root, err);
	if (r < 0 || (r = husk_msg_decode_start(root, &a, &sm, err)) < 0)
		return r;
	*out = (struct husk_network *)sm.added;
	return 0;
}

static enum test_result test_round_trip(void)
{
	static struct husk_network n;
	struct husk_network *d = NULL;
	struct husk_err err = { 0 };
	sample(&n);
	CHECK_EQ_INT(husk_network_validate(&n, &err), 0);
	CHECK_EQ_INT(round_trip(&n, &d, &err), 0);
	CHECK(d != NULL);
	CHECK_EQ_INT(d->n_ifaces, 2);
	CHECK_STR(d->ifaces[0].name, "eth0");
	CHECK_STR(d->ifaces[1].name, "net1");
	CHECK_EQ_INT(d->ifaces[0].mtu, 1400);
	CHECK_EQ_INT(d->ifaces[1].mtu, 9000);
	CHECK(!memcmp(d->ifaces[1].mac, "\x0a\x00\x00\x00\x00\x07", 6));
	CHECK(!memcmp(d->ifaces[1].dev_mac, "\x52\x54\x00\x00\x00\x01", 6));
	CHECK_EQ_INT(d->ifaces[0].n_addrs, 2);
	CHECK_EQ_INT(d->ifaces[0].addrs[0].family, 4);
	CHECK_EQ_INT(d->ifaces[0].addrs[0].prefix, 24);
	CHECK(!memcmp(d->ifaces[0].addrs[0].addr, "\x0a\x01\x02\x03", 4));
	CHECK_EQ_INT(d->ifaces[0].addrs[1].family, 6);
	CHECK(!memcmp(d->ifaces[0].addrs[1].addr, n.ifaces[0].addrs[1].addr, 16));
	CHECK_EQ_INT(d->ifaces[0].n_routes, 2);
	CHECK(d->ifaces[0].routes[0].has_gateway);
	CHECK(!d->ifaces[0].routes[0].has_src);
	CHECK_EQ_INT(d->ifaces[0].routes[0].dst_len, 0);
	CHECK_EQ_INT(d->ifaces[0].routes[1].dst_len, 48);
	CHECK_EQ_INT(d->ifaces[0].routes[1].metric, 1024);
	CHECK_EQ_INT(d->ifaces[0].routes[1].scope, 253);
	CHECK(d->ifaces[0].routes[1].has_src);
	CHECK(!d->ifaces[0].routes[1].has_gateway);
	CHECK_EQ_INT(d->ifaces[1].n_addrs, 0);
	/* no interfaces: START is an empty map, and decodes to none */
	n.n_ifaces = 0;
	CHECK_EQ_INT(round_trip(&n, &d, &err), 0);
	CHECK(d == NULL);
	return TEST_PASS;
}

static enum test_result test_full_size_fits_a_frame(void)
{
	static struct husk_network n;
	struct husk_network *d = NULL;
	struct husk_err err = { 0 };
	memset(&n, 0, sizeof n);
	n.n_ifaces = HUSK_NET_MAX_IFACES;
	for (uint32_t i = 0; i < n.n_ifaces; i++) {
		struct husk_net_iface *f = &n.ifaces[i];
		snprintf(f->name, sizeof f->name, "ethernet%07u", i);
		memcpy(f->dev_mac, "\x02\0\0\0\0\0", 6);
		f->dev_mac[5] = (uint8_t)i;
		memcpy(f->mac, f->dev_mac, 6);
		f->mtu = 1500;
		f->n_addrs = HUSK_NET_MAX_ADDRS;
		for (uint32_t j = 0; j < f->n_addrs; j++)
			f->addrs[j] = (struct husk_net_addr){ .family = 6, .prefix = 128, .addr = { 0xfd, [15] = 1 } };
		f->n_routes = HUSK_NET_MAX_ROUTES;
		for (uint32_t j = 0; j < f->n_routes; j++)
			f->routes[j] = (struct husk_net_route){
				.family = 6, .dst_len = 128, .has_gateway = true, .has_src = true, .metric = UINT32_MAX
			};
	}
	CHECK_EQ_INT(round_trip(&n, &d, &err), 0);
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_start(&e, &(struct husk_start_msg){ .added = &n });
	CHECK(e.len < HUSK_FRAME_MAX / 2); /* leaves room in CREATE for the rest */
	CHECK_EQ_INT(d->n_ifaces, HUSK_NET_MAX_IFACES);
	CHECK_EQ_INT(d->ifaces[15].n_routes, HUSK_NET_MAX_ROUTES);
	return TEST_PASS;
}

static enum test_result test_validate_rejects(void)
{
	static struct husk_network n;
	struct husk_network *d;
	struct husk_err err = { 0 };
	static const char *const bad_names[] = { "", "lo", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\x7f" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		sample(&n);
		snprintf(n.ifaces[0].name, sizeof n.ifaces[0].name, "%s", bad_names[i]);
		husk_err_clear(&err);
		CHECK(husk_network_validate(&n, &err) < 0);
		husk_err_clear(&err);
		CHECK(round_trip(&n, &d, &err) < 0);
	}
	sample(&n);
	snprintf(n.ifaces[1].name, sizeof n.ifaces[1].name, "eth0");
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -EINVAL); /* a name twice */
	sample(&n);
	memcpy(n.ifaces[1].dev_mac, n.ifaces[0].dev_mac, 6);
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -EINVAL); /* a device MAC twice */
	sample(&n);
	n.ifaces[0].mac[0] = 0x01; /* multicast */
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -EINVAL);
	sample(&n);
	memset(n.ifaces[0].mac, 0, 6);
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -EINVAL);
	sample(&n);
	n.ifaces[0].mtu = 67;
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -ERANGE);
	sample(&n);
	n.ifaces[0].addrs[0].prefix = 33;
	husk_err_clear(&err);
	CHECK(husk_network_validate(&n, &err) < 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(round_trip(&n, &d, &err), -ERANGE);
	sample(&n);
	n.ifaces[0].routes[1].dst_len = 129;
	husk_err_clear(&err);
	CHECK(round_trip(&n, &d, &err) < 0);
	sample(&n);
	n.ifaces[0].addrs[0].family = 5;
	husk_err_clear(&err);
	CHECK(husk_network_validate(&n, &err) < 0);
	return TEST_PASS;
}

/* hand-built maps: wrong sizes, types and counts the encoder never makes */
static enum test_result test_decode_rejects(void)
{
	struct husk_err err = { 0 };
	static struct husk_arena a;
	const struct husk_cbor_item *root;
	struct husk_cbor_enc e;
	for (int variant = 0; variant < 6; variant++) {
		husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, "network");
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, "interfaces");
		if (variant == 0) {
			husk_cbor_put_array(&e, HUSK_NET_MAX_IFACES + 1);
			for (uint32_t i = 0; i < HUSK_NET_MAX_IFACES + 1; i++)
				husk_cbor_put_null(&e);
		} else {
			husk_cbor_put_array(&e, 1);
			husk_cbor_put_map(&e, 6);
			husk_cbor_put_text(&e, "name");
			husk_cbor_put_text(&e, "eth0");
			husk_cbor_put_text(&e, "dev_mac");
			husk_cbor_put_bytes(&e, "\x02\x01\x02\x03\x04\x05", variant == 1 ? 5 : 6);
			husk_cbor_put_text(&e, "mac");
			if (variant == 2)
				husk_cbor_put_text(&e, "02:01:02:03:04:05");
			else
				husk_cbor_put_bytes(&e, "\x02\x01\x02\x03\x04\x05", 6);
			husk_cbor_put_text(&e, "mtu");
			husk_cbor_put_uint(&e, variant == 3 ? 70000 : 1500);
			husk_cbor_put_text(&e, "addresses");
			husk_cbor_put_array(&e, 1);
			husk_cbor_put_map(&e, 3);
			husk_cbor_put_text(&e, "family");
			husk_cbor_put_uint(&e, 4);
			husk_cbor_put_text(&e, "address");
			husk_cbor_put_bytes(&e, "\x0a\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0", variant == 4 ? 16 : 4);
			husk_cbor_put_text(&e, "prefix");
			husk_cbor_put_uint(&e, 8);
			husk_cbor_put_text(&e, "routes");
			if (variant == 5)
				husk_cbor_put_map(&e, 0);
			else
				husk_cbor_put_array(&e, 0);
		}
		CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
		husk_arena_init(&a, arena_buf, sizeof arena_buf);
		CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
		husk_err_clear(&err);
		struct husk_start_msg sm;
		int r = husk_msg_decode_start(root, &a, &sm, &err);
		if (r >= 0)
			fprintf(stdout, "# variant %d was accepted\n", variant);
		CHECK(r < 0);
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

static enum test_result test_spares_annotation(void)
{
	unsigned v = 99;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_net_spares(NULL, &v, &err), 0);
	CHECK_EQ_INT(v, HUSK_NET_SPARES_DEFAULT);
	CHECK_EQ_INT(husk_net_spares("0", &v, &err), 0);
	CHECK_EQ_INT(v, 0);
	CHECK_EQ_INT(husk_net_spares("8", &v, &err), 0);
	CHECK_EQ_INT(v, 8);
	static const char *const bad[] = { "", "9", "-1", "2x", " 2", "99999999999999999999" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_net_spares(bad[i], &v, &err), -EINVAL);
		CHECK(strstr(err.msg, "spare_nics") != NULL);
	}
	return TEST_PASS;
}

static enum test_result test_qemu_nics(void)
{
	struct husk_vm_nic nics[2] = {
		{ .tap_fd = 7, .mac = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 }, .mtu = 1400 },
		{ .tap_fd = 8, .mac = { 0x02, 0x68, 0x75, 0x73, 0x6b, 0x01 } },
	};
	struct husk_vm_params p = {
		.qemu = "qemu",
		.kernel_fd = 3,
		.initramfs_fd = 4,
		.accel = "tcg",
		.vcpus = 1,
		.memory_mib = 128,
		.console_fd = 5,
		.qmp_fd = 6,
		.virtiofs_fd = 9,
		.virtiofs_tag = "vfs",
		.vhost_user_vsock_fd = 10,
		.vhost_vsock_fd = -1,
		.nics = nics,
		.n_nics = 2,
	};
	struct husk_argv a = { 0 };
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_qemu_argv(&p, &a, &err), 0);
	CHECK(husk_argv_find(&a, "tap,id=net0,fd=7") > 0);
	CHECK(husk_argv_find(&a, "virtio-net-device,netdev=net0,mac=02:42:ac:11:00:02,host_mtu=1400") > 0);
	CHECK(husk_argv_find(&a, "tap,id=net1,fd=8") > 0);
	CHECK(husk_argv_find(&a, "virtio-net-device,netdev=net1,mac=02:68:75:73:6b:01") > 0);
	husk_argv_free(&a);
	int fds[HUSK_QEMU_FDS_MAX]; /* the taps are inherited with the rest */
	CHECK_EQ_INT((int)husk_qemu_fds(&p, fds, HUSK_QEMU_FDS_MAX), 8);
	CHECK_EQ_INT(fds[6], 7);
	CHECK_EQ_INT(fds[7], 8);
	p.n_nics = 0;
	CHECK_EQ_INT(husk_qemu_argv(&p, &a, &err), 0);
	CHECK(husk_argv_find(&a, "-netdev") < 0);
	husk_argv_free(&a);
	return TEST_PASS;
}

static bool sh_output_has(const char *cmd, const char *needle)
{
	char buf[8192];
	FILE *f = popen(cmd, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		pclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* The host side without a VM: taps, filters, the record and the teardown,
 * in namespaces of the test's own (root only). */
static enum test_result test_host_plumbing(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0 || system("ip -V >/dev/null 2>&1") != 0)
		return TEST_SKIP;
	char ns[64], peer[64], path[128], cmd[512];
	snprintf(ns, sizeof ns, "husk-ut%d", (int)getpid());
	snprintf(peer, sizeof peer, "husk-up%d", (int)getpid());
	snprintf(path, sizeof path, "/run/netns/%s", ns);
	char setup[1024];
	snprintf(setup, sizeof setup,
		 "ip netns add %s && ip netns add %s && "
		 "ip link add ut0 netns %s type veth peer name ut1 netns %s && "
		 "ip -n %s addr add 10.1.2.3/24 dev ut0 && ip -n %s link set ut0 up && "
		 "ip -n %s route add 10.9.0.0/16 via 10.1.2.1 && ip -n %s -6 addr add fd01::3/64 dev ut0 nodad",
		 ns, peer, ns, peer, ns, ns, ns, ns);
	if (system(setup) != 0)
		return TEST_SKIP; /* no veth/netns here */
	char root[] = "/tmp/husk-ut-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	char dir_a[256], dir_b[256];
	snprintf(dir_a, sizeof dir_a, "%s/a", root);
	snprintf(dir_b, sizeof dir_b, "%s/b", root);
	mkdir(dir_a, 0700);
	mkdir(dir_b, 0700);
	static struct husk_net n, n2;
	static struct husk_network out;
	struct husk_err err = { 0 };
	enum test_result res = TEST_FAIL;
	int r = husk_net_open(&n, path, dir_a, &err);
	if (r == 0)
		r = husk_net_setup(&n, 1, &out, &err);
	if (r < 0)
		fprintf(stdout, "# setup: %s\n", err.msg);
	if (r < 0 || out.n_ifaces != 1 || n.n_taps != 2 || strcmp(out.ifaces[0].name, "ut0") ||
	    out.ifaces[0].n_addrs != 2 || out.ifaces[0].n_routes != 1 || !out.ifaces[0].routes[0].has_gateway ||
	    out.ifaces[0].routes[0].dst_len != 16 || memcmp(out.ifaces[0].addrs[0].addr, "\x0a\x01\x02\x03", 4))
		goto out;
	snprintf(cmd, sizeof cmd, "tc -n %s filter show dev ut0 ingress; tc -n %s filter show dev hsktap0 ingress", ns,
		 ns);
	if (!sh_output_has(cmd, "hsktap0") || !sh_output_has(cmd, "ut0"))
		goto out;
	/* the tap is up, without a link-local address of the netns's own */
	snprintf(cmd, sizeof cmd, "ip -n %s link show hsktap0; ip -n %s -6 addr show dev hsktap0", ns, ns);
	if (!sh_output_has(cmd, "UP") || sh_output_has(cmd, "fe80"))
		goto out;
	/* a second container on the same netns: refused */
	husk_err_clear(&err);
	if (husk_net_open(&n2, path, dir_b, &err) != -EBUSY || !strstr(err.msg, "used by husk container"))
		goto out;
	/* the host's */
	husk_err_clear(&err);
	if (husk_net_open(&n2, "/proc/self/ns/net", dir_b, &err) != -EINVAL || !strstr(err.msg, "host's"))
		goto out;
	husk_err_clear(&err);
	if (husk_net_open(&n2, "/etc/hostname", dir_b, &err) != -EINVAL)
		goto out;
	/* teardown from the record, as delete does */
	husk_net_close_taps(&n);
	close(n.netns_fd);
	husk_net_cleanup_dir(dir_a);
	snprintf(cmd, sizeof cmd, "tc -n %s filter show dev ut0 ingress; tc -n %s qdisc show dev ut0; ip -n %s link",
		 ns, ns, ns);
	if (sh_output_has(cmd, "hsktap") || sh_output_has(cmd, "ingress") || sh_output_has(cmd, "mirred"))
		goto out;
	snprintf(cmd, sizeof cmd, "%s/network.json", dir_a);
	if (access(cmd, F_OK) == 0)
		goto out;
	res = TEST_PASS;
out:
	if (res != TEST_PASS)
		fprintf(stdout, "# %s\n", err.msg);
	snprintf(cmd, sizeof cmd, "ip netns del %s; ip netns del %s; rm -rf %s", ns, peer, root);
	if (system(cmd) != 0)
		res = TEST_FAIL;
	return res;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "network round trip", test_round_trip },
		{ "largest network fits a frame", test_full_size_fits_a_frame },
		{ "network validation", test_validate_rejects },
		{ "network decoder rejections", test_decode_rejects },
		{ "io.husk.net.spare_nics", test_spares_annotation },
		{ "QEMU gets a virtio-net device per tap", test_qemu_nics },
		{ "host side: taps, filters, refusals, teardown (root)", test_host_plumbing },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
