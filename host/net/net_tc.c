/* tc over rtnetlink: an ingress qdisc and a u32 filter matching every
 * frame (u32 "match u8 0 0") whose mirred action redirects it to another
 * interface's egress, as `tc filter add dev A parent ffff: protocol all
 * u32 match u8 0 0 action mirred egress redirect dev B` does. u32, not
 * matchall: some kernels (this test host's among them) lack matchall. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <string.h>

#include "host/net/net.h"

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0) /* ffff: */

static struct tcmsg *tc_header(char *buf, uint16_t type, uint16_t flags, int ifindex, struct nlmsghdr **nlh)
{
	*nlh = mnl_nlmsg_put_header(buf);
	(*nlh)->nlmsg_type = type;
	(*nlh)->nlmsg_flags = NLM_F_REQUEST | flags;
	struct tcmsg *t = mnl_nlmsg_put_extra_header(*nlh, sizeof *t);
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	return t;
}

static int qdisc(struct husk_nl *nl, int ifindex, bool add)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *t =
		tc_header(buf, add ? RTM_NEWQDISC : RTM_DELQDISC, add ? NLM_F_CREATE | NLM_F_EXCL : 0, ifindex, &nlh);
	t->tcm_handle = INGRESS_HANDLE;
	t->tcm_parent = TC_H_INGRESS;
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	return husk_nl_talk(nl, nlh, NULL, NULL);
}

struct find_ctx {
	bool found, any;
};

static int on_filter(const struct nlmsghdr *nlh, void *data)
{
	struct find_ctx *c = data;
	const struct tcmsg *t = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type != RTM_NEWTFILTER || mnl_nlmsg_get_payload_len(nlh) < sizeof *t)
		return MNL_CB_OK;
	c->any = true;
	if (TC_H_MAJ(t->tcm_info) >> 16 == HUSK_NET_TC_PRIO)
		c->found = true;
	return MNL_CB_OK;
}

static int has_husk_filter(struct husk_nl *nl, int ifindex, bool *found, bool *any)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *t = tc_header(buf, RTM_GETTFILTER, NLM_F_DUMP, ifindex, &nlh);
	t->tcm_parent = INGRESS_HANDLE;
	struct find_ctx c = { 0 };
	int r = husk_nl_talk(nl, nlh, on_filter, &c);
	*found = c.found;
	if (any)
		*any = c.any;
	return r;
}

static int add_filter(struct husk_nl *nl, int ifindex, int dst_ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *t = tc_header(buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, ifindex, &nlh);
	t->tcm_parent = INGRESS_HANDLE;
	t->tcm_info = TC_H_MAKE((uint32_t)HUSK_NET_TC_PRIO << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} s;
	memset(&s, 0, sizeof s);
	s.sel.flags = TC_U32_TERMINAL;
	s.sel.nkeys = 1; /* one key, mask 0 at offset 0: every frame matches */
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof s, &s);
	struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	struct nlattr *act = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	struct nlattr *aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	struct tc_mirred m;
	memset(&m, 0, sizeof m);
	m.action = TC_ACT_STOLEN;
	m.eaction = TCA_EGRESS_REDIR;
	m.ifindex = (uint32_t)dst_ifindex;
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof m, &m);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return husk_nl_talk(nl, nlh, NULL, NULL);
}

static int del_filter(struct husk_nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *t = tc_header(buf, RTM_DELTFILTER, 0, ifindex, &nlh);
	t->tcm_parent = INGRESS_HANDLE;
	t->tcm_info = TC_H_MAKE((uint32_t)HUSK_NET_TC_PRIO << 16, htons(ETH_P_ALL));
	return husk_nl_talk(nl, nlh, NULL, NULL);
}

static const char *ifname(int ifindex, char *buf)
{
	snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

int husk_tc_redirect(struct husk_nl *nl, int ifindex, int dst_ifindex, bool *created, struct husk_err *err)
{
	char nb[IF_NAMESIZE];
	bool found = false;
	int r = qdisc(nl, ifindex, true);
	*created = r == 0;
	if (r < 0 && r != -EEXIST)
		return husk_err_sys(err, -r, "adding an ingress qdisc to interface %s", ifname(ifindex, nb));
	if (!*created) {
		r = has_husk_filter(nl, ifindex, &found, NULL);
		if (r < 0)
			return husk_err_sys(err, -r, "listing the filters of interface %s", ifname(ifindex, nb));
		if (found)
			return husk_err_set(err, EBUSY,
					    "interface %s already carries a husk VM's filter: another husk container "
					    "uses this network namespace",
					    ifname(ifindex, nb));
	}
	r = add_filter(nl, ifindex, dst_ifindex);
	if (r < 0) {
		if (*created)
			qdisc(nl, ifindex, false);
		*created = false;
		return husk_err_sys(err, -r, "adding the redirect filter (u32 + mirred) to interface %s",
				    ifname(ifindex, nb));
	}
	return 0;
}

void husk_tc_unredirect(struct husk_nl *nl, int ifindex)
{
	bool found, any = true;
	del_filter(nl, ifindex);
	/* an ingress qdisc left without filters goes too: whether it was ours
	 * is lost if the monitor died between adding it and recording that */
	if (has_husk_filter(nl, ifindex, &found, &any) == 0 && !any)
		qdisc(nl, ifindex, false);
}

/* An RTM_NEWLINK request changing link ifindex, built in buf. */
static struct nlmsghdr *newlink_request(char *buf, int ifindex, struct ifinfomsg **ifi_out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (ifi_out)
		*ifi_out = ifi;
	return nlh;
}

/* No IPv6 link-local address on a tap: the netns's own stack would
 * otherwise send router solicitations and MLD reports from it into the VM.
 * Best effort (a host without IPv6 refuses the attribute). */
static void no_ipv6_ll(struct husk_nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = newlink_request(buf, ifindex, NULL);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, in6);
	mnl_attr_nest_end(nlh, spec);
	husk_nl_talk(nl, nlh, NULL, NULL);
}

int husk_link_set(struct husk_nl *nl, int ifindex, uint32_t mtu, bool up, struct husk_err *err)
{
	if (up)
		no_ipv6_ll(nl, ifindex);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh = newlink_request(buf, ifindex, &ifi);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	int r = husk_nl_talk(nl, nlh, NULL, NULL);
	if (r < 0)
		return husk_err_sys(err, -r, "setting up interface #%d (mtu %u)", ifindex, mtu);
	return 0;
}

int husk_link_del(struct husk_nl *nl, int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return husk_nl_talk(nl, nlh, NULL, NULL);
}

int husk_link_move(struct husk_nl *nl, int ifindex, int netns_fd)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = newlink_request(buf, ifindex, NULL);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return husk_nl_talk(nl, nlh, NULL, NULL);
}
