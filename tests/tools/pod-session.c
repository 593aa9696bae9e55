/* Test-only (tests/e2e/pods_guest.bats, never installed): a vsock session of
 * its own to a running container's VM, speaking the protocol as a pod
 * member's monitor will, to drive husk-init's container table before the
 * host has member monitors.
 *   pod-session run STATE_DIR SLOT BUNDLE [KIND=SLOT...]
 *       HELLO, CREATE {ctr: SLOT, join: {KIND: SLOT}} from the bundle (its
 *       tree must be in the share's ctr/SLOT: tests/tools/vfs-inject; the
 *       joined kinds are taken out of the namespaces it creates), START;
 *       the process's stdout and stderr to ours; exits with its status
 *   pod-session request STATE_DIR TYPE [SLOT]
 *       HELLO, then TYPE (ps, stats, pause, resume, shutdown), with {ctr:
 *       SLOT} when given, on an unbound session; prints "OK" or
 *       "ERROR <code> <message>" (exit 1)
 * STATE_DIR is the container's <root>/<id>; its state.json names the VM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_session.h"
#include "host/monitor/ctl.h"
#include "host/spec/spec.h"
#include "host/state/state.h"
#include "host/vsock/vsock.h"

#define BUF_MAX (HUSK_FRAME_HDR_SIZE + HUSK_FRAME_MAX)

static uint8_t out_buf[HUSK_FRAME_MAX], in_buf[BUF_MAX];

static int die(const char *what, const struct husk_err *err)
{
	fprintf(stderr, "pod-session: %s: %s\n", what, err->msg);
	return 1;
}

static int send_msg(int fd, uint16_t type, uint32_t id, struct husk_cbor_enc *e, struct husk_err *err)
{
	if (husk_cbor_enc_finish(e, err) < 0)
		return -ENOSPC;
	return husk_frame_write_all(fd, type, 0, id, e->buf, e->len, err);
}

/* the reply to request id; STDIO on the way goes to our stdout/stderr */
static int await_reply(int fd, uint32_t id, const uint8_t **payload, uint32_t *len, struct husk_err *err)
{
	for (;;) {
		struct husk_frame_hdr h;
		int r = husk_frame_read_one(fd, in_buf, sizeof in_buf, 120000, &h, payload, err);
		if (r < 0)
			return r;
		if (!(h.flags & HUSK_FLAG_REPLY) || h.id != id)
			continue;
		if (h.type == HUSK_MSG_ERROR)
			return husk_error_reply(*payload, h.len, err);
		*len = h.len;
		return 0;
	}
}

