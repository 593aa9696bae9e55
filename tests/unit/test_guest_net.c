/* The guest's rtnetlink requests, built and read back on the host
 * (guest/net_msg.c through build/libguest-host.a). */
#include <net/if.h>

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <sys/socket.h>

#include "guest/net_msg.h"
#include "tests/unit/unit.h"

/* the attribute of this type after the family header, or NULL */
static const struct rtattr *attr(const struct nl_req *q, size_t hdr_len, uint16_t type)
{
	const char *end = (const char *)q + q->h.nlmsg_len;
	const struct rtattr *a = (const struct rtattr *)((const char *)NLMSG_DATA(&q->h) + NLMSG_ALIGN(hdr_len));
	for (; (const char *)a + sizeof *a <= end && RTA_OK(a, (int)(end - (const char *)a));
	     a = (const struct rtattr *)((const char *)a + RTA_ALIGN(a->rta_len)))
		if (a->rta_type == type)
			return a;
	return NULL;
}

static uint32_t attr_u32(const struct rtattr *a)
{
	uint32_t v;
	memcpy(&v, RTA_DATA(a), sizeof v);
	return v;
}

static enum test_result test_links(void)
{
	struct nl_req q;
	nl_msg_link_change(&q, 3, IFF_UP, IFF_UP);
	const struct ifinfomsg *ifi = NLMSG_DATA(&q.h);
	CHECK_EQ_INT(q.h.nlmsg_type, RTM_NEWLINK);
	CHECK_EQ_INT(q.h.nlmsg_flags, NLM_F_REQUEST);
	CHECK_EQ_INT(q.h.nlmsg_len, NLMSG_LENGTH(sizeof *ifi));
	CHECK_EQ_INT(ifi->ifi_index, 3);
	CHECK_EQ_INT(ifi->ifi_flags, IFF_UP);
	CHECK_EQ_INT(ifi->ifi_change, IFF_UP);

	nl_msg_link_dump(&q);
	CHECK_EQ_INT(q.h.nlmsg_type, RTM_GETLINK);
	CHECK_EQ_INT(q.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);

	nl_msg_link_move(&q, 4, 9, "eth1");
	const struct rtattr *a = attr(&q, sizeof *ifi, IFLA_NET_NS_FD);
	CHECK(a);
	CHECK_EQ_INT(attr_u32(a), 9);
	CHECK((a = attr(&q, sizeof *ifi, IFLA_IFNAME)));
	CHECK_STR((const char *)RTA_DATA(a), "eth1");
	nl_msg_link_move(&q, 4, 9, NULL);
	CHECK(!attr(&q, sizeof *ifi, IFLA_IFNAME));

	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	nl_msg_link_set(&q, 5, mac, 1400);
	CHECK((a = attr(&q, sizeof *ifi, IFLA_ADDRESS)));
	CHECK_EQ_INT(RTA_PAYLOAD(a), 6);
	CHECK(memcmp(RTA_DATA(a), mac, 6) == 0);
	CHECK((a = attr(&q, sizeof *ifi, IFLA_MTU)));
	CHECK_EQ_INT(attr_u32(a), 1400);
	return TEST_PASS;
}

