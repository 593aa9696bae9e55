/* PID 1 of the vsock echo check (tests/vsock/run-echo.sh): echoes one
 * vsock stream and powers the VM off.
 *   vsock.mode=listen   listen on port 1024, accept one connection
 *   vsock.mode=connect  connect to CID 2 port 1234
 *   vsock.conns=N       listen mode: serve N connections at once (one
 *                       process each), then power off
 * The socket is closed with SO_LINGER so the last bytes reach the host
 * (the back-end answers the final SHUTDOWN with RST once it delivered
 * everything) before reboot() throws the VM away. Static musl binary. */
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char cmdline[4096];

static void say(const char *what)
{
	char up[64] = { 0 };
	int f = open("/proc/uptime", O_RDONLY);
	if (f >= 0) {
		if (read(f, up, sizeof up - 1) < 0)
			up[0] = '\0';
		close(f);
	}
	char *sp = strchr(up, ' ');
	if (sp)
		*sp = '\0';
	printf("[guest] %s uptime=%s\n", what, up);
	fflush(stdout);
}

static void finish(void)
{
	say("exit");
	sync();
	reboot(RB_AUTOBOOT); /* with reboot=t and -no-reboot QEMU exits */
	for (;;)
		pause();
}

static long echo(int fd)
{
	static char buf[65536];
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		total += n;
		for (char *p = buf; n > 0;) {
			ssize_t w = write(fd, p, (size_t)n);
			if (w <= 0)
				return -1;
			p += w;
			n -= w;
		}
	}
	return total;
}

/* echoes until EOF, then closes with SO_LINGER so the last bytes reach the
 * host before anyone powers the VM off */
static void serve_one(int conn)
{
	long n = echo(conn);
	printf("[guest] echoed %ld bytes\n", n);
	fflush(stdout);
	struct linger lg = { .l_onoff = 1, .l_linger = 10 };
	setsockopt(conn, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(conn);
}

int main(void)
{
	mount("proc", "/proc", "proc", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	int c = open("/dev/console", O_RDWR);
	if (c >= 0) {
		dup2(c, 1);
		dup2(c, 2);
	}
	int f = open("/proc/cmdline", O_RDONLY);
	if (f >= 0) {
		if (read(f, cmdline, sizeof cmdline - 1) < 0)
			cmdline[0] = '\0';
		close(f);
	}
	say("init");
	int s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (strstr(cmdline, "vsock.mode=connect")) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = 1234 };
		if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("[guest] connect");
			finish();
		}
		say("connected");
		serve_one(s);
		finish();
	}
	const char *cn = strstr(cmdline, "vsock.conns=");
	int conns = cn ? atoi(cn + strlen("vsock.conns=")) : 1;
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = 1024 };
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 64) < 0) {
		perror("[guest] listen");
		finish();
	}
	say("listening");
	for (int i = 0; i < conns; i++) {
		int conn = accept(s, NULL, NULL);
		if (conn < 0) {
			perror("[guest] accept");
			break;
		}
		if (conns == 1) {
			say("connected");
			serve_one(conn);
			break;
		}
		pid_t pid = fork();
		if (pid == 0) {
			serve_one(conn);
			_exit(0);
		}
		close(conn);
	}
	while (wait(NULL) > 0)
		;
	finish();
	return 0;
}
