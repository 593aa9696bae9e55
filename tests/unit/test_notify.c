/* sd_notify: the NOTIFY codec and CREATE's notify_socket, the monitor's
 * rewrite of a datagram, and create's two ways of finding the host socket
 * (runc's NOTIFY_SOCKET in husk's environment, Podman's bind mount). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/monitor/monitor_notify.h"
#include "host/spec/spec.h"
#include "host/state/fsutil.h"
#include "proto/msg_container.h"
#include "proto/msg_notify.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[1u << 20];
static uint8_t buf[1u << 16];
static struct husk_arena arena;
static struct husk_err err;
static char bundle[PATH_MAX];

static const struct husk_cbor_item *parsed(struct husk_cbor_enc *e)
{
	const struct husk_cbor_item *root = NULL;
	husk_err_clear(&err);
	husk_arena_init(&arena, arena_buf, sizeof arena_buf);
	if (husk_cbor_enc_finish(e, &err) < 0 || husk_msg_parse(e->buf, e->len, &arena, &root, &err) < 0)
		return NULL;
	return root;
}

static enum test_result test_codec(void)
{
	struct husk_cbor_enc e;
	struct husk_notify_msg d;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = "READY=1\nSTATUS=up ü" });
	const struct husk_cbor_item *root = parsed(&e);
	CHECK(root);
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), 0);
	CHECK_STR(d.message, "READY=1\nSTATUS=up ü");

	/* the largest message, and one byte more */
	static char big[HUSK_NOTIFY_MAX + 2];
	memset(big, 'x', HUSK_NOTIFY_MAX);
	big[HUSK_NOTIFY_MAX] = '\0';
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = big });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), 0);
	CHECK_EQ_INT(strlen(d.message), HUSK_NOTIFY_MAX);
	big[HUSK_NOTIFY_MAX] = 'x';
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = big });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -E2BIG);
	return TEST_PASS;
}

static enum test_result test_codec_rejects(void)
{
	struct husk_cbor_enc e;
	struct husk_notify_msg d;
	const struct husk_cbor_item *root;
	/* empty */
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_notify(&e, &(struct husk_notify_msg){ .message = "" });
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -EINVAL);
	CHECK(err.msg[0]);
	/* missing, and bytes instead of text */
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_one_uint(&e, "message", 1);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -EBADMSG);
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "message");
	husk_cbor_put_bytes(&e, (const uint8_t *)"READY=1", 7);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -EBADMSG);
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 0);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -EBADMSG);
	/* a NUL inside */
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "message");
	husk_cbor_put_textn(&e, "READY=1\0X", 9);
	CHECK((root = parsed(&e)));
	CHECK_EQ_INT(husk_msg_decode_notify(root, &arena, &d, &err), -EBADMSG);
	/* what the guest checks before sending */
	CHECK(husk_notify_text_valid("READY=1", 7));
	CHECK(!husk_notify_text_valid("", 0));
	CHECK(!husk_notify_text_valid("A\0B", 3));
	CHECK(!husk_notify_text_valid("\xff\xfe", 2));
	static char big[HUSK_NOTIFY_MAX + 1];
	memset(big, 'x', sizeof big);
	CHECK(husk_notify_text_valid(big, HUSK_NOTIFY_MAX));
	CHECK(!husk_notify_text_valid(big, HUSK_NOTIFY_MAX + 1));
	return TEST_PASS;
}

static int create_round_trip(const char *notify, struct husk_create_msg *out)
{
	static char *args[] = { "/bin/true", NULL }, *env[] = { NULL };
	struct husk_create_msg m = {
		.id = "c1",
		.rootfs_tag = "vfs",
		.process = { .args = args, .n_args = 1, .env = env, .cwd = "/" },
		.notify_socket = (char *)notify,
	};
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	if (husk_msg_encode_create(&e, &m) < 0)
		return -ENOSPC;
	const struct husk_cbor_item *root = parsed(&e);
	if (!root)
		return -EBADMSG;
	return husk_msg_decode_create(root, &arena, out, &err);
}

static enum test_result test_create_notify_socket(void)
{
	struct husk_create_msg d;
	CHECK_EQ_INT(create_round_trip("/run/notify/notify.sock", &d), 0);
	CHECK_STR(d.notify_socket, "/run/notify/notify.sock");
	CHECK_EQ_INT(create_round_trip(NULL, &d), 0);
	CHECK(d.notify_socket == NULL);
	CHECK_EQ_INT(create_round_trip("run/notify.sock", &d), -EINVAL);
	CHECK_EQ_INT(create_round_trip("/run/../etc/passwd", &d), -EINVAL);
	CHECK_EQ_INT(create_round_trip("/", &d), -EINVAL);
	return TEST_PASS;
}