static enum test_result test_addresses(void)
{
	struct nl_req q;
	struct husk_net_addr v4 = { .family = 4, .addr = { 10, 0, 0, 2 }, .prefix = 24 };
	nl_msg_add_addr(&q, 2, &v4);
	const struct ifaddrmsg *ifa = NLMSG_DATA(&q.h);
	CHECK_EQ_INT(q.h.nlmsg_type, RTM_NEWADDR);
	CHECK_EQ_INT(q.h.nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
	CHECK_EQ_INT(ifa->ifa_family, AF_INET);
	CHECK_EQ_INT(ifa->ifa_prefixlen, 24);
	CHECK_EQ_INT(ifa->ifa_index, 2);
	const struct rtattr *a = attr(&q, sizeof *ifa, IFA_LOCAL);
	CHECK(a && RTA_PAYLOAD(a) == 4 && !memcmp(RTA_DATA(a), v4.addr, 4));
	CHECK((a = attr(&q, sizeof *ifa, IFA_BROADCAST)));
	CHECK(!memcmp(RTA_DATA(a), (uint8_t[]){ 10, 0, 0, 255 }, 4));
	CHECK(!attr(&q, sizeof *ifa, IFA_FLAGS));
	/* /31 and /32 have no broadcast address */
	v4.prefix = 31;
	nl_msg_add_addr(&q, 2, &v4);
	CHECK(!attr(&q, sizeof *ifa, IFA_BROADCAST));
	v4.prefix = 0;
	nl_msg_add_addr(&q, 2, &v4);
	CHECK((a = attr(&q, sizeof *ifa, IFA_BROADCAST)));
	CHECK(!memcmp(RTA_DATA(a), (uint8_t[]){ 255, 255, 255, 255 }, 4));

	struct husk_net_addr v6 = { .family = 6, .prefix = 64 };
	inet_pton(AF_INET6, "fd00::2", v6.addr);
	nl_msg_add_addr(&q, 2, &v6);
	CHECK_EQ_INT(ifa->ifa_family, AF_INET6);
	CHECK((a = attr(&q, sizeof *ifa, IFA_ADDRESS)));
	CHECK(RTA_PAYLOAD(a) == 16 && !memcmp(RTA_DATA(a), v6.addr, 16));
	CHECK(!attr(&q, sizeof *ifa, IFA_BROADCAST));
	CHECK((a = attr(&q, sizeof *ifa, IFA_FLAGS)));
	CHECK_EQ_INT(attr_u32(a), IFA_F_NODAD);
	return TEST_PASS;
}

static enum test_result test_routes(void)
{
	struct nl_req q;
	struct husk_net_route def = {
		.family = 4, .dst_len = 0, .scope = RT_SCOPE_UNIVERSE, .has_gateway = true, .gateway = { 10, 0, 0, 1 }
	};
	nl_msg_add_route(&q, 2, &def);
	const struct rtmsg *rtm = NLMSG_DATA(&q.h);
	CHECK_EQ_INT(q.h.nlmsg_type, RTM_NEWROUTE);
	CHECK_EQ_INT(rtm->rtm_family, AF_INET);
	CHECK_EQ_INT(rtm->rtm_table, RT_TABLE_MAIN);
	CHECK_EQ_INT(rtm->rtm_type, RTN_UNICAST);
	CHECK_EQ_INT(rtm->rtm_protocol, RTPROT_BOOT);
	CHECK(!attr(&q, sizeof *rtm, RTA_DST)); /* the default route has no destination */
	CHECK(!attr(&q, sizeof *rtm, RTA_PRIORITY));
	const struct rtattr *a = attr(&q, sizeof *rtm, RTA_GATEWAY);
	CHECK(a && !memcmp(RTA_DATA(a), def.gateway, 4));
	CHECK((a = attr(&q, sizeof *rtm, RTA_OIF)));
	CHECK_EQ_INT(attr_u32(a), 2);

	struct husk_net_route net = {
		.family = 6, .dst_len = 48, .scope = RT_SCOPE_LINK, .metric = 100, .has_src = true
	};
	inet_pton(AF_INET6, "fd00:1::", net.dst);
	inet_pton(AF_INET6, "fd00::2", net.src);
	nl_msg_add_route(&q, 7, &net);
	CHECK_EQ_INT(rtm->rtm_family, AF_INET6);
	CHECK_EQ_INT(rtm->rtm_dst_len, 48);
	CHECK_EQ_INT(rtm->rtm_scope, RT_SCOPE_LINK);
	CHECK((a = attr(&q, sizeof *rtm, RTA_DST)));
	CHECK(RTA_PAYLOAD(a) == 16 && !memcmp(RTA_DATA(a), net.dst, 16));
	CHECK((a = attr(&q, sizeof *rtm, RTA_PREFSRC)));
	CHECK((a = attr(&q, sizeof *rtm, RTA_PRIORITY)));
	CHECK_EQ_INT(attr_u32(a), 100);
	CHECK(!attr(&q, sizeof *rtm, RTA_GATEWAY));
	return TEST_PASS;
}

static enum test_result test_attr_bounds(void)
{
	struct nl_req q;
	nl_req_init(&q, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	uint32_t before = q.h.nlmsg_len;
	static const char big[2048];
	nl_put_attr(&q, IFLA_IFALIAS, big, sizeof big); /* does not fit: dropped */
	CHECK_EQ_INT(q.h.nlmsg_len, before);
	nl_put_attr(&q, IFLA_IFALIAS, big, 3); /* padded to 4 */
	CHECK_EQ_INT(q.h.nlmsg_len, before + RTA_ALIGN(RTA_LENGTH(3)));
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "link requests: up, dump, move, MAC and MTU", test_links },
		{ "address requests: IPv4 broadcast, IPv6 without DAD", test_addresses },
		{ "route requests: default, prefix with source and metric", test_routes },
		{ "an attribute that does not fit is dropped; attributes are padded", test_attr_bounds },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
