/* sd_notify in the guest: husk-init serves a datagram socket that is bound
 * (read-only) into the container where NOTIFY_SOCKET points, and sends
 * each datagram a container process writes there to the container monitor
 * as a NOTIFY frame; the monitor relays it to the host's socket. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/msg_notify.h"
#include "guest/guest.h"

#define NOTIFY_DIR "/run/husk"
#define NOTIFY_PATH NOTIFY_DIR "/notify"
#define NOTIFY_BURST 64     /* datagrams read per loop round */
#define NOTIFY_LOG_DROPS 16 /* drops logged on the console; a flood is not */

static struct watch notify_w = { .fd = -1 };
static unsigned drops_logged;

#define LOG_DROP(...)                                                                                                  \
	do {                                                                                                           \
		if (drops_logged < NOTIFY_LOG_DROPS) {                                                                 \
			drops_logged++;                                                                                \
			GLOG_ERR(__VA_ARGS__);                                                                         \
		}                                                                                                      \
	} while (0)

static void forward(const char *msg, size_t n)
{
	struct proc *init = container_proc();
	if (!init || !init->conn || !conn_has_room(init->conn)) {
		LOG_DROP("sd_notify: no room on the container session; a notification is dropped");
		return;
	}
	uint8_t buf[HUSK_NOTIFY_MAX + 32];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = (char *)msg });
	struct husk_err err = { 0 };
	if (husk_cbor_enc_finish(&e, &err) < 0) {
		GLOG_ERR("sd_notify: %s", err.msg);
		return;
	}
	conn_send(init->conn, HUSK_MSG_NOTIFY, 0, 0, e.buf, e.len);
}

static void on_notify(struct watch *w, uint32_t events)
{
	char buf[HUSK_NOTIFY_MAX + 1];
	for (int i = 0; i < NOTIFY_BURST; i++) {
		/* MSG_TRUNC: the datagram's real length, to tell an oversized one */
		ssize_t n = recv(w->fd, buf, sizeof buf - 1, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return;
		if ((size_t)n > sizeof buf - 1) {
			LOG_DROP("sd_notify: a notification of %zd bytes is over %u: dropped", n, HUSK_NOTIFY_MAX);
			continue;
		}
		if (!husk_notify_text_valid(buf, (size_t)n)) {
			LOG_DROP("sd_notify: a notification that is empty, has a NUL or is not UTF-8: dropped");
			continue;
		}
		buf[n] = '\0';
		forward(buf, (size_t)n);
	}
}

int notify_listen(struct husk_err *err)
{
	if (notify_w.fd >= 0)
		return 0;
	if (mkdir(NOTIFY_DIR, 0755) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", NOTIFY_DIR);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "the sd_notify socket");
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = NOTIFY_PATH };
	unlink(NOTIFY_PATH);
	/* any container user may notify, as with runc's and conmon's socket */
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(NOTIFY_PATH, 0777) < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "binding the sd_notify socket %s", NOTIFY_PATH);
	}
	notify_w = (struct watch){ .fd = fd, .on_event = on_notify };
	return loop_add(&notify_w, EPOLLIN, err);
}

/* In the container init, after the spec's mounts: the socket bound on
 * path (created as an empty file when missing), read-only. */
void notify_mount(const char *path, const char *root, int sfd)
{
	char dest[GUEST_JOIN_MAX];
	int r = container_secure_join(root, path, dest, sizeof dest);
	if (r < 0)
		spawn_child_fail(sfd, "resolving the sd_notify socket %s: %s", path, strerror(-r));
	size_t keep = strlen(root);
	for (char *p = dest + keep + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dest, 0755) < 0 && errno != EEXIST)
			spawn_child_fail(sfd, "creating %s for the sd_notify socket: %s", dest + keep, strerror(errno));
		*p = '/';
	}
	struct stat st;
	if (lstat(dest, &st) < 0) {
		int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			spawn_child_fail(sfd, "creating the sd_notify socket's mount point %s: %s", path,
					 strerror(errno));
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		spawn_child_fail(sfd, "the sd_notify socket %s is a directory in the container", path);
	}
	if (mount(NOTIFY_PATH, dest, NULL, MS_BIND, NULL) < 0)
		spawn_child_fail(sfd, "binding the sd_notify socket on %s: %s", path, strerror(errno));
	r = container_remount(dest, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (r < 0)
		spawn_child_fail(sfd, "making the sd_notify socket on %s read-only: %s", path, strerror(-r));
}