static enum test_result test_rewrite(void)
{
	char out[HUSK_NOTIFY_MAX + 64];
	CHECK_EQ_INT(husk_notify_rewrite("READY=1", 4242, out, sizeof out), strlen("READY=1\nMAINPID=4242"));
	CHECK_STR(out, "READY=1\nMAINPID=4242");
	/* the guest's MAINPID goes, whatever its place */
	husk_notify_rewrite("MAINPID=7\nREADY=1\nSTATUS=serving", 10, out, sizeof out);
	CHECK_STR(out, "READY=1\nMAINPID=10\nSTATUS=serving");
	husk_notify_rewrite("STATUS=starting\n", 10, out, sizeof out);
	CHECK_STR(out, "STATUS=starting");
	husk_notify_rewrite("WATCHDOG=1", 10, out, sizeof out);
	CHECK_STR(out, "WATCHDOG=1");
	/* READY=10 is not READY=1 */
	husk_notify_rewrite("READY=10", 10, out, sizeof out);
	CHECK_STR(out, "READY=10");
	/* nothing left: nothing to send */
	CHECK_EQ_INT(husk_notify_rewrite("MAINPID=1\nFDSTORE=1\nFDNAME=x\nBARRIER=1\n\n", 10, out, sizeof out), 0);
	CHECK_STR(out, "");
	/* a small buffer: whole lines only */
	CHECK_EQ_INT(husk_notify_rewrite("STATUS=abcdef\nX=1", 10, out, 10), 3);
	CHECK_STR(out, "X=1");
	return TEST_PASS;
}

static int parse_spec(const char *env_json, const char *mounts_json, const char *env_notify, struct husk_spec *spec)
{
	char text[4096];
	snprintf(text, sizeof text,
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\",\"env\":%s},\"mounts\":%s,"
		 "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}",
		 env_json, mounts_json);
	husk_err_clear(&err);
	int r = husk_spec_parse(spec, bundle, text, strlen(text), &err);
	if (r < 0)
		return r;
	return husk_spec_notify_setup(spec, env_notify, &err);
}

static const char *env_of(const struct husk_spec *spec, const char *key)
{
	for (uint32_t i = 0; i < spec->process.n_env; i++)
		if (!strncmp(spec->process.env[i], key, strlen(key)))
			return spec->process.env[i];
	return NULL;
}

static enum test_result test_spec_runc_style(void)
{
	struct husk_spec spec;
	CHECK_EQ_INT(parse_spec("[\"PATH=/bin\"]", "[]", "/run/systemd/notify", &spec), 0);
	CHECK_STR(spec.notify_host, "/run/systemd/notify");
	CHECK_STR(spec.notify_container, HUSK_NOTIFY_RUNC_PATH);
	CHECK_EQ_INT(spec.process.n_env, 2);
	CHECK_STR(spec.process.env[1], "NOTIFY_SOCKET=/run/notify/notify.sock");
	CHECK(spec.process.env[2] == NULL);
	husk_spec_free(&spec);
	/* an entry of the spec's own is replaced; an abstract socket is fine */
	CHECK_EQ_INT(parse_spec("[\"NOTIFY_SOCKET=/x\",\"A=1\"]", "[]", "@sd-notify", &spec), 0);
	CHECK_STR(spec.notify_host, "@sd-notify");
	CHECK_EQ_INT(spec.process.n_env, 2);
	CHECK_STR(env_of(&spec, "NOTIFY_SOCKET="), "NOTIFY_SOCKET=/run/notify/notify.sock");
	husk_spec_free(&spec);
	/* not a unix socket address: a one-line error */
	CHECK_EQ_INT(parse_spec("[]", "[]", "vsock:2:1234", &spec), -EINVAL);
	CHECK(strstr(err.msg, "NOTIFY_SOCKET") != NULL);
	husk_spec_free(&spec);
	/* nothing set: nothing relayed, nothing added */
	CHECK_EQ_INT(parse_spec("[\"A=1\"]", "[]", "", &spec), 0);
	CHECK(spec.notify_host == NULL && spec.notify_container == NULL);
	CHECK_EQ_INT(spec.process.n_env, 1);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static enum test_result test_spec_podman_style(void)
{
	struct husk_spec spec;
	char mounts[2048], path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/notify/notify.sock", bundle);
	int fd = bind_socket(path);
	CHECK(fd >= 0);
	/* Podman binds the directory: it stays, the guest binds over the socket in it */
	snprintf(mounts, sizeof mounts,
		 "[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		 "{\"destination\":\"/run/notify\",\"type\":\"bind\",\"source\":\"%s/notify\","
		 "\"options\":[\"bind\",\"rprivate\"]}]",
		 bundle);
	int r = parse_spec("[\"NOTIFY_SOCKET=/run/notify/notify.sock\"]", mounts, NULL, &spec);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	CHECK_STR(spec.notify_host, path);
	CHECK_STR(spec.notify_container, "/run/notify/notify.sock");
	CHECK_EQ_INT(spec.container->n_mounts, 2);
	CHECK(spec.notify_env == NULL);
	husk_spec_free(&spec);
	/* the socket itself bound: that mount is taken out */
	snprintf(mounts, sizeof mounts,
		 "[{\"destination\":\"/run/sd.sock\",\"type\":\"bind\",\"source\":\"%s\",\"options\":[\"bind\"]},"
		 "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}]",
		 path);
	CHECK_EQ_INT(parse_spec("[\"NOTIFY_SOCKET=/run/sd.sock\"]", mounts, NULL, &spec), 0);
	CHECK_STR(spec.notify_host, path);
	CHECK_STR(spec.notify_container, "/run/sd.sock");
	CHECK_EQ_INT(spec.container->n_mounts, 1);
	CHECK_STR(spec.container->mounts[0].destination, "/proc");
	husk_spec_free(&spec);
	/* a later tmpfs over the directory hides the socket: nothing relayed */
	snprintf(mounts, sizeof mounts,
		 "[{\"destination\":\"/run/notify\",\"type\":\"bind\",\"source\":\"%s/notify\"},"
		 "{\"destination\":\"/run/notify\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"}]",
		 bundle);
	CHECK_EQ_INT(parse_spec("[\"NOTIFY_SOCKET=/run/notify/notify.sock\"]", mounts, NULL, &spec), 0);
	CHECK(spec.notify_host == NULL);
	CHECK_EQ_INT(spec.container->n_mounts, 2);
	husk_spec_free(&spec);
	close(fd);
	unlink(path);
	/* the same spec without a socket there: nothing relayed */
	snprintf(mounts, sizeof mounts,
		 "[{\"destination\":\"/run/notify\",\"type\":\"bind\",\"source\":\"%s/notify\"}]", bundle);
	CHECK_EQ_INT(parse_spec("[\"NOTIFY_SOCKET=/run/notify/notify.sock\"]", mounts, NULL, &spec), 0);
	CHECK(spec.notify_host == NULL && spec.notify_container == NULL);
	CHECK_EQ_INT(spec.container->n_mounts, 1);
	husk_spec_free(&spec);
	return TEST_PASS;
}

