#include "common/pty.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int husk_pty_open(int *master, int *slave, int extra_flags, uint16_t rows, uint16_t cols, struct husk_err *err)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | extra_flags);
	if (m < 0)
		return husk_err_sys(err, errno, "opening /dev/ptmx");
	char name[64];
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof name) != 0) {
		int e = errno;
		close(m);
		return husk_err_sys(err, e, "unlocking the pty");
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = errno;
		close(m);
		return husk_err_sys(err, e, "opening %s", name);
	}
	if (rows && cols) {
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		ioctl(m, TIOCSWINSZ, &ws);
	}
	*master = m;
	*slave = s;
	return 0;
}

union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

int husk_fd_send(int sock, int fd, const char *payload, struct husk_err *err)
{
	union fd_cmsg ctrl;
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = strlen(payload) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf
	};
	memset(&ctrl, 0, sizeof ctrl);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return husk_err_sys(err, errno, "sending a file descriptor");
	return 0;
}

int husk_fd_recv(int sock, int flags, struct husk_err *err)
{
	union fd_cmsg ctrl;
	char payload[64];
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof payload };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf
	};
	if (recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC) <= 0)
		return husk_err_sys(err, errno ? errno : EPROTO, "receiving a file descriptor");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return husk_err_set(err, EPROTO, "no file descriptor was received");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}
