/* rtnetlink requests over libmnl, in a chosen network namespace. */
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/net/net.h"

int husk_in_netns(int netns_fd, int (*fn)(void *arg), void *arg, struct husk_err *err)
{
	if (netns_fd < 0)
		return fn(arg);
	_cleanup_close_ int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return husk_err_sys(err, errno, "opening this thread's network namespace");
	/* already there (a container's monitor lives in its netns): nothing
	 * to enter, and no setns() for the confined monitor to need */
	struct stat cur, want;
	if (fstat(self, &cur) == 0 && fstat(netns_fd, &want) == 0 && cur.st_dev == want.st_dev &&
	    cur.st_ino == want.st_ino)
		return fn(arg);
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return husk_err_sys(err, errno, "entering the container's network namespace");
	int r = fn(arg);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* cannot happen short of a kernel bug; staying there would be wrong */
		abort();
	}
	return r;
}

static int open_sock(void *arg)
{
	struct husk_nl *nl = arg;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl->sock);
		nl->sock = NULL;
		return -e;
	}
	return 0;
}

int husk_nl_open(struct husk_nl *nl, int netns_fd, struct husk_err *err)
{
	memset(nl, 0, sizeof *nl);
	int r = husk_in_netns(netns_fd, open_sock, nl, err);
	if (r < 0)
		return husk_err_is_set(err) ? r : husk_err_sys(err, -r, "rtnetlink socket");
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	/* a dump of a busy netns must not be cut: ask for strict checking
	 * where the kernel has it, and the full error messages */
	int one = 1;
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof one);
	return 0;
}

void husk_nl_close(struct husk_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

int husk_nl_talk(struct husk_nl *nl, struct nlmsghdr *nlh, husk_nl_cb cb, void *data)
{
	static char buf[32768];
	nlh->nlmsg_seq = ++nl->seq;
	/* not a dump (RTM_GET* are 2 mod 4): ask for the ACK. NLM_F_DUMP
	 * shares its bits with NLM_F_EXCL/REPLACE, so the type decides */
	if ((nlh->nlmsg_type & 3) != 2)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof buf);
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		int r = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, data);
		if (r == MNL_CB_STOP)
			return 0;
		if (r < 0)
			return -errno;
	}
}
