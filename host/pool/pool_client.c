/* The pool protocol: the client calls (husk create, husk pool status) and
 * the JSON both sides speak. */
#include "host/pool/pool_client.h"

#include <errno.h>
#include <stdlib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/net/net.h"

bool husk_pool_shape_equal(const struct husk_pool_shape *a, const struct husk_pool_shape *b)
{
	return a->memory_mib == b->memory_mib && a->vcpus == b->vcpus && !strcmp(a->accel, b->accel) &&
	       !strcmp(a->kernel_params, b->kernel_params);
}

json_t *husk_pool_shape_json(const struct husk_pool_shape *s)
{
	return json_pack("{s:I,s:i,s:s,s:s}", "memory_mib", (json_int_t)s->memory_mib, "vcpus", s->vcpus, "accel",
			 s->accel, "kernel_params", s->kernel_params);
}

/* a string field into a fixed buffer; too long or not a string: -EPROTO */
static int str_field(json_t *obj, const char *key, char *out, size_t cap, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	if (!s || json_string_length(v) >= cap || strlen(s) != json_string_length(v))
		return husk_err_set(err, EPROTO, "pool reply: \"%s\" is not a string of at most %zu bytes", key,
				    cap - 1);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int int_field(json_t *obj, const char *key, long long min, long long max, long long *out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return husk_err_set(err, EPROTO, "pool reply: \"%s\" is not a number from %lld to %lld", key, min, max);
	*out = json_integer_value(v);
	return 0;
}

int husk_pool_shape_parse(json_t *j, struct husk_pool_shape *out, struct husk_err *err)
{
	long long mem, vcpus;
	memset(out, 0, sizeof *out);
	if (!json_is_object(j))
		return husk_err_set(err, EPROTO, "pool: the shape is not an object");
	int r = int_field(j, "memory_mib", 1, 1LL << 30, &mem, err);
	if (r == 0)
		r = int_field(j, "vcpus", 1, 1024, &vcpus, err);
	if (r == 0)
		r = str_field(j, "accel", out->accel, sizeof out->accel, err);
	if (r == 0)
		r = str_field(j, "kernel_params", out->kernel_params, sizeof out->kernel_params, err);
	if (r < 0)
		return r;
	out->memory_mib = (long)mem;
	out->vcpus = (int)vcpus;
	return 0;
}

/* a json_t into a line of at most cap-1 bytes */
static int dump_line(json_t *j, char *out, size_t cap, struct husk_err *err)
{
	if (!j)
		return husk_err_set(err, ENOMEM, "pool: out of memory");
	size_t n = json_dumpb(j, out, cap, JSON_COMPACT);
	json_decref(j);
	if (n == 0 || n >= cap)
		return husk_err_set(err, E2BIG, "pool: a message over %zu bytes", cap - 1);
	out[n] = '\0';
	return 0;
}

int husk_pool_request_format(const struct husk_pool_shape *shape, char *out, size_t cap, struct husk_err *err)
{
	json_t *j = shape ? json_pack("{s:s,s:o}", "op", "take", "shape", husk_pool_shape_json(shape))
			  : json_pack("{s:s}", "op", "status");
	return dump_line(j, out, cap, err);
}

static json_t *pid_ref_json(const struct husk_pid_ref *r)
{
	return json_pack("{s:i,s:I}", "pid", (int)r->pid, "start_time", (json_int_t)r->start_time);
}

static int pid_ref_parse(json_t *obj, const char *key, struct husk_pid_ref *r, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	long long pid, start;
	if (!json_is_object(v))
		return husk_err_set(err, EPROTO, "pool reply: \"%s\" is not a pid", key);
	int rc = int_field(v, "pid", 1, INT32_MAX, &pid, err);
	if (rc == 0)
		rc = int_field(v, "start_time", 0, INT64_MAX, &start, err);
	if (rc < 0)
		return rc;
	r->pid = (pid_t)pid;
	r->start_time = (unsigned long long)start;
	return 0;
}

static json_t *nics_json(const struct husk_pool_vm *vm)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < vm->n_nics && i < HUSK_POOL_NICS_MAX; i++) {
		const struct husk_pool_nic *n = &vm->nics[i];
		char mac[18];
		snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", n->dev_mac[0], n->dev_mac[1], n->dev_mac[2],
			 n->dev_mac[3], n->dev_mac[4], n->dev_mac[5]);
		json_array_append_new(a,
				      json_pack("{s:s,s:i,s:s}", "tap", n->tap, "ifindex", n->ifindex, "dev_mac", mac));
	}
	return a;
}

