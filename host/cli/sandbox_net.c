/* --net nat for `husk sandbox run`: a network namespace husk makes for the
 * job (kept by a child of the CLI), a veth pair hsb<N> (host) / eth0 (the
 * namespace) with the /30 of slot N of 10.233.0.0/16, a default route to
 * the host's end and a masquerade rule (nft, else iptables) for what the
 * job sends elsewhere, FORWARD accepts for the veth in iptables' chain when
 * that may drop (Docker's DROP policy), and the job's resolv.conf
 * (sandbox_dns.c). The container layer then makes eth0 the VM's NIC
 * (docs/networking.md). Slots are picked under a lock from the links and
 * addresses the host has, so concurrent sandboxes never share one. */
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cli/sandbox_host.h"

#define ADDRS_MAX 4096
#define LINKS_MAX 4096

uint32_t husk_sb_net_addr(unsigned slot)
{
	return HUSK_SB_NET_BASE + 4u * slot;
}

void husk_sb_net_fmt(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

/* N of a link named "hsb<N>" (decimal, no leading zero), else -1 */
static long link_slot(const char *name)
{
	size_t plen = strlen(HUSK_SB_NET_IF_PREFIX);
	if (strncmp(name, HUSK_SB_NET_IF_PREFIX, plen) != 0)
		return -1;
	const char *d = name + plen;
	if (!*d || (d[0] == '0' && d[1]) || strspn(d, "0123456789") != strlen(d) || strlen(d) > 6)
		return -1;
	return strtol(d, NULL, 10);
}

int husk_sb_net_pick(const char *const *links, size_t n_links, const uint32_t *addrs, size_t n_addrs)
{
	static uint8_t used[HUSK_SB_NET_SLOTS / 8];
	memset(used, 0, sizeof used);
	for (size_t i = 0; i < n_links; i++) {
		long s = link_slot(links[i]);
		if (s >= 0 && s < (long)HUSK_SB_NET_SLOTS)
			used[s / 8] |= (uint8_t)(1u << (s % 8));
	}
	for (size_t i = 0; i < n_addrs; i++) {
		uint32_t off = addrs[i] - HUSK_SB_NET_BASE;
		if (addrs[i] >= HUSK_SB_NET_BASE && off < 4u * HUSK_SB_NET_SLOTS)
			used[off / 32] |= (uint8_t)(1u << ((off / 4) % 8));
	}
	for (unsigned s = 0; s < HUSK_SB_NET_SLOTS; s++)
		if (!(used[s / 8] & (1u << (s % 8))))
			return (int)s;
	return -ENOSPC;
}

/* the slot for now: the host's links and IPv4 addresses (under the lock) */
static int pick_now(struct husk_err *err)
{
	struct ifaddrs *ifa;
	static const char *links[LINKS_MAX];
	static uint32_t addrs[ADDRS_MAX];
	size_t nl = 0, na = 0;
	if (getifaddrs(&ifa) < 0)
		return husk_err_sys(err, errno, "--net nat: listing the host's interfaces");
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (nl < LINKS_MAX && i->ifa_name)
			links[nl++] = i->ifa_name;
		if (na < ADDRS_MAX && i->ifa_addr && i->ifa_addr->sa_family == AF_INET)
			addrs[na++] = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
	}
	int slot = husk_sb_net_pick(links, nl, addrs, na);
	freeifaddrs(ifa);
	if (slot < 0)
		return husk_err_set(err, ENOSPC, "--net nat: all %u address slots of 10.233.0.0/16 are in use",
				    HUSK_SB_NET_SLOTS);
	return slot;
}

/* A child in a new network namespace, alive until killed (or its parent
 * dies): the namespace lives as long as it, /proc/<pid>/ns/net names it. */
static int start_holder(struct husk_sb_net *n, int lock_fd, struct husk_err *err)
{
	int p[2];
	pid_t parent = getpid();
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "--net nat: pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return husk_err_sys(err, errno, "--net nat: fork");
	}
	if (pid == 0) {
		close(p[0]);
		close(lock_fd); /* the lock is the parent's alone */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "husk-sb-netns");
		int null = open("/dev/null", O_RDWR);
		if (getppid() != parent || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(1);
		char r = unshare(CLONE_NEWNET) == 0 ? 0 : (char)errno;
		if (write(p[1], &r, 1) != 1 || r)
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	char r = 1;
	ssize_t got = read(p[0], &r, 1);
	close(p[0]);
	n->holder = pid;
	if (got != 1 || r)
		return husk_err_sys(err, got == 1 ? r : EIO, "--net nat: a network namespace");
	snprintf(n->netns, sizeof n->netns, "/proc/%d/ns/net", (int)pid);
	return 0;
}

