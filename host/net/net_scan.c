/* What the container's network namespace holds: its ethernet interfaces,
 * their addresses and their routes, read over rtnetlink. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>

#include "host/net/net.h"

struct links_ctx {
	struct husk_net_found *out;
	unsigned cap, n;
	bool overflow;
};

static int link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);
	if (mnl_attr_type_valid(a, IFLA_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int info_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	struct links_ctx *c = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof *ifi)
		return MNL_CB_OK;
	/* ethernet only: lo, and the tunnel devices every netns gets when
	 * their modules are loaded (sit0, ip6tnl0...), are not ARPHRD_ETHER */
	if (ifi->ifi_type != ARPHRD_ETHER || (ifi->ifi_flags & IFF_LOOPBACK))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof *ifi, link_attr, tb);
	if (!tb[IFLA_IFNAME] || !tb[IFLA_ADDRESS] || mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) != 6)
		return MNL_CB_OK;
	if (c->n == c->cap) {
		c->overflow = true;
		return MNL_CB_OK;
	}
	struct husk_net_found *f = &c->out[c->n++];
	memset(f, 0, sizeof *f);
	f->ifindex = ifi->ifi_index;
	snprintf(f->name, sizeof f->name, "%.*s", (int)mnl_attr_get_payload_len(tb[IFLA_IFNAME]),
		 (const char *)mnl_attr_get_payload(tb[IFLA_IFNAME]));
	memcpy(f->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
	f->mtu = tb[IFLA_MTU] ? mnl_attr_get_u32(tb[IFLA_MTU]) : 1500;
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = { 0 };
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr, info);
		if (info[IFLA_INFO_KIND])
			snprintf(f->kind, sizeof f->kind, "%.*s", (int)mnl_attr_get_payload_len(info[IFLA_INFO_KIND]),
				 (const char *)mnl_attr_get_payload(info[IFLA_INFO_KIND]));
	}
	return MNL_CB_OK;
}

int husk_net_list_links(struct husk_nl *nl, struct husk_net_found *out, unsigned cap, unsigned *n, struct husk_err *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	struct links_ctx c = { .out = out, .cap = cap };
	int r = husk_nl_talk(nl, nlh, on_link, &c);
	if (r < 0)
		return husk_err_sys(err, -r, "listing the interfaces of the network namespace");
	if (c.overflow)
		return husk_err_set(err, E2BIG, "the network namespace has more than %u ethernet interfaces", cap);
	*n = c.n;
	return 0;
}

/* --- addresses ---------------------------------------------------------- */

struct cfg_ctx {
	int ifindex;
	struct husk_net_iface *f;
	bool overflow;
};

static int addr_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(a, IFA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static uint8_t wire_family(int af)
{
	return af == AF_INET ? 4 : af == AF_INET6 ? 6 : 0;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	struct cfg_ctx *c = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof *ifa)
		return MNL_CB_OK;
	if ((int)ifa->ifa_index != c->ifindex || !wire_family(ifa->ifa_family))
		return MNL_CB_OK;
	/* link-local and host addresses: the guest makes its own */
	if (ifa->ifa_scope >= RT_SCOPE_LINK)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof *ifa, addr_attr, tb);
	uint32_t flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (flags & IFA_F_DADFAILED)
		return MNL_CB_OK;
	/* IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer on ptp links) */
	const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	size_t len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!a || mnl_attr_get_payload_len(a) != len || ifa->ifa_prefixlen > len * 8)
		return MNL_CB_OK;
	if (c->f->n_addrs == HUSK_NET_MAX_ADDRS) {
		c->overflow = true;
		return MNL_CB_OK;
	}
	struct husk_net_addr *ad = &c->f->addrs[c->f->n_addrs++];
	memset(ad, 0, sizeof *ad);
	ad->family = wire_family(ifa->ifa_family);
	ad->prefix = ifa->ifa_prefixlen;
	memcpy(ad->addr, mnl_attr_get_payload(a), len);
	return MNL_CB_OK;
}

