/* The container's network as the guest configures it: one entry per NIC
 * (an interface of the container's network namespace on the host, mirrored
 * to a virtio-net device), with its name, MAC, MTU, addresses and routes.
 *
 * Carried as "network" in CREATE (the interfaces that exist at create) and
 * in START (those that appeared since). dev_mac is the MAC QEMU gave the
 * virtio-net device, which the guest finds the NIC by; mac is the one the
 * NIC must have (the host interface's). Addresses and routes are raw bytes
 * (4 for IPv4, 16 for IPv6). The decoder checks everything, as everything
 * from the other side. */
#ifndef HUSK_PROTO_MSG_NETWORK_H
#define HUSK_PROTO_MSG_NETWORK_H

#include "proto/msg.h"

#define HUSK_NET_MAX_IFACES 16u
#define HUSK_NET_MAX_ADDRS 32u  /* per interface */
#define HUSK_NET_MAX_ROUTES 64u /* per interface */
#define HUSK_NET_IFNAME_MAX 15u /* IFNAMSIZ - 1 */
#define HUSK_NET_MTU_MIN 68u
#define HUSK_NET_MTU_MAX 65535u

struct husk_net_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t prefix; /* <= 32 or 128 */
	uint8_t addr[16];
};

struct husk_net_route {
	uint8_t family;  /* 4 or 6 */
	uint8_t dst_len; /* 0: the default route */
	uint8_t scope;   /* RT_SCOPE_*: 0 universe, 253 link */
	bool has_gateway, has_src;
	uint8_t dst[16], gateway[16], src[16];
	uint32_t metric;
};

struct husk_net_iface {
	char name[HUSK_NET_IFNAME_MAX + 1];
	uint8_t dev_mac[6]; /* the virtio-net device's MAC as QEMU set it */
	uint8_t mac[6];     /* the MAC the NIC gets */
	uint32_t mtu;
	struct husk_net_addr addrs[HUSK_NET_MAX_ADDRS];
	uint32_t n_addrs;
	struct husk_net_route routes[HUSK_NET_MAX_ROUTES];
	uint32_t n_routes;
};

struct husk_network {
	struct husk_net_iface ifaces[HUSK_NET_MAX_IFACES];
	uint32_t n_ifaces;
};

void husk_msg_encode_network(struct husk_cbor_enc *e, const struct husk_network *n);
/* out is allocated from the arena */
int husk_msg_decode_network(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_network **out,
			    struct husk_err *err);
/* The checks the decoder makes, for the host before it sends: unique valid
 * names (not "lo"), unicast MACs, unique device MACs, MTU in range,
 * prefixes within the family's length. */
int husk_network_validate(const struct husk_network *n, struct husk_err *err);
bool husk_net_ifname_valid(const char *name);

/* START's body: {} or {network: {...}} when interfaces appeared after
 * create; in a pod {ctr} names the container (written only when has_ctr). */
struct husk_start_msg {
	bool has_ctr;
	uint32_t ctr;                     /* < HUSK_POD_MAX */
	const struct husk_network *added; /* NULL or no interfaces: none */
};
void husk_msg_encode_start(struct husk_cbor_enc *e, const struct husk_start_msg *m);
int husk_msg_decode_start(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_start_msg *m,
			  struct husk_err *err);

#endif