json_t *husk_pool_vm_json(const struct husk_pool_vm *vm)
{
	json_t *vs = json_pack("{s:s,s:s,s:I}", "kind", vm->vsock.kind, "path", vm->vsock.path, "cid",
			       (json_int_t)vm->vsock.cid);
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:I,s:i,s:o}", "dir", vm->dir, "monitor", pid_ref_json(&vm->monitor),
			 "qemu", pid_ref_json(&vm->qemu), "virtiofsd", pid_ref_json(&vm->virtiofsd), "vsock_backend",
			 pid_ref_json(&vm->vsock_backend), "vsock", vs, "memory_mib", (json_int_t)vm->memory_mib,
			 "vcpus", vm->vcpus, "nics", nics_json(vm));
}

/* "xx:xx:xx:xx:xx:xx", lower or upper case hex, nothing else; unicast */
static int mac_parse(const char *s, uint8_t *mac)
{
	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *p = s + 3 * i;
		char hex[3] = { p[0], p[1], '\0' }, *end;
		if ((i < 5 && p[2] != ':') || !strchr("0123456789abcdefABCDEF", p[0]) ||
		    !strchr("0123456789abcdefABCDEF", p[1]) || !p[0] || !p[1])
			return -EINVAL;
		mac[i] = (uint8_t)strtoul(hex, &end, 16);
	}
	return mac[0] & 1 ? -EINVAL : 0;
}

/* the taps: hsktap<digits>, each once; an ifindex; a unicast device MAC */
static int nics_parse(json_t *v, struct husk_pool_vm *out, struct husk_err *err)
{
	json_t *a = json_object_get(v, "nics");
	const size_t plen = strlen(HUSK_NET_TAP_PREFIX);
	if (!json_is_array(a) || json_array_size(a) > HUSK_POOL_NICS_MAX)
		return husk_err_set(err, EPROTO, "pool reply: \"nics\" is not an array of at most %u",
				    HUSK_POOL_NICS_MAX);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *n = json_array_get(a, i);
		struct husk_pool_nic *nic = &out->nics[i];
		long long ifindex;
		int r = json_is_object(n) ? str_field(n, "tap", nic->tap, sizeof nic->tap, err)
					  : husk_err_set(err, EPROTO, "pool reply: NIC %zu is not an object", i);
		if (r == 0)
			r = int_field(n, "ifindex", 1, INT32_MAX, &ifindex, err);
		if (r < 0)
			return r;
		nic->ifindex = (int)ifindex;
		const char *num = nic->tap + plen;
		if (strncmp(nic->tap, HUSK_NET_TAP_PREFIX, plen) || !*num || strspn(num, "0123456789") != strlen(num))
			return husk_err_set(err, EPROTO, "pool reply: NIC %zu: \"%s\" is not a husk tap", i, nic->tap);
		if (mac_parse(json_string_value(json_object_get(n, "dev_mac")), nic->dev_mac) < 0)
			return husk_err_set(err, EPROTO, "pool reply: NIC %zu: \"dev_mac\" is not a unicast MAC", i);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(out->nics[k].tap, nic->tap) || out->nics[k].ifindex == nic->ifindex ||
			    !memcmp(out->nics[k].dev_mac, nic->dev_mac, 6))
				return husk_err_set(err, EPROTO, "pool reply: NICs %zu and %zu are the same", k, i);
		out->n_nics = (unsigned)i + 1;
	}
	return 0;
}