static int run(const char *netns, char *const argv[], struct husk_err *err)
{
	struct husk_err e = { 0 };
	int rc = husk_sb_cmd(netns, argv, NULL, 0, &e);
	if (rc != 0)
		return husk_err_set(err, rc < 0 ? -rc : EIO, "--net nat: %s", e.msg);
	return 0;
}

static int make_links(struct husk_sb_net *n, struct husk_err *err)
{
	char net[16], host[16], job[16], pid[16], host_cidr[24], job_cidr[24];
	uint32_t a = husk_sb_net_addr((unsigned)n->slot);
	husk_sb_net_fmt(a, net);
	husk_sb_net_fmt(a + 1, host);
	husk_sb_net_fmt(a + 2, job);
	snprintf(host_cidr, sizeof host_cidr, "%s/30", host);
	snprintf(job_cidr, sizeof job_cidr, "%s/30", job);
	snprintf(pid, sizeof pid, "%d", (int)n->holder);
	char *const add[] = { "ip",   "link", "add",  n->host_if, "type", "veth",
			      "peer", "name", "eth0", "netns",    pid,    NULL };
	char *const host_addr[] = { "ip", "addr", "add", host_cidr, "dev", n->host_if, NULL };
	char *const host_up[] = { "ip", "link", "set", n->host_if, "up", NULL };
	char *const job_addr[] = { "ip", "addr", "add", job_cidr, "dev", "eth0", NULL };
	char *const job_up[] = { "ip", "link", "set", "eth0", "up", NULL };
	char *const route[] = { "ip", "route", "add", "default", "via", host, NULL };
	int r = run(NULL, add, err);
	if (r == 0)
		r = run(NULL, host_addr, err);
	if (r == 0)
		r = run(NULL, host_up, err);
	if (r == 0)
		r = run(n->netns, job_addr, err);
	if (r == 0)
		r = run(n->netns, job_up, err);
	if (r == 0)
		r = run(n->netns, route, err);
	return r;
}

/* the masquerade rule: an nft table of the slot's own, else an iptables
 * MASQUERADE rule; add: true to add, false to remove */
static int masquerade(struct husk_sb_net *n, bool add, struct husk_err *err)
{
	char net[16], cidr[24], script[512];
	husk_sb_net_fmt(husk_sb_net_addr((unsigned)n->slot), net);
	snprintf(cidr, sizeof cidr, "%s/30", net);
	if (n->nft) {
		/* "add; delete; add" replaces one a keeper killed outright left */
		if (add)
			snprintf(script, sizeof script,
				 "add table ip husk_sb_%d; delete table ip husk_sb_%d; add table ip husk_sb_%d; "
				 "add chain ip husk_sb_%d post { type nat hook postrouting priority srcnat; }; "
				 "add rule ip husk_sb_%d post ip saddr %s oifname != \"%s\" masquerade",
				 n->slot, n->slot, n->slot, n->slot, n->slot, cidr, n->host_if);
		else
			snprintf(script, sizeof script, "delete table ip husk_sb_%d", n->slot);
		char *const argv[] = { n->fw, script, NULL };
		return run(NULL, argv, err);
	}
	char *const argv[] = { n->fw, "-w", "-t",       "nat", add ? "-A" : "-D", "POSTROUTING", "-s", cidr,
			       "!",   "-o", n->host_if, "-j",  "MASQUERADE",      NULL };
	return run(NULL, argv, err);
}

/* an iptables FORWARD accept for the veth: in (-i hsb<N>) or back (-o
 * hsb<N>, related and established); add: -I (at the top), else -D */
static int forward(struct husk_sb_net *n, bool in, bool add, struct husk_err *err)
{
	char *op = add ? "-I" : "-D";
	char *const in_argv[] = { n->ipt, "-w", op, "FORWARD", "-i", n->host_if, "-j", "ACCEPT", NULL };
	char *const back_argv[] = { n->ipt,     "-w",     op,          "FORWARD",   "-o",
				    n->host_if, "-m",     "conntrack", "--ctstate", "RELATED,ESTABLISHED",
				    "-j",       "ACCEPT", NULL };
	return run(NULL, in ? in_argv : back_argv, err);
}

/* Whether iptables' FORWARD chain may drop the job's traffic: anything
 * but a bare ACCEPT policy (Docker's is DROP). A separate nft table cannot
 * override a drop in another table's chain at the same hook, so the
 * accepts go into that chain itself. A bare chain is left alone: adding
 * to it would make the filter table where there was none. */
static bool forward_may_drop(struct husk_sb_net *n)
{
	char out[64];
	struct husk_err ignore = { 0 };
	char *const argv[] = { n->ipt, "-w", "-S", "FORWARD", NULL };
	int r = husk_sb_cmd(NULL, argv, out, sizeof out, &ignore);
	return r != 0 || strcmp(out, "-P FORWARD ACCEPT\n") != 0;
}

