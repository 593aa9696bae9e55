#include "host/monitor/console.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/pty.h"

int husk_console_open(int *master, int *slave, uint16_t rows, uint16_t cols, struct husk_err *err)
{
	int r = husk_pty_open(master, slave, 0, rows, cols, err);
	if (r < 0)
		return r;
	struct termios t;
	if (tcgetattr(*slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(*slave, TCSANOW, &t);
	}
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
	int r = husk_fd_send(s, fd, "/dev/ptmx", err);
	if (r < 0)
		return husk_err_wrap(err, "console socket %s", socket_path);
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

int husk_console_raw(int fd, struct termios *saved)
{
	if (tcgetattr(fd, saved) < 0)
		return -errno;
	struct termios raw = *saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -errno;
	return 0;
}

void husk_console_restore(int fd, const struct termios *saved)
{
	/* what is queued for the terminal is written first */
	tcsetattr(fd, TCSADRAIN, saved);
}
