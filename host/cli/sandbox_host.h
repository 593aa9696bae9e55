/* What `husk sandbox run` sets up on the host around a job (docs/sandbox.md):
 * a local Podman image mounted as the rootfs (--image), a network
 * namespace with a veth and masquerade (--net nat). Each has a teardown
 * that the CLI calls on every way out (exit, --timeout, a signal). */
#ifndef HUSK_HOST_SANDBOX_HOST_H
#define HUSK_HOST_SANDBOX_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Runs argv (argv[0] found in $PATH, /usr/sbin, /sbin), in the network
 * namespace at netns unless NULL, stdin /dev/null, signals unblocked.
 * stdout goes to out (NUL-terminated, cut at out_cap; NULL: dropped).
 * Returns its exit status (128+N if killed), or a negative errno with err
 * set when it could not be run. A status other than 0 also fills err with
 * "<argv[0]>: <its last line on stderr>". */
int husk_sb_cmd(const char *netns, char *const argv[], char *out, size_t out_cap, struct husk_err *err);
/* The absolute path of the program name, or false (out empty). */
bool husk_sb_find_tool(const char *name, char *out, size_t cap);

/* --image: the image's id and where `podman image mount` put its root. */
struct husk_sb_image {
	char id[80];
	char path[PATH_MAX];
	bool mounted;
};
/* A name podman may look up: 1-255 printable characters, no leading '-'. */
bool husk_sb_image_name_valid(const char *name);
/* Resolves name in podman's local storage (its default, or what
 * CONTAINERS_STORAGE_CONF names) and mounts it; no registry is asked.
 * -ENOENT with "--image NAME: not a local Podman image (...)". */
int husk_sb_image_mount(struct husk_sb_image *im, const char *name, struct husk_err *err);
void husk_sb_image_unmount(struct husk_sb_image *im);

/* --net nat: slot i of 10.233.0.0/16 is the /30 10.233.0.0 + 4i: the
 * host's end of the veth (hsb<i>) is .1, the job's (eth0) .2. */
#define HUSK_SB_NET_BASE 0x0ae90000u /* 10.233.0.0 */
#define HUSK_SB_NET_SLOTS 16384u
#define HUSK_SB_NET_IF_PREFIX "hsb"
#define HUSK_SB_NET_LOCK "/run/lock/husk-sandbox-net.lock"

struct husk_sb_net {
	int slot;     /* -1: nothing set up */
	pid_t holder; /* a child that keeps the namespace, killed at teardown */
	char netns[64];
	char host_if[16];
	char fw[PATH_MAX]; /* nft or iptables */
	bool nft;
	bool fw_added;
};
/* The network address of slot i (host byte order). */
uint32_t husk_sb_net_addr(unsigned slot);
/* "a.b.c.d" of addr (host byte order) into out (16 bytes). */
void husk_sb_net_fmt(uint32_t addr, char out[16]);
/* The lowest slot neither named by a link "hsb<N>" in links nor
 * overlapping any address in addrs (IPv4, host byte order); -ENOSPC if
 * all are taken. */
int husk_sb_net_pick(const char *const *links, size_t n_links, const uint32_t *addrs, size_t n_addrs);
/* Makes the namespace, veth, addresses, default route and masquerade
 * rule (under HUSK_SB_NET_LOCK); on failure undoes what it made. */
int husk_sb_net_setup(struct husk_sb_net *n, struct husk_err *err);
void husk_sb_net_teardown(struct husk_sb_net *n);

#endif