static int session(const char *state_dir, struct husk_err *err)
{
	struct husk_state st = { 0 };
	struct husk_vsock v;
	int r = husk_state_read(state_dir, &st, err);
	if (r < 0)
		return r;
	r = husk_vsock_attach(&v, &st.vsock, err);
	husk_state_free(&st);
	if (r < 0)
		return r;
	int fd = husk_vsock_connect(&v, HUSK_GUEST_PORT, 10000, err);
	if (fd < 0)
		return fd;
	struct husk_cbor_enc e;
	const uint8_t *p;
	uint32_t n;
	husk_cbor_enc_init(&e, out_buf, sizeof out_buf);
	husk_msg_encode_hello(&e, &(struct husk_hello_msg){ .version = HUSK_PROTO_VERSION });
	if ((r = send_msg(fd, HUSK_MSG_HELLO, 1, &e, err)) < 0 || (r = await_reply(fd, 1, &p, &n, err)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int parse_join(char **args, int n, struct husk_ns_join *j)
{
	for (int i = 0; i < n; i++) {
		char *eq = strchr(args[i], '=');
		int kind = -1;
		for (int k = 0; eq && k < HUSK_JOIN_KINDS; k++)
			if (!strncmp(args[i], husk_join_key((enum husk_join_kind)k), (size_t)(eq - args[i])) &&
			    strlen(husk_join_key((enum husk_join_kind)k)) == (size_t)(eq - args[i]))
				kind = k;
		if (kind < 0)
			return -1;
		j->mask |= husk_join_ns((enum husk_join_kind)kind);
		j->slot[kind] = (uint8_t)atoi(eq + 1);
	}
	return 0;
}

/* relays output until EXIT; its status */
static int relay(int fd, struct husk_err *err)
{
	for (;;) {
		struct husk_frame_hdr h;
		const uint8_t *p;
		static uint8_t arena_buf[1u << 20];
		struct husk_arena a;
		const struct husk_cbor_item *root;
		int r = husk_frame_read_one(fd, in_buf, sizeof in_buf, 600000, &h, &p, err);
		if (r < 0)
			return r;
		husk_arena_init(&a, arena_buf, sizeof arena_buf);
		if ((r = husk_msg_parse(p, h.len, &a, &root, err)) < 0)
			return r;
		if (h.type == HUSK_MSG_STDIO) {
			struct husk_stdio_msg m;
			if (husk_msg_decode_stdio(root, &m, err) == 0 &&
			    fwrite(m.data, 1, m.len, m.stream == 2 ? stderr : stdout))
				fflush(m.stream == 2 ? stderr : stdout);
		} else if (h.type == HUSK_MSG_EXIT) {
			struct husk_exit_msg m;
			if ((r = husk_msg_decode_exit(root, &m, err)) < 0)
				return r;
			return m.status;
		}
	}
}

static int run(char **argv, int argc)
{
	struct husk_err err = { 0 };
	struct husk_spec spec = { 0 };
	struct husk_cbor_enc e;
	const uint8_t *p;
	uint32_t n;
	int slot = atoi(argv[3]);
	if (husk_spec_load(&spec, argv[4], &err) < 0)
		return die("loading the bundle", &err);
	struct husk_create_msg m = {
		.id = "pod-session",
		.rootfs_tag = "vfs",
		.readonly = spec.readonly,
		.hostname = (char *)spec.hostname,
		.process = spec.process,
		.container = spec.container,
		.resources = spec.resources,
		.ctr = (uint32_t)slot,
	};
	if (parse_join(argv + 5, argc - 5, &m.join) < 0) {
		fprintf(stderr, "pod-session: a join is KIND=SLOT with KIND pid, ipc, uts or cgroup\n");
		return 2;
	}
	if (m.container)
		m.container->namespaces &= ~m.join.mask;
	int fd = session(argv[2], &err);
	if (fd < 0)
		return die("connecting", &err);
	husk_cbor_enc_init(&e, out_buf, sizeof out_buf);
	husk_msg_encode_create(&e, &m);
	if (send_msg(fd, HUSK_MSG_CREATE, 2, &e, &err) < 0 || await_reply(fd, 2, &p, &n, &err) < 0)
		return die("CREATE", &err);
	husk_cbor_enc_init(&e, out_buf, sizeof out_buf);
	husk_msg_encode_start(&e, &(struct husk_start_msg){ 0 });
	if (send_msg(fd, HUSK_MSG_START, 3, &e, &err) < 0 || await_reply(fd, 3, &p, &n, &err) < 0)
		return die("START", &err);
	int status = relay(fd, &err);
	if (status < 0)
		return die("waiting for EXIT", &err);
	close(fd);
	return status;
}

static int request(char **argv, int argc)
{
	static const struct {
		const char *name;
		uint16_t type;
	} types[] = { { "ps", HUSK_MSG_PS },
		      { "stats", HUSK_MSG_STATS },
		      { "pause", HUSK_MSG_PAUSE },
		      { "resume", HUSK_MSG_RESUME },
		      { "shutdown", HUSK_MSG_SHUTDOWN } };
	struct husk_err err = { 0 };
	struct husk_cbor_enc e;
	const uint8_t *p;
	uint32_t n;
	uint16_t type = 0;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(argv[3], types[i].name))
			type = types[i].type;
	if (!type) {
		fprintf(stderr, "pod-session: unknown request %s\n", argv[3]);
		return 2;
	}
	int fd = session(argv[2], &err);
	if (fd < 0)
		return die("connecting", &err);
	husk_cbor_enc_init(&e, out_buf, sizeof out_buf);
	husk_msg_encode_ctr(&e, &(struct husk_ctr_msg){ .has_ctr = argc > 4,
							.ctr = argc > 4 ? (uint32_t)atoi(argv[4]) : 0 });
	if (send_msg(fd, type, 2, &e, &err) < 0)
		return die("sending", &err);
	if (await_reply(fd, 2, &p, &n, &err) < 0) {
		printf("ERROR %d %s\n", err.code, err.msg);
		return 1;
	}
	printf("OK\n");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "run"))
		return run(argv, argc);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "request"))
		return request(argv, argc);
	fprintf(stderr,
		"usage: pod-session run STATE_DIR SLOT BUNDLE [KIND=SLOT...] | request STATE_DIR TYPE [SLOT]\n");
	return 2;
}
