/* The guest's NICs, configured over raw rtnetlink (no libmnl in the static
 * PID 1). At boot: lo up, and every ethernet NIC moved into a "parking"
 * network namespace, so the container sees only the NICs it was given
 * (spares made for interfaces that may appear before start stay out of
 * sight). A NETWORK entry then brings its NIC — found by the MAC QEMU gave
 * it — back under its name and sets MAC, MTU, addresses and routes. */
/* before the linux headers: libc-compat.h then leaves struct ifreq to libc */
#include <net/if.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/msg_network.h"
#include "guest/guest.h"
#include "guest/net_msg.h"

#define NL_BUF 8192
#define MAX_PARKED 32

static int main_nl = -1; /* rtnetlink in PID 1's (the container's) netns */
static int park_nl = -1; /* rtnetlink in the parking netns */
static int main_ns = -1;

typedef void (*nl_cb)(const struct nlmsghdr *h, void *arg);

/* Sends a request and reads to its ACK (or the end of a dump): -errno. */
static int nl_talk(int fd, struct nl_req *q, nl_cb cb, void *arg)
{
	static uint32_t seq;
	static char buf[NL_BUF] __attribute__((aligned(4)));
	q->h.nlmsg_seq = ++seq;
	/* not a dump (RTM_GET* are 2 mod 4): ask for the ACK. NLM_F_DUMP
	 * shares its bits with NLM_F_EXCL/REPLACE, so the type decides */
	if ((q->h.nlmsg_type & 3) != 2)
		q->h.nlmsg_flags |= NLM_F_ACK;
	if (send(fd, q, q->h.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		size_t len = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
					return -EBADMSG;
				return e->error; /* 0: the ACK */
			}
			if (cb)
				cb(h, arg);
		}
	}
}

static int nl_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int link_change(int fd, int ifindex, unsigned flags, unsigned change)
{
	struct nl_req q;
	nl_msg_link_change(&q, ifindex, flags, change);
	return nl_talk(fd, &q, NULL, NULL);
}

/* --- the links of a netns ----------------------------------------------- */

struct link_info {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t perm[6], addr[6];
	bool has_perm;
};

struct links {
	struct link_info v[MAX_PARKED];
	unsigned n;
};

static void on_link(const struct nlmsghdr *h, void *arg)
{
	struct links *ls = arg;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof *ifi))
		return;
	if (ifi->ifi_type != ARPHRD_ETHER || (ifi->ifi_flags & IFF_LOOPBACK) || ls->n == MAX_PARKED)
		return;
	struct link_info *l = &ls->v[ls->n];
	memset(l, 0, sizeof *l);
	l->ifindex = ifi->ifi_index;
	size_t len = h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi);
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t plen = RTA_PAYLOAD(a);
		if (a->rta_type == IFLA_IFNAME && plen > 0)
			snprintf(l->name, sizeof l->name, "%.*s", (int)plen, (const char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_ADDRESS && plen == 6)
			memcpy(l->addr, RTA_DATA(a), 6);
		else if (a->rta_type == IFLA_PERM_ADDRESS && plen == 6) {
			memcpy(l->perm, RTA_DATA(a), 6);
			l->has_perm = true;
		}
	}
	ls->n++;
}

static int list_links(int fd, struct links *ls)
{
	struct nl_req q;
	nl_msg_link_dump(&q);
	ls->n = 0;
	return nl_talk(fd, &q, on_link, ls);
}

/* --- boot --------------------------------------------------------------- */

int net_boot(struct husk_err *err)
{
	int r;
	main_nl = nl_socket();
	if (main_nl < 0)
		return husk_err_sys(err, -main_nl, "rtnetlink socket");
	if ((r = link_change(main_nl, 1, IFF_UP, IFF_UP)) < 0)
		return husk_err_sys(err, -r, "bringing lo up");
	/* the parking netns: made, a socket opened in it, and back */
	main_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (main_ns < 0)
		return husk_err_sys(err, errno, "opening PID 1's network namespace");
	if (unshare(CLONE_NEWNET) < 0)
		return husk_err_sys(err, errno, "creating the NIC parking namespace");
	int park_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	park_nl = nl_socket();
	int e = errno;
	if (setns(main_ns, CLONE_NEWNET) < 0) {
		GLOG_ERR("cannot return to PID 1's network namespace: %m");
		guest_poweroff("network set-up failed");
	}
	if (park_ns < 0 || park_nl < 0) {
		if (park_ns >= 0)
			close(park_ns);
		return husk_err_sys(err, e, "the NIC parking namespace");
	}
	static struct links ls;
	if ((r = list_links(main_nl, &ls)) < 0) {
		close(park_ns);
		return husk_err_sys(err, -r, "listing the NICs");
	}
	for (unsigned i = 0; i < ls.n; i++) {
		struct nl_req q;
		nl_msg_link_move(&q, ls.v[i].ifindex, park_ns, NULL);
		if ((r = nl_talk(main_nl, &q, NULL, NULL)) < 0)
			GLOG_ERR("parking NIC %s: %s", ls.v[i].name, strerror(-r));
	}
	close(park_ns);
	return 0;
}

