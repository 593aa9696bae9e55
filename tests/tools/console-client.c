/* Test stand-in for conmon's console socket: listens on SOCKET, receives
 * the terminal master over SCM_RIGHTS, optionally resizes it and types
 * INPUT, then copies everything the container writes to stdout until the
 * terminal closes. Usage: console-client SOCKET [ROWS COLS [INPUT]] */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: console-client SOCKET [ROWS COLS [INPUT]]\n");
		return 2;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(argv[1]);
	if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(l, 1) < 0) {
		perror("console-client: listen");
		return 1;
	}
	int c = accept(l, NULL, NULL);
	char name[64];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf
	};
	if (c < 0 || recvmsg(c, &msg, 0) < 0) {
		perror("console-client: recvmsg");
		return 1;
	}
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "console-client: no fd received\n");
		return 1;
	}
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof master);
	if (!isatty(master)) {
		fprintf(stderr, "console-client: the received fd is not a terminal\n");
		return 1;
	}
	if (argc >= 4) {
		struct winsize ws = { .ws_row = (unsigned short)atoi(argv[2]),
				      .ws_col = (unsigned short)atoi(argv[3]) };
		ioctl(master, TIOCSWINSZ, &ws);
	}
	if (argc >= 5 && write(master, argv[4], strlen(argv[4])) < 0)
		perror("console-client: write");
	char buf[4096];
	for (;;) {
		ssize_t n = read(master, buf, sizeof buf);
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout);
	}
	return 0;
}
