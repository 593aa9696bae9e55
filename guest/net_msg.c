/* rtnetlink requests, built (see net_msg.h). */
#include <net/if.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <string.h>
#include <sys/socket.h>

#include "guest/net_msg.h"

void *nl_req_init(struct nl_req *q, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(q, 0, sizeof *q);
	q->h.nlmsg_len = NLMSG_LENGTH(hdr_len);
	q->h.nlmsg_type = type;
	q->h.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&q->h);
}

void nl_put_attr(struct nl_req *q, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(q->h.nlmsg_len);
	if (at + RTA_LENGTH(len) > sizeof *q)
		return; /* requests here are small and fixed: cannot happen */
	struct rtattr *rta = (struct rtattr *)((char *)q + at);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	q->h.nlmsg_len = (uint32_t)(at + RTA_ALIGN(rta->rta_len));
}

void nl_put_u32(struct nl_req *q, uint16_t type, uint32_t v)
{
	nl_put_attr(q, type, &v, sizeof v);
}

void nl_msg_link_change(struct nl_req *q, int ifindex, unsigned flags, unsigned change)
{
	struct ifinfomsg *ifi = nl_req_init(q, RTM_NEWLINK, 0, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
}

void nl_msg_link_dump(struct nl_req *q)
{
	struct ifinfomsg *ifi = nl_req_init(q, RTM_GETLINK, NLM_F_DUMP, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
}

void nl_msg_link_move(struct nl_req *q, int ifindex, int ns_fd, const char *name)
{
	struct ifinfomsg *ifi = nl_req_init(q, RTM_NEWLINK, 0, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	nl_put_u32(q, IFLA_NET_NS_FD, (uint32_t)ns_fd);
	if (name)
		nl_put_attr(q, IFLA_IFNAME, name, strlen(name) + 1);
}

void nl_msg_link_set(struct nl_req *q, int ifindex, const uint8_t mac[6], uint32_t mtu)
{
	struct ifinfomsg *ifi = nl_req_init(q, RTM_NEWLINK, 0, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	nl_put_attr(q, IFLA_ADDRESS, mac, 6);
	nl_put_u32(q, IFLA_MTU, mtu);
}

void nl_msg_add_addr(struct nl_req *q, int ifindex, const struct husk_net_addr *ad)
{
	size_t len = ad->family == 4 ? 4 : 16;
	struct ifaddrmsg *ifa = nl_req_init(q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof *ifa);
	ifa->ifa_family = ad->family == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = ad->prefix;
	ifa->ifa_index = (uint32_t)ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	nl_put_attr(q, IFA_LOCAL, ad->addr, len);
	nl_put_attr(q, IFA_ADDRESS, ad->addr, len);
	if (ad->family == 4 && ad->prefix < 31) {
		uint8_t brd[4];
		uint32_t host = ad->prefix ? (0xffffffffu >> ad->prefix) : 0xffffffffu;
		uint32_t a;
		memcpy(&a, ad->addr, 4);
		a = htonl(ntohl(a) | host);
		memcpy(brd, &a, 4);
		nl_put_attr(q, IFA_BROADCAST, brd, 4);
	}
	/* the host side checked the address already: no duplicate detection */
	if (ad->family == 6)
		nl_put_u32(q, IFA_FLAGS, IFA_F_NODAD);
}

void nl_msg_add_route(struct nl_req *q, int ifindex, const struct husk_net_route *rt)
{
	size_t len = rt->family == 4 ? 4 : 16;
	struct rtmsg *rtm = nl_req_init(q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, sizeof *rtm);
	rtm->rtm_family = rt->family == 4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = rt->dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = rt->scope;
	rtm->rtm_type = RTN_UNICAST;
	if (rt->dst_len)
		nl_put_attr(q, RTA_DST, rt->dst, len);
	if (rt->has_gateway)
		nl_put_attr(q, RTA_GATEWAY, rt->gateway, len);
	if (rt->has_src)
		nl_put_attr(q, RTA_PREFSRC, rt->src, len);
	if (rt->metric)
		nl_put_u32(q, RTA_PRIORITY, rt->metric);
	nl_put_u32(q, RTA_OIF, (uint32_t)ifindex);
}
