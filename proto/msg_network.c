#include "proto/msg_network.h"

#include <stdio.h>
#include <string.h>

static size_t family_len(uint8_t family)
{
	return family == 4 ? 4 : family == 6 ? 16 : 0;
}

bool husk_net_ifname_valid(const char *name)
{
	size_t n = strnlen(name, HUSK_NET_IFNAME_MAX + 1);
	if (n == 0 || n > HUSK_NET_IFNAME_MAX || !strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "lo"))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

static bool mac_unicast(const uint8_t *m)
{
	static const uint8_t zero[6];
	return !(m[0] & 1) && memcmp(m, zero, 6) != 0;
}

int husk_network_validate(const struct husk_network *n, struct husk_err *err)
{
	if (n->n_ifaces > HUSK_NET_MAX_IFACES)
		return husk_err_set(err, E2BIG, "network: more than %u interfaces", HUSK_NET_MAX_IFACES);
	for (uint32_t i = 0; i < n->n_ifaces; i++) {
		const struct husk_net_iface *f = &n->ifaces[i];
		if (!husk_net_ifname_valid(f->name))
			return husk_err_set(err, EINVAL, "network: interface %u has an invalid name", i);
		if (!mac_unicast(f->mac) || !mac_unicast(f->dev_mac))
			return husk_err_set(err, EINVAL, "network: %s: MAC must be unicast and not zero", f->name);
		if (f->mtu < HUSK_NET_MTU_MIN || f->mtu > HUSK_NET_MTU_MAX)
			return husk_err_set(err, ERANGE, "network: %s: MTU %u is out of range", f->name, f->mtu);
		if (f->n_addrs > HUSK_NET_MAX_ADDRS || f->n_routes > HUSK_NET_MAX_ROUTES)
			return husk_err_set(err, E2BIG, "network: %s: too many addresses or routes", f->name);
		for (uint32_t j = 0; j < i; j++) {
			if (!strcmp(n->ifaces[j].name, f->name))
				return husk_err_set(err, EINVAL, "network: interface %s is listed twice", f->name);
			if (!memcmp(n->ifaces[j].dev_mac, f->dev_mac, 6))
				return husk_err_set(err, EINVAL, "network: %s and %s share a device MAC",
						    n->ifaces[j].name, f->name);
		}
		for (uint32_t j = 0; j < f->n_addrs; j++) {
			size_t len = family_len(f->addrs[j].family);
			if (!len || f->addrs[j].prefix > len * 8)
				return husk_err_set(err, EINVAL, "network: %s: address %u is invalid", f->name, j);
		}
		for (uint32_t j = 0; j < f->n_routes; j++) {
			size_t len = family_len(f->routes[j].family);
			if (!len || f->routes[j].dst_len > len * 8)
				return husk_err_set(err, EINVAL, "network: %s: route %u is invalid", f->name, j);
		}
	}
	return 0;
}

static void put_ip(struct husk_cbor_enc *e, const char *key, uint8_t family, const uint8_t *ip)
{
	husk_cbor_put_text(e, key);
	husk_cbor_put_bytes(e, ip, family_len(family));
}

