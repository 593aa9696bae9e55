/* The container's network namespace on the host becomes the VM's NICs
 * (Kata's "tcfilter" model): for each ethernet interface in the netns the
 * spec names, a tap in that netns, the two joined by tc ingress qdiscs and
 * u32 filters whose mirred action redirects every frame to the other one;
 * the tap's fd goes to QEMU as a virtio-net device. Spare taps/NICs are
 * made at create for interfaces that appear before start (Docker 26+):
 * virtio-mmio has no hot-plug. All rtnetlink is libmnl; nothing shells out.
 *
 * What was set up is written to <state>/network.json at once, so delete
 * can undo it even after the monitor died (taps go with QEMU's fds; the tc
 * filters on the netns's interfaces would stay). */
#ifndef HUSK_HOST_NET_H
#define HUSK_HOST_NET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/netlink.h>

#include "common/err.h"
#include "proto/msg_network.h"

#define HUSK_NET_TAP_PREFIX "hsktap"
#define HUSK_NET_TC_PRIO 0x4855u /* the priority of husk's filters ("HU") */
#define HUSK_NET_SPARES_DEFAULT 2u
#define HUSK_NET_SPARES_MAX 8u

/* one interface of the netns joined to one tap */
struct husk_net_link {
	int ifindex;
	char name[16];
	bool qdisc_created; /* the interface's ingress qdisc is ours */
};

struct husk_net_tap {
	int fd; /* for QEMU; -1 once handed over and closed */
	int ifindex;
	char name[16];
	uint8_t dev_mac[6]; /* the virtio-net device's MAC */
	bool used;          /* joined to links[i] (same index) */
	bool qdisc_created;
};

struct husk_net {
	int netns_fd; /* -1: no network namespace, the VM has only lo */
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	char state_dir[PATH_MAX];
	struct husk_net_tap taps[HUSK_NET_MAX_IFACES];
	struct husk_net_link links[HUSK_NET_MAX_IFACES];
	unsigned n_taps;
};

/* --- net.c: the container's view --------------------------------------- */

/* Opens and checks the netns path (a network namespace; not the host's,
 * i.e. neither PID 1's nor the caller's; not one another husk container
 * uses or lives in). On success n->netns_fd holds it; the monitor then
 * enters it (setns) before it makes the VM, so that its pid's netns is the
 * container's. On failure nothing is open. */
int husk_net_open(struct husk_net *n, const char *netns_path, const char *state_dir, struct husk_err *err);
/* Makes the taps in n's netns (opened by husk_net_open; nothing to do if
 * none) and joins every interface there to one. out gets what the guest
 * configures. On failure nothing is left behind and n->netns_fd is closed. */
int husk_net_setup(struct husk_net *n, unsigned spares, struct husk_network *out, struct husk_err *err);
/* A pool VM's NICs (host/pool/pool_vm.c): count taps made in the caller's
 * network namespace (the pool monitor's own), with spare device MACs;
 * n->netns_fd is that namespace. Nothing is recorded: no state dir. */
int husk_net_pool_taps(struct husk_net *n, unsigned count, struct husk_err *err);
/* At adoption (husk create, host/container/container_pool.c): n opened by
 * husk_net_open; the pool VM's taps (name, ifindex in the namespace of
 * pool_netns_fd, device MAC; QEMU holds them) are moved into n's netns,
 * its interfaces joined to the first ones as husk_net_setup joins them,
 * the rest are spares for start; all of it in network.json. More
 * interfaces than taps: E2BIG. On failure nothing is left behind (the
 * taps moved are deleted: the VM is not used) and n->netns_fd is closed. */
int husk_net_adopt(struct husk_net *n, int pool_netns_fd, const struct husk_net_tap *taps, unsigned n_taps,
		   struct husk_network *out, struct husk_err *err);
/* At start, in the CLI: interfaces that appeared in the netns since create
 * (Docker 26+ adds them then) are joined to spare taps (made by the monitor
 * at create; QEMU holds them) and listed in added, n_ifaces 0 when none.
 * No spare left: a clear error. Works from network.json. */
int husk_net_start_body(const char *state_dir, struct husk_network *added, struct husk_err *err);
/* Closes the taps' fds (QEMU holds its own copies after spawning). */
void husk_net_close_taps(struct husk_net *n);
/* Removes the filters and qdiscs this container added, and its taps;
 * negative when the netns could not be reached. */
int husk_net_teardown(struct husk_net *n);
/* The same from <state_dir>/network.json (delete, after a monitor died);
 * a missing file is nothing to do. */
void husk_net_cleanup_dir(const char *state_dir);
/* "io.husk.net.spare_nics" or the default. */
int husk_net_spares(const char *annotation, unsigned *out, struct husk_err *err);

/* --- net_nl.c: rtnetlink over libmnl ----------------------------------- */
struct mnl_socket;
struct husk_nl {
	struct mnl_socket *sock;
	unsigned seq, portid;
};
typedef int (*husk_nl_cb)(const struct nlmsghdr *nlh, void *data);
/* A NETLINK_ROUTE socket in the netns of netns_fd (-1: the caller's). */
int husk_nl_open(struct husk_nl *nl, int netns_fd, struct husk_err *err);
void husk_nl_close(struct husk_nl *nl);
/* Sends nlh (seq filled here) and reads until the ACK or the end of the
 * dump, calling cb for each message. A netlink error is returned as -errno
 * without filling err, so callers can treat EEXIST/ENOENT as they need. */
int husk_nl_talk(struct husk_nl *nl, struct nlmsghdr *nlh, husk_nl_cb cb, void *data);
/* Runs fn with the calling thread in the netns, then back (no setns()
 * when the thread is there already). */
int husk_in_netns(int netns_fd, int (*fn)(void *arg), void *arg, struct husk_err *err);

/* --- net_scan.c -------------------------------------------------------- */
struct husk_net_found {
	int ifindex;
	char name[16];
	char kind[16]; /* IFLA_INFO_KIND, "" if none */
	uint8_t mac[6];
	uint32_t mtu;
};
/* The ethernet interfaces of the socket's netns (not lo, not tunnels). */
int husk_net_list_links(struct husk_nl *nl, struct husk_net_found *out, unsigned cap, unsigned *n,
			struct husk_err *err);
/* Addresses (not link-local) and main-table routes of one interface. */
int husk_net_read_config(struct husk_nl *nl, int ifindex, struct husk_net_iface *f, struct husk_err *err);

/* --- net_tc.c ---------------------------------------------------------- */
/* Adds an ingress qdisc (created: false when one was there) and husk's
 * filter redirecting all ingress frames to dst_ifindex's egress. -EBUSY
 * with a message when husk's filter is there already. */
int husk_tc_redirect(struct husk_nl *nl, int ifindex, int dst_ifindex, bool *created, struct husk_err *err);
/* Removes husk's filter, and the ingress qdisc if no filter is left on
 * it; missing things are fine. */
void husk_tc_unredirect(struct husk_nl *nl, int ifindex);
int husk_link_set(struct husk_nl *nl, int ifindex, uint32_t mtu, bool up, struct husk_err *err);
int husk_link_del(struct husk_nl *nl, int ifindex);
/* Moves link ifindex into the network namespace of netns_fd (-errno). */
int husk_link_move(struct husk_nl *nl, int ifindex, int netns_fd);

#endif