static int vm_parse(json_t *v, const char *root, struct husk_pool_vm *out, struct husk_err *err)
{
	long long mem, vcpus, cid;
	json_t *vs = json_object_get(v, "vsock");
	int r = str_field(v, "dir", out->dir, sizeof out->dir, err);
	if (r == 0)
		r = pid_ref_parse(v, "monitor", &out->monitor, err);
	if (r == 0)
		r = pid_ref_parse(v, "qemu", &out->qemu, err);
	if (r == 0)
		r = pid_ref_parse(v, "virtiofsd", &out->virtiofsd, err);
	if (r == 0)
		r = pid_ref_parse(v, "vsock_backend", &out->vsock_backend, err);
	if (r == 0)
		r = str_field(vs, "kind", out->vsock.kind, sizeof out->vsock.kind, err);
	if (r == 0)
		r = str_field(vs, "path", out->vsock.path, sizeof out->vsock.path, err);
	if (r == 0)
		r = int_field(vs, "cid", 0, UINT32_MAX, &cid, err);
	if (r == 0)
		r = int_field(v, "memory_mib", 1, 1LL << 30, &mem, err);
	if (r == 0)
		r = int_field(v, "vcpus", 1, 1024, &vcpus, err);
	if (r == 0)
		r = nics_parse(v, out, err);
	if (r < 0)
		return r;
	out->vsock.cid = (uint32_t)cid;
	out->memory_mib = (long)mem;
	out->vcpus = (int)vcpus;
	/* the VM's dir is one of this root's pool dirs, nothing else */
	size_t rl = strlen(root);
	const char *rest = out->dir + rl;
	if (strncmp(out->dir, root, rl) || strncmp(rest, "/" HUSK_POOL_DIR "/", strlen(HUSK_POOL_DIR) + 2) ||
	    !rest[strlen(HUSK_POOL_DIR) + 2] || strchr(rest + strlen(HUSK_POOL_DIR) + 2, '/') || strstr(rest, "/.."))
		return husk_err_set(err, EPROTO, "pool reply: the VM dir %s is not in %s/%s", out->dir, root,
				    HUSK_POOL_DIR);
	return 0;
}

int husk_pool_take_reply_parse(const char *line, const char *root, struct husk_pool_vm *out, struct husk_err *err)
{
	memset(out, 0, sizeof *out);
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	json_t *vm = json_object_get(j, "vm");
	int r;
	if (!json_is_object(j) || !vm)
		r = husk_err_set(err, EPROTO, "not a pool reply");
	else if (json_is_null(vm)) {
		const char *why = json_string_value(json_object_get(j, "why"));
		char safe[256];
		snprintf(safe, sizeof safe, "%s", why ? why : "no reason given");
		for (char *p = safe; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		r = husk_err_set(err, EAGAIN, "the pool has no VM: %s", safe);
	} else if (!json_is_object(vm))
		r = husk_err_set(err, EPROTO, "pool reply: \"vm\" is not an object");
	else
		r = vm_parse(vm, root, out, err);
	json_decref(j);
	return r;
}

json_t *husk_pool_status_json(const struct husk_pool_status *st)
{
	return json_pack("{s:I,s:I,s:I,s:o,s:s}", "size", (json_int_t)st->size, "ready", (json_int_t)st->ready,
			 "booting", (json_int_t)st->booting, "shape", husk_pool_shape_json(&st->shape), "last_error",
			 st->last_error);
}

int husk_pool_status_reply_parse(const char *line, struct husk_pool_status *out, struct husk_err *err)
{
	long long n[3];
	memset(out, 0, sizeof *out);
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	int r = json_is_object(j) ? 0 : husk_err_set(err, EPROTO, "not a pool reply");
	if (r == 0)
		r = int_field(j, "size", 0, 1 << 20, &n[0], err);
	if (r == 0)
		r = int_field(j, "ready", 0, 1 << 20, &n[1], err);
	if (r == 0)
		r = int_field(j, "booting", 0, 1 << 20, &n[2], err);
	if (r == 0)
		r = husk_pool_shape_parse(json_object_get(j, "shape"), &out->shape, err);
	if (r == 0)
		r = str_field(j, "last_error", out->last_error, sizeof out->last_error, err);
	json_decref(j);
	if (r < 0)
		return r;
	out->size = (long)n[0];
	out->ready = (long)n[1];
	out->booting = (long)n[2];
	return 0;
}

/* --- the call ------------------------------------------------------------ */

static long long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000LL + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short ev, const struct timespec *deadline, const char *path, struct husk_err *err)
{
	for (;;) {
		long long left = ms_left(deadline);
		if (left <= 0)
			return husk_err_set(err, ETIMEDOUT, "%s did not answer within %d ms", path,
					    HUSK_POOL_TIMEOUT_MS);
		struct pollfd p = { .fd = fd, .events = ev };
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return husk_err_sys(err, errno, "waiting for %s", path);
	}
}