static void encode_iface(struct husk_cbor_enc *e, const struct husk_net_iface *f)
{
	husk_cbor_put_map(e, 6);
	husk_cbor_put_text(e, "name");
	husk_cbor_put_text(e, f->name);
	husk_cbor_put_text(e, "dev_mac");
	husk_cbor_put_bytes(e, f->dev_mac, 6);
	husk_cbor_put_text(e, "mac");
	husk_cbor_put_bytes(e, f->mac, 6);
	husk_cbor_put_text(e, "mtu");
	husk_cbor_put_uint(e, f->mtu);
	husk_cbor_put_text(e, "addresses");
	husk_cbor_put_array(e, f->n_addrs);
	for (uint32_t i = 0; i < f->n_addrs; i++) {
		const struct husk_net_addr *ad = &f->addrs[i];
		husk_cbor_put_map(e, 3);
		husk_cbor_put_text(e, "family");
		husk_cbor_put_uint(e, ad->family);
		put_ip(e, "address", ad->family, ad->addr);
		husk_cbor_put_text(e, "prefix");
		husk_cbor_put_uint(e, ad->prefix);
	}
	husk_cbor_put_text(e, "routes");
	husk_cbor_put_array(e, f->n_routes);
	for (uint32_t i = 0; i < f->n_routes; i++) {
		const struct husk_net_route *rt = &f->routes[i];
		husk_cbor_put_map(e, 5 + rt->has_gateway + rt->has_src);
		husk_cbor_put_text(e, "family");
		husk_cbor_put_uint(e, rt->family);
		put_ip(e, "dst", rt->family, rt->dst);
		husk_cbor_put_text(e, "dst_len");
		husk_cbor_put_uint(e, rt->dst_len);
		husk_cbor_put_text(e, "scope");
		husk_cbor_put_uint(e, rt->scope);
		husk_cbor_put_text(e, "metric");
		husk_cbor_put_uint(e, rt->metric);
		if (rt->has_gateway)
			put_ip(e, "gateway", rt->family, rt->gateway);
		if (rt->has_src)
			put_ip(e, "src", rt->family, rt->src);
	}
}

void husk_msg_encode_network(struct husk_cbor_enc *e, const struct husk_network *n)
{
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, "interfaces");
	husk_cbor_put_array(e, n->n_ifaces);
	for (uint32_t i = 0; i < n->n_ifaces; i++)
		encode_iface(e, &n->ifaces[i]);
}

/* fixed-size bytes: exactly len of them */
static int get_fixed(const struct husk_cbor_item *map, const char *key, size_t len, bool optional, uint8_t *out,
		     bool *present, struct husk_err *err)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(map, key);
	if (present)
		*present = false;
	if (!v || v->type == HUSK_CBOR_NULL) {
		if (optional)
			return 0;
		return husk_err_set(err, EBADMSG, "field \"%s\" is missing", key);
	}
	if (v->type != HUSK_CBOR_BYTES || v->count != len)
		return husk_err_set(err, EBADMSG, "field \"%s\" must be %zu bytes", key, len);
	memcpy(out, v->v.ptr, len);
	if (present)
		*present = true;
	return 0;
}

static int get_array(const struct husk_cbor_item *map, const char *key, uint32_t max, const struct husk_cbor_item **out,
		     struct husk_err *err)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(map, key);
	if (!v || v->type != HUSK_CBOR_ARRAY)
		return husk_err_set(err, EBADMSG, "field \"%s\" must be an array", key);
	if (v->count > max)
		return husk_err_set(err, E2BIG, "field \"%s\" has more than %u entries", key, max);
	*out = v;
	return 0;
}

static int get_family(const struct husk_cbor_item *m, uint8_t *family, struct husk_err *err)
{
	uint64_t v;
	int r = husk_msg_get_uint(m, "family", 6, false, &v, err);
	if (r < 0)
		return r;
	if (v != 4 && v != 6)
		return husk_err_set(err, EINVAL, "family must be 4 or 6");
	*family = (uint8_t)v;
	return 0;
}

static int decode_addr(const struct husk_cbor_item *m, struct husk_net_addr *ad, struct husk_err *err)
{
	uint64_t v;
	int r;
	if (m->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "an address is not a map");
	if ((r = get_family(m, &ad->family, err)) < 0 ||
	    (r = get_fixed(m, "address", family_len(ad->family), false, ad->addr, NULL, err)) < 0 ||
	    (r = husk_msg_get_uint(m, "prefix", family_len(ad->family) * 8, false, &v, err)) < 0)
		return r;
	ad->prefix = (uint8_t)v;
	return 0;
}