/* --- routes ------------------------------------------------------------- */

static int route_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	if (mnl_attr_type_valid(a, RTA_MAX) > 0)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static bool get_ip(const struct nlattr *a, size_t len, uint8_t *out)
{
	if (!a || mnl_attr_get_payload_len(a) != len)
		return false;
	memcpy(out, mnl_attr_get_payload(a), len);
	return true;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	struct cfg_ctx *c = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof *rtm)
		return MNL_CB_OK;
	if (!wire_family(rtm->rtm_family) || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	/* the prefix routes of addresses: the guest's kernel adds them too */
	if (rtm->rtm_protocol == RTPROT_KERNEL)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof *rtm, route_attr, tb);
	uint32_t table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != RT_TABLE_MAIN || !tb[RTA_OIF] || (int)mnl_attr_get_u32(tb[RTA_OIF]) != c->ifindex ||
	    tb[RTA_MULTIPATH])
		return MNL_CB_OK;
	size_t len = rtm->rtm_family == AF_INET ? 4 : 16;
	if (rtm->rtm_dst_len > len * 8)
		return MNL_CB_OK;
	if (c->f->n_routes == HUSK_NET_MAX_ROUTES) {
		c->overflow = true;
		return MNL_CB_OK;
	}
	struct husk_net_route *rt = &c->f->routes[c->f->n_routes];
	memset(rt, 0, sizeof *rt);
	rt->family = wire_family(rtm->rtm_family);
	rt->dst_len = rtm->rtm_dst_len;
	rt->scope = rtm->rtm_scope;
	if (tb[RTA_DST] && !get_ip(tb[RTA_DST], len, rt->dst))
		return MNL_CB_OK;
	rt->has_gateway = get_ip(tb[RTA_GATEWAY], len, rt->gateway);
	rt->has_src = get_ip(tb[RTA_PREFSRC], len, rt->src);
	rt->metric = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	c->f->n_routes++;
	return MNL_CB_OK;
}

static int dump(struct husk_nl *nl, uint16_t type, int family, husk_nl_cb cb, struct cfg_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (type == RTM_GETADDR) {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
		ifa->ifa_family = (uint8_t)family;
	} else {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
		rtm->rtm_family = (uint8_t)family;
	}
	return husk_nl_talk(nl, nlh, cb, c);
}

/* routes without a gateway first: a gateway must be reachable when its
 * route is added */
static void order_routes(struct husk_net_iface *f)
{
	struct husk_net_route tmp;
	for (uint32_t i = 1; i < f->n_routes; i++)
		for (uint32_t j = i; j > 0 && f->routes[j - 1].has_gateway && !f->routes[j].has_gateway; j--) {
			tmp = f->routes[j - 1];
			f->routes[j - 1] = f->routes[j];
			f->routes[j] = tmp;
		}
}

int husk_net_read_config(struct husk_nl *nl, int ifindex, struct husk_net_iface *f, struct husk_err *err)
{
	struct cfg_ctx c = { .ifindex = ifindex, .f = f };
	int r;
	f->n_addrs = f->n_routes = 0;
	if ((r = dump(nl, RTM_GETADDR, AF_UNSPEC, on_addr, &c)) < 0)
		return husk_err_sys(err, -r, "reading the addresses of %s", f->name);
	if ((r = dump(nl, RTM_GETROUTE, AF_INET, on_route, &c)) < 0 ||
	    (r = dump(nl, RTM_GETROUTE, AF_INET6, on_route, &c)) < 0)
		return husk_err_sys(err, -r, "reading the routes of %s", f->name);
	if (c.overflow)
		return husk_err_set(err, E2BIG, "%s has more than %u addresses or %u routes", f->name,
				    HUSK_NET_MAX_ADDRS, HUSK_NET_MAX_ROUTES);
	order_routes(f);
	return 0;
}
