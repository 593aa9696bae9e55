#include "console.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../common/cleanup.h"

int husk_console_open(int *master, int *slave, uint16_t rows, uint16_t cols, struct husk_err *err)
{
	_cleanup_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return husk_err_sys(err, errno, "opening a pty");
	if (grantpt(m) < 0 || unlockpt(m) < 0)
		return husk_err_sys(err, errno, "unlocking the pty");
	char name[64];
	if (ptsname_r(m, name, sizeof name) != 0)
		return husk_err_sys(err, errno, "ptsname");
	_cleanup_close_ int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return husk_err_sys(err, errno, "opening %s", name);
	struct termios t;
	if (tcgetattr(s, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
	}
	if (rows && cols) {
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		ioctl(m, TIOCSWINSZ, &ws);
	}
	*master = steal_fd(m);
	*slave = steal_fd(s);
	return 0;
}

int husk_console_send(const char *socket_path, int fd, struct husk_err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(socket_path) >= sizeof addr.sun_path)
		return husk_err_set(err, ENAMETOOLONG, "console socket path %s is too long", socket_path);
	strcpy(addr.sun_path, socket_path);
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return husk_err_sys(err, errno, "socket");
	if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_err_sys(err, errno, "connecting to console socket %s", socket_path);
	/* the payload names the file, as runc's does */
	char name[] = "/dev/ptmx";
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	memset(&ctrl, 0, sizeof ctrl);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
			      .msg_controllen = sizeof ctrl.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	if (sendmsg(s, &msg, MSG_NOSIGNAL) < 0)
		return husk_err_sys(err, errno, "sending the terminal over %s", socket_path);
	return 0;
}

int husk_console_adopt(int slave, struct husk_err *err)
{
	if (setsid() < 0 && errno != EPERM)
		return husk_err_sys(err, errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return husk_err_sys(err, errno, "making the pty the controlling terminal");
	return 0;
}