/* the relay end to end on the host side: a long path (over sun_path) is
 * reached through its directory */
static enum test_result test_open_long_path(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	snprintf(dir, sizeof dir, "%s/a-directory-name-long-enough-to-push-the-socket-path-over-the-limit-of-sun-path",
		 bundle);
	CHECK_EQ_INT(mkdir_p(dir, 0755, &err), 0);
	snprintf(path, sizeof path, "%s/notify.sock", dir);
	CHECK(strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path));
	/* bind through the directory too */
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char via[128];
	snprintf(via, sizeof via, "/proc/self/fd/%d/notify.sock", dfd);
	int fd = bind_socket(via);
	close(dfd);
	CHECK(fd >= 0);
	struct mon_notify n;
	CHECK_EQ_INT(mon_notify_open(&n, path, &err), 0);
	CHECK(sendto(n.fd, "READY=1", 7, 0, (struct sockaddr *)&n.addr, n.addr_len) == 7);
	char got[16] = "";
	CHECK_EQ_INT(recv(fd, got, sizeof got - 1, MSG_DONTWAIT), 7);
	CHECK_STR(got, "READY=1");
	mon_notify_close(&n);
	close(fd);
	/* a directory that is not there: a one-line error at create */
	snprintf(path, sizeof path, "%s/missing/%0120d", bundle, 0);
	CHECK(mon_notify_open(&n, path, &err) < 0);
	CHECK(strstr(err.msg, "NOTIFY_SOCKET") != NULL);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "NOTIFY round trip and its size limit", test_codec },
		{ "NOTIFY rejections", test_codec_rejects },
		{ "CREATE carries a clean notify_socket path", test_create_notify_socket },
		{ "the monitor's rewrite: MAINPID after READY=1, fd-only lines dropped", test_rewrite },
		{ "runc style: NOTIFY_SOCKET in husk's environment", test_spec_runc_style },
		{ "Podman style: a bind mount brings a host socket", test_spec_podman_style },
		{ "a host socket path over sun_path is reached through its directory", test_open_long_path },
	};
	struct husk_err e = { 0 };
	char p[PATH_MAX + 32];
	snprintf(bundle, sizeof bundle, "/tmp/husk-unit-notify.%d", (int)getpid());
	snprintf(p, sizeof p, "%s/rootfs", bundle);
	mkdir_p(p, 0755, &e);
	snprintf(p, sizeof p, "%s/notify", bundle);
	mkdir_p(p, 0755, &e);
	int r = unit_run(tests, ARRAY_SIZE(tests));
	remove_tree(bundle, &e);
	return r;
}