/* --- one interface -------------------------------------------------------- */

static const char *ip_str(uint8_t family, const uint8_t *ip, char *buf, size_t cap)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, ip, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}

static int add_addr(int ifindex, const struct husk_net_iface *f, const struct husk_net_addr *ad, struct husk_err *err)
{
	struct nl_req q;
	char ip[64];
	nl_msg_add_addr(&q, ifindex, ad);
	int r = nl_talk(main_nl, &q, NULL, NULL);
	if (r < 0)
		return husk_err_sys(err, -r, "%s: adding address %s/%u", f->name,
				    ip_str(ad->family, ad->addr, ip, sizeof ip), ad->prefix);
	return 0;
}

static int add_route(int ifindex, const struct husk_net_iface *f, const struct husk_net_route *rt, struct husk_err *err)
{
	struct nl_req q;
	char ip[64], gw[64];
	nl_msg_add_route(&q, ifindex, rt);
	int r = nl_talk(main_nl, &q, NULL, NULL);
	if (r < 0)
		return husk_err_sys(err, -r, "%s: adding route %s/%u%s%s", f->name,
				    ip_str(rt->family, rt->dst, ip, sizeof ip), rt->dst_len,
				    rt->has_gateway ? " via " : "",
				    rt->has_gateway ? ip_str(rt->family, rt->gateway, gw, sizeof gw) : "");
	return 0;
}

static const struct link_info *find_link(const struct links *ls, const uint8_t *mac)
{
	for (unsigned i = 0; i < ls->n; i++)
		if (!memcmp(ls->v[i].has_perm ? ls->v[i].perm : ls->v[i].addr, mac, 6))
			return &ls->v[i];
	return NULL;
}

static int configure(const struct husk_net_iface *f, struct husk_err *err)
{
	static struct links ls;
	struct nl_req q;
	int r;
	if ((r = list_links(park_nl, &ls)) < 0)
		return husk_err_sys(err, -r, "listing the spare NICs");
	const struct link_info *l = find_link(&ls, f->dev_mac);
	if (!l)
		return husk_err_set(err, ENODEV, "%s: no free NIC with MAC %02x:%02x:%02x:%02x:%02x:%02x in the VM",
				    f->name, f->dev_mac[0], f->dev_mac[1], f->dev_mac[2], f->dev_mac[3], f->dev_mac[4],
				    f->dev_mac[5]);
	/* back from the parking netns, under its name */
	nl_msg_link_move(&q, l->ifindex, main_ns, f->name);
	if ((r = nl_talk(park_nl, &q, NULL, NULL)) < 0)
		return husk_err_sys(err, -r, "%s: moving the NIC into the container's network", f->name);
	int ifindex = (int)if_nametoindex(f->name);
	if (ifindex <= 0)
		return husk_err_sys(err, errno, "%s: the NIC is not there after the move", f->name);
	nl_msg_link_set(&q, ifindex, f->mac, f->mtu);
	if ((r = nl_talk(main_nl, &q, NULL, NULL)) < 0)
		return husk_err_sys(err, -r, "%s: setting MAC and MTU %u", f->name, f->mtu);
	if ((r = link_change(main_nl, ifindex, IFF_UP, IFF_UP)) < 0)
		return husk_err_sys(err, -r, "%s: bringing it up", f->name);
	for (uint32_t i = 0; i < f->n_addrs; i++)
		if ((r = add_addr(ifindex, f, &f->addrs[i], err)) < 0)
			return r;
	for (uint32_t i = 0; i < f->n_routes; i++)
		if ((r = add_route(ifindex, f, &f->routes[i], err)) < 0)
			return r;
	GLOG_INFO("network: %s up with %u addresses, %u routes", f->name, f->n_addrs, f->n_routes);
	return 0;
}

int net_apply(const struct husk_network *n, struct husk_err *err)
{
	if (!n)
		return 0;
	if (main_nl < 0 || park_nl < 0)
		return husk_err_set(err, ENETDOWN, "the guest's network set-up failed at boot");
	for (uint32_t i = 0; i < n->n_ifaces; i++) {
		if (if_nametoindex(n->ifaces[i].name) > 0)
			return husk_err_set(err, EEXIST, "network: the guest has an interface %s already",
					    n->ifaces[i].name);
		int r = configure(&n->ifaces[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