/* each part marked as added only once its command succeeded (each is a
 * single rule or one nft transaction): teardown removes exactly those */
#define STALE_MAX 16

/* iptables rules for hsb<N> a keeper killed outright left (the link did
 * not exist, so no live sandbox has them): deleted, as nft's "add; delete;
 * add" replaces its table */
static void drop_stale(struct husk_sb_net *n)
{
	struct husk_err ignore = { 0 };
	for (int i = 0; i < STALE_MAX && forward(n, true, false, &ignore) == 0; i++)
		;
	for (int i = 0; i < STALE_MAX && forward(n, false, false, &ignore) == 0; i++)
		;
	for (int i = 0; !n->nft && i < STALE_MAX && masquerade(n, false, &ignore) == 0; i++)
		;
}

static int firewall_add(struct husk_sb_net *n, struct husk_err *err)
{
	if (n->ipt[0])
		drop_stale(n);
	int r = masquerade(n, true, err);
	if (r < 0)
		return r;
	n->nat_added = true;
	if (!n->ipt[0] || !forward_may_drop(n))
		return 0;
	r = forward(n, true, true, err);
	if (r < 0)
		return r;
	n->fwd_in = true;
	r = forward(n, false, true, err);
	if (r < 0)
		return r;
	n->fwd_back = true;
	return 0;
}

static void firewall_remove(struct husk_sb_net *n)
{
	struct husk_err ignore = { 0 };
	if (n->fwd_back)
		forward(n, false, false, &ignore);
	if (n->fwd_in)
		forward(n, true, false, &ignore);
	if (n->nat_added)
		masquerade(n, false, &ignore);
	n->fwd_back = n->fwd_in = n->nat_added = false;
}

/* IPv4 forwarding on the host, as Docker and Podman turn it on */
static int forwarding(struct husk_err *err)
{
	const char *path = "/proc/sys/net/ipv4/ip_forward";
	char c = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "--net nat: %s", path);
	ssize_t n = read(fd, &c, 1);
	int r = 0;
	if (n == 1 && c == '0' && pwrite(fd, "1\n", 2, 0) != 2)
		r = husk_err_sys(err, errno, "--net nat: turning on %s", path);
	close(fd);
	return r;
}

int husk_sb_net_setup(struct husk_sb_net *n, struct husk_err *err)
{
	char ip[PATH_MAX];
	struct husk_sb_net_opts opts = n->opts;
	memset(n, 0, sizeof *n);
	n->opts = opts;
	n->slot = -1;
	if (!husk_sb_find_tool("ip", ip, sizeof ip))
		return husk_err_set(err, ENOENT, "--net nat needs ip (iproute2), which is not installed");
	husk_sb_find_tool("iptables", n->ipt, sizeof n->ipt);
	n->nft = husk_sb_find_tool("nft", n->fw, sizeof n->fw);
	if (!n->nft && n->ipt[0])
		snprintf(n->fw, sizeof n->fw, "%s", n->ipt);
	if (!n->fw[0])
		return husk_err_set(
			err, ENOENT,
			"--net nat needs nft (nftables) or iptables for its masquerade rule; neither is installed");
	int r = forwarding(err);
	if (r < 0)
		return r;
	mkdir("/run/lock", 0755);
	int lock = open(HUSK_SB_NET_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		r = husk_err_sys(err, errno, "--net nat: locking %s", HUSK_SB_NET_LOCK);
		if (lock >= 0)
			close(lock);
		return r;
	}
	int slot = pick_now(err);
	if (slot < 0) {
		close(lock);
		return slot;
	}
	n->slot = slot;
	snprintf(n->host_if, sizeof n->host_if, HUSK_SB_NET_IF_PREFIX "%d", slot);
	r = start_holder(n, lock, err);
	if (r == 0)
		r = make_links(n, err);
	close(lock); /* hsb<slot> exists now (or nothing does) */
	if (r == 0)
		r = firewall_add(n, err);
	if (r == 0)
		r = husk_sb_resolv_make(n, err);
	if (r < 0)
		husk_sb_net_teardown(n);
	return r;
}

void husk_sb_net_teardown(struct husk_sb_net *n)
{
	struct husk_err ignore = { 0 };
	if (n->slot < 0)
		return;
	husk_sb_resolv_remove(n);
	firewall_remove(n);
	char *const del[] = { "ip", "link", "del", n->host_if, NULL };
	husk_sb_cmd(NULL, del, NULL, 0, &ignore); /* both ends; absent when setup failed early */
	if (n->holder > 0) {
		kill(n->holder, SIGKILL);
		while (waitpid(n->holder, NULL, 0) < 0 && errno == EINTR)
			;
	}
	n->holder = 0;
	n->slot = -1;
}