static int decode_route(const struct husk_cbor_item *m, struct husk_net_route *rt, struct husk_err *err)
{
	uint64_t v;
	int r;
	if (m->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "a route is not a map");
	if ((r = get_family(m, &rt->family, err)) < 0)
		return r;
	size_t len = family_len(rt->family);
	if ((r = get_fixed(m, "dst", len, false, rt->dst, NULL, err)) < 0 ||
	    (r = get_fixed(m, "gateway", len, true, rt->gateway, &rt->has_gateway, err)) < 0 ||
	    (r = get_fixed(m, "src", len, true, rt->src, &rt->has_src, err)) < 0)
		return r;
	if ((r = husk_msg_get_uint(m, "dst_len", len * 8, false, &v, err)) < 0)
		return r;
	rt->dst_len = (uint8_t)v;
	if ((r = husk_msg_get_uint(m, "scope", 255, false, &v, err)) < 0)
		return r;
	rt->scope = (uint8_t)v;
	if ((r = husk_msg_get_uint(m, "metric", UINT32_MAX, false, &v, err)) < 0)
		return r;
	rt->metric = (uint32_t)v;
	return 0;
}

static int decode_iface(const struct husk_cbor_item *m, struct husk_arena *a, struct husk_net_iface *f,
			struct husk_err *err)
{
	const struct husk_cbor_item *arr, *it;
	char *name;
	uint64_t v;
	int r;
	if (m->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "an interface is not a map");
	if ((r = husk_msg_get_text(m, "name", HUSK_NET_IFNAME_MAX, false, a, &name, err)) < 0)
		return r;
	snprintf(f->name, sizeof f->name, "%s", name);
	if ((r = get_fixed(m, "dev_mac", 6, false, f->dev_mac, NULL, err)) < 0 ||
	    (r = get_fixed(m, "mac", 6, false, f->mac, NULL, err)) < 0 ||
	    (r = husk_msg_get_uint(m, "mtu", HUSK_NET_MTU_MAX, false, &v, err)) < 0)
		return r;
	f->mtu = (uint32_t)v;
	if ((r = get_array(m, "addresses", HUSK_NET_MAX_ADDRS, &arr, err)) < 0)
		return r;
	it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it))
		if ((r = decode_addr(it, &f->addrs[i], err)) < 0)
			return husk_err_wrap(err, "%s: address %u", f->name, i);
	f->n_addrs = arr->count;
	if ((r = get_array(m, "routes", HUSK_NET_MAX_ROUTES, &arr, err)) < 0)
		return r;
	it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it))
		if ((r = decode_route(it, &f->routes[i], err)) < 0)
			return husk_err_wrap(err, "%s: route %u", f->name, i);
	f->n_routes = arr->count;
	return 0;
}

int husk_msg_decode_network(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_network **out,
			    struct husk_err *err)
{
	const struct husk_cbor_item *arr, *it;
	int r;
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "network is not a map");
	if ((r = get_array(map, "interfaces", HUSK_NET_MAX_IFACES, &arr, err)) < 0)
		return husk_err_wrap(err, "network");
	struct husk_network *n = husk_arena_alloc(a, sizeof *n);
	if (!n)
		return husk_err_set(err, ENOMEM, "network does not fit the decode arena");
	it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it))
		if ((r = decode_iface(it, a, &n->ifaces[i], err)) < 0)
			return husk_err_wrap(err, "network: interface %u", i);
	n->n_ifaces = arr->count;
	if ((r = husk_network_validate(n, err)) < 0)
		return r;
	*out = n;
	return 0;
}

void husk_msg_encode_start(struct husk_cbor_enc *e, const struct husk_start_msg *m)
{
	bool net = m->added && m->added->n_ifaces;
	husk_cbor_put_map(e, (uint64_t)net + m->has_ctr);
	if (net) {
		husk_cbor_put_text(e, "network");
		husk_msg_encode_network(e, m->added);
	}
	if (m->has_ctr) {
		husk_cbor_put_text(e, "ctr");
		husk_cbor_put_uint(e, m->ctr);
	}
}

int husk_msg_decode_start(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_start_msg *m,
			  struct husk_err *err)
{
	const struct husk_cbor_item *net = husk_cbor_map_get(root, "network");
	memset(m, 0, sizeof *m);
	int r = husk_msg_get_ctr(root, &m->has_ctr, &m->ctr, err);
	if (r < 0)
		return r;
	struct husk_network *n = NULL;
	if (!net || net->type == HUSK_CBOR_NULL)
		return 0;
	if ((r = husk_msg_decode_network(net, a, &n, err)) < 0)
		return r;
	m->added = n;
	return 0;
}
