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

/* The job's /etc/resolv.conf (docs/sandbox.md): --dns IP... when given,
 * else the host's nameservers that the job can reach (not loopback, not
 * IPv6: the job has only IPv4), else HUSK_SB_DNS_DEFAULT; the host's
 * `search` and `options` lines in both cases. The host's file is
 * /etc/resolv.conf (then systemd-resolved's upstream one), or the file
 * HUSK_SB_RESOLV_ENV names (for tests). */
#define HUSK_SB_DNS_MAX 3  /* resolv.conf's MAXNS */
#define HUSK_SB_DNS_LEN 46 /* INET6_ADDRSTRLEN */
#define HUSK_SB_DNS_DEFAULT "8.8.8.8", "8.8.4.4"
#define HUSK_SB_RESOLV_ENV "HUSK_SANDBOX_RESOLV_CONF"
#define HUSK_SB_RUN_DIR "/run/husk-sandbox"
#define HUSK_SB_RESOLV_MAX 4096

/* what the caller sets before husk_sb_net_setup (kept by it) */
struct husk_sb_net_opts {
	char dns[HUSK_SB_DNS_MAX][HUSK_SB_DNS_LEN]; /* --dns, n_dns of them (0: the host's) */
	size_t n_dns;
};

struct husk_sb_net {
	struct husk_sb_net_opts opts;
	int slot;     /* -1: nothing set up */
	pid_t holder; /* a child that keeps the namespace, killed at teardown */
	char netns[64];
	char host_if[16];
	char fw[PATH_MAX];  /* nft, else iptables: the masquerade */
	char ipt[PATH_MAX]; /* iptables when installed ("" if not): FORWARD accepts */
	bool nft;
	/* what setup added, each undone by teardown */
	bool nat_added;        /* the nft table or the iptables MASQUERADE rule */
	bool fwd_in;           /* iptables -I FORWARD -i hsb<N> -j ACCEPT */
	bool fwd_back;         /* iptables -I FORWARD -o hsb<N> (related, established) */
	bool resolv_dir;       /* the directory of resolv below */
	char resolv[PATH_MAX]; /* the job's resolv.conf, HUSK_SB_RUN_DIR/net-<N>-<netns>/ ("": none) */
};
/* An address --dns takes: IPv4 dotted quad or IPv6, no zone, no prefix. */
bool husk_sb_dns_valid(const char *ip);
/* A nameserver of the host's the job can reach: valid, IPv4, not in
 * 127.0.0.0/8 (nor 0.0.0.0). */
bool husk_sb_dns_usable(const char *ip);
/* The job's resolv.conf from the host's (host_text, NULL: none) and the
 * --dns list (n_dns 0: the host's usable ones, at most HUSK_SB_DNS_MAX,
 * else the default) into out; -ENOSPC when it does not fit, -EINVAL for a
 * bad --dns entry. */
int husk_sb_resolv_text(const char *host_text, const char (*dns)[HUSK_SB_DNS_LEN], size_t n_dns, char *out, size_t cap);
/* Writes it at n->resolv (the host's file read now), sets n->resolv. */
int husk_sb_resolv_make(struct husk_sb_net *n, struct husk_err *err);
void husk_sb_resolv_remove(struct husk_sb_net *n);
/* The network address of slot i (host byte order). */
uint32_t husk_sb_net_addr(unsigned slot);
/* "a.b.c.d" of addr (host byte order) into out (16 bytes). */
void husk_sb_net_fmt(uint32_t addr, char out[16]);
/* The lowest slot neither named by a link "hsb<N>" in links nor
 * overlapping any address in addrs (IPv4, host byte order); -ENOSPC if
 * all are taken. */
int husk_sb_net_pick(const char *const *links, size_t n_links, const uint32_t *addrs, size_t n_addrs);
/* Makes the namespace, veth, addresses, default route, masquerade rule
 * (and with iptables installed, FORWARD accepts when that chain is not a
 * bare ACCEPT policy) under HUSK_SB_NET_LOCK, and the job's resolv.conf
 * from n->opts (set before, kept); on failure undoes what it made.
 * Teardown undoes exactly what setup added. */
int husk_sb_net_setup(struct husk_sb_net *n, struct husk_err *err);
void husk_sb_net_teardown(struct husk_sb_net *n);

/* What a sandbox needs on the host (--image, --net nat), made and kept by
 * its keeper (sandbox_keeper.c): a process of its own that undoes it all
 * once the container's monitor has ended and its caller has let go, or at
 * once on SIGTERM. */
struct husk_sb_host {
	struct husk_sb_image image; /* image.path: the rootfs */
	struct husk_sb_net net;     /* net.netns: the namespace's path */
};
struct husk_sb_keeper_opts {
	const char *image_name; /* NULL: no --image */
	bool nat;
	struct husk_sb_net_opts net; /* with nat: --dns */
	bool keep_stderr;            /* its teardown's complaints to our stderr (run), else nowhere (start) */
};
struct husk_sb_keeper {
	pid_t pid; /* 0: none */
	unsigned long long start_time;
	int ctl; /* our end of its control pipe; -1 once let go */
};
#define HUSK_SB_KEEPER_WAIT_MS 30000
/* Forks the keeper and waits for its set-up: host filled (paths for the
 * spec), or nothing left and err holding the reason. */
int husk_sb_keeper_start(const struct husk_sb_keeper_opts *o, struct husk_sb_keeper *k, struct husk_sb_host *host,
			 struct husk_err *err);
/* Hands it the container's monitor: it keeps everything until that
 * process has ended. */
int husk_sb_keeper_watch(struct husk_sb_keeper *k, pid_t monitor, struct husk_err *err);
/* Lets go of it (before a watch: it undoes everything and exits). */
void husk_sb_keeper_release(struct husk_sb_keeper *k);
/* Waits until the keeper (our child or not) has exited, SIGTERM at half of
 * timeout_ms; false if it is still there at timeout_ms. */
bool husk_sb_keeper_wait(pid_t pid, unsigned long long start_time, bool child, long timeout_ms);
/* Closes every fd from 3 up but those in keep (a process left behind must
 * hold none of its caller's pipes: a bats file waits for them). */
void husk_sb_close_fds_except(const int *keep, size_t n_keep);

#endif
