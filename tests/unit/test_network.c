/* The network message (CREATE's and START's "network"): round trips, bounds,
 * and what the guest's decoder refuses. */
#include <stdio.h>
#include <stdlib.h>

#include "../../proto/msg_network.h"
#include "unit.h"

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
	f->routes[1] = (struct husk_net_route){ .family = 6, .dst_len = 48, .dst = { 0xfd, 0xaa }, .metric = 1024,
						.scope = 253, .has_src = true, .src = { 0xfd, 0, [15] = 2 } };
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
	husk_msg_encode_start(&e, in);
	if (husk_cbor_enc_finish(&e, err) < 0)
		return -ENOSPC;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	int r = husk_msg_parse(e.buf, e.len, &a, &root, err);
	return r < 0 ? r : husk_msg_decode_start(root, &a, out, err);
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
			f->routes[j] = (struct husk_net_route){ .family = 6, .dst_len = 128, .has_gateway = true,
								.has_src = true, .metric = UINT32_MAX };
	}
	CHECK_EQ_INT(round_trip(&n, &d, &err), 0);
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, enc_buf, sizeof enc_buf);
	husk_msg_encode_start(&e, &n);
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
	struct husk_network *d;
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
		int r = husk_msg_decode_start(root, &a, &d, &err);
		if (r >= 0)
			fprintf(stdout, "# variant %d was accepted\n", variant);
		CHECK(r < 0);
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "network round trip", test_round_trip },
		{ "largest network fits a frame", test_full_size_fits_a_frame },
		{ "network validation", test_validate_rejects },
		{ "network decoder rejections", test_decode_rejects },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
