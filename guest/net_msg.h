/* rtnetlink requests, built in a fixed buffer (net_msg.c: no syscalls, so
 * host-run unit tests cover them, tests/unit/test_guest_net.c). net.c sends
 * them. Include after <net/if.h> (see net.c). */
#ifndef HUSK_GUEST_NET_MSG_H
#define HUSK_GUEST_NET_MSG_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg_network.h"

struct nl_req {
	struct nlmsghdr h;
	char payload[1024];
};

/* the header and a zeroed family header of hdr_len bytes, which it returns */
void *nl_req_init(struct nl_req *q, uint16_t type, uint16_t flags, size_t hdr_len);
/* an attribute; one that would not fit is dropped (requests here are small) */
void nl_put_attr(struct nl_req *q, uint16_t type, const void *data, size_t len);
void nl_put_u32(struct nl_req *q, uint16_t type, uint32_t v);

/* RTM_NEWLINK: set flags under change */
void nl_msg_link_change(struct nl_req *q, int ifindex, unsigned flags, unsigned change);
/* RTM_GETLINK dump */
void nl_msg_link_dump(struct nl_req *q);
/* RTM_NEWLINK: into the netns of ns_fd, under name (NULL: keep it) */
void nl_msg_link_move(struct nl_req *q, int ifindex, int ns_fd, const char *name);
/* RTM_NEWLINK: MAC and MTU */
void nl_msg_link_set(struct nl_req *q, int ifindex, const uint8_t mac[6], uint32_t mtu);
/* RTM_NEWADDR, with the broadcast address for IPv4 below /31, no DAD for IPv6 */
void nl_msg_add_addr(struct nl_req *q, int ifindex, const struct husk_net_addr *ad);
/* RTM_NEWROUTE in the main table, through ifindex */
void nl_msg_add_route(struct nl_req *q, int ifindex, const struct husk_net_route *rt);

#endif
