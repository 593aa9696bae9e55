#include "host/state/unixsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_addr(struct sockaddr_un *addr, const char *path, struct husk_err *err)
{
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof addr->sun_path)
		return husk_err_set(err, ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(addr->sun_path, path);
	return 0;
}

int husk_unix_listen(const char *path, int backlog, struct husk_err *err)
{
	struct sockaddr_un addr;
	if (fill_addr(&addr, path, err) < 0)
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "listening on %s", path);
	}
	return fd;
}

int husk_unix_connect(const char *path, struct husk_err *err)
{
	struct sockaddr_un addr;
	if (fill_addr(&addr, path, err) < 0)
		return -ENAMETOOLONG;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "socket");
	int r;
	do
		r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "connecting to %s", path);
	}
	return fd;
}