static int send_line(int fd, const char *request, const struct timespec *deadline, const char *path,
		     struct husk_err *err)
{
	char line[HUSK_POOL_LINE_MAX + 1];
	int len = snprintf(line, sizeof line, "%s\n", request);
	if (len < 0 || (size_t)len >= sizeof line)
		return husk_err_set(err, E2BIG, "pool request over %d bytes", HUSK_POOL_LINE_MAX);
	for (int off = 0; off < len;) {
		int r = wait_fd(fd, POLLOUT, deadline, path, err);
		if (r < 0)
			return r;
		ssize_t n = send(fd, line + off, (size_t)(len - off), MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return husk_err_sys(err, errno, "writing to %s", path);
		off += n > 0 ? (int)n : 0;
	}
	return 0;
}

static int recv_line(int fd, char *reply, size_t cap, const struct timespec *deadline, const char *path,
		     struct husk_err *err)
{
	size_t len = 0;
	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline, path, err);
		if (r < 0)
			return r;
		if (len + 1 >= cap)
			return husk_err_set(err, EMSGSIZE, "%s: a reply over %zu bytes", path, cap - 1);
		ssize_t n = recv(fd, reply + len, cap - 1 - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return husk_err_sys(err, errno, "reading from %s", path);
		char *nl = memchr(reply + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			*nl = '\0';
			return 0;
		}
		if (n == 0)
			return husk_err_set(err, EPROTO, "%s closed without a reply", path);
	}
}

int husk_pool_call(const char *root, const char *request, char *reply, size_t cap, struct husk_err *err)
{
	char path[PATH_MAX];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(path, sizeof path, "%s/%s", root, HUSK_POOL_SOCK);
	if (strlen(path) >= sizeof addr.sun_path)
		return husk_err_set(err, ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(addr.sun_path, path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return husk_err_sys(err, errno, "socket");
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += HUSK_POOL_TIMEOUT_MS / 1000;
	/* a non-blocking connect on a unix socket fails at once (EAGAIN) when
	 * the backlog is full: a busy pool is an empty one */
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS)
		return husk_err_sys(err, errno, "no pool server at %s", path);
	int r = send_line(fd, request, &deadline, path, err);
	if (r == 0)
		r = recv_line(fd, reply, cap, &deadline, path, err);
	return r;
}

int husk_pool_take(const char *root, const struct husk_pool_shape *shape, struct husk_pool_vm *out,
		   struct husk_err *err)
{
	char req[HUSK_POOL_LINE_MAX], reply[HUSK_POOL_LINE_MAX + 1];
	int r = husk_pool_request_format(shape, req, sizeof req, err);
	if (r == 0)
		r = husk_pool_call(root, req, reply, sizeof reply, err);
	if (r == 0)
		r = husk_pool_take_reply_parse(reply, root, out, err);
	return r;
}

int husk_pool_status(const char *root, struct husk_pool_status *out, struct husk_err *err)
{
	char req[HUSK_POOL_LINE_MAX], reply[HUSK_POOL_LINE_MAX + 1];
	int r = husk_pool_request_format(NULL, req, sizeof req, err);
	if (r == 0)
		r = husk_pool_call(root, req, reply, sizeof reply, err);
	if (r == 0)
		r = husk_pool_status_reply_parse(reply, out, err);
	return r;
}
