#include "proto/msg.h"

#include "proto/msg_container.h"
#include "proto/msg_network.h"
#include "proto/msg_resources.h"
#include "proto/msg_security.h"

#include <string.h>

const char *husk_msg_type_name(uint16_t type)
{
	static const char *const names[] = {
		[HUSK_MSG_HELLO] = "HELLO",
		[HUSK_MSG_OK] = "OK",
		[HUSK_MSG_ERROR] = "ERROR",
		[HUSK_MSG_CREATE] = "CREATE",
		[HUSK_MSG_START] = "START",
		[HUSK_MSG_SIGNAL] = "SIGNAL",
		[HUSK_MSG_STDIO] = "STDIO",
		[HUSK_MSG_STDIO_CLOSE] = "STDIO_CLOSE",
		[HUSK_MSG_STDIN_ACK] = "STDIN_ACK",
		[HUSK_MSG_EXIT] = "EXIT",
		[HUSK_MSG_SHUTDOWN] = "SHUTDOWN",
		[HUSK_MSG_RESIZE] = "RESIZE",
		[HUSK_MSG_EXEC] = "EXEC",
		[HUSK_MSG_PAUSE] = "PAUSE",
		[HUSK_MSG_RESUME] = "RESUME",
		[HUSK_MSG_PS] = "PS",
		[HUSK_MSG_UPDATE] = "UPDATE",
		[HUSK_MSG_STATS] = "STATS",
		[HUSK_MSG_OOM] = "OOM",
		[HUSK_MSG_EVENTS] = "EVENTS",
		[HUSK_MSG_NOTIFY] = "NOTIFY",
		[HUSK_MSG_ADOPT] = "ADOPT",
	};
	if (type < sizeof names / sizeof names[0] && names[type])
		return names[type];
	return "UNKNOWN";
}

size_t husk_frame_finish(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t id, size_t payload_len)
{
	struct husk_frame_hdr h = { .len = (uint32_t)payload_len, .type = type, .flags = flags, .id = id };
	husk_frame_hdr_pack(buf, &h);
	return HUSK_FRAME_HDR_SIZE + payload_len;
}

int husk_msg_parse(const uint8_t *payload, size_t len, struct husk_arena *a, const struct husk_cbor_item **root,
		   struct husk_err *err)
{
	/* every item takes at least one byte of input; half of the arena is
	 * kept for the strings the decoders copy */
	size_t cap = len < 1 ? 1 : (len > HUSK_MSG_MAX_ITEMS ? HUSK_MSG_MAX_ITEMS : len);
	size_t fits = (a->cap - a->used) / 2 / sizeof(struct husk_cbor_item);
	if (cap > fits)
		cap = fits;
	struct husk_cbor_item *items = cap ? husk_arena_alloc_array(a, cap, sizeof *items) : NULL;
	uint32_t n = 0;
	if (!items)
		return husk_err_set(err, ENOMEM, "message of %zu bytes does not fit the decode arena", len);
	int r = husk_cbor_decode(payload, len, items, (uint32_t)cap, &n, err);
	if (r < 0)
		return r;
	if (items[0].type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "message body is not a map");
	*root = items;
	return 0;
}

static const struct husk_cbor_item *get_field(const struct husk_cbor_item *map, const char *key, bool optional,
					      int want, struct husk_err *err, int *r)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(map, key);
	*r = 0;
	if (!v || v->type == HUSK_CBOR_NULL) {
		if (!optional)
			*r = husk_err_set(err, EBADMSG, "field \"%s\" is missing", key);
		return NULL;
	}
	if (v->type != want) {
		*r = husk_err_set(err, EBADMSG, "field \"%s\" has the wrong type", key);
		return NULL;
	}
	return v;
}

int husk_msg_get_uint(const struct husk_cbor_item *map, const char *key, uint64_t max, bool optional, uint64_t *out,
		      struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *v = get_field(map, key, optional, HUSK_CBOR_UINT, err, &r);
	if (!v)
		return r;
	if (v->v.u > max)
		return husk_err_set(err, ERANGE, "field \"%s\" is out of range", key);
	*out = v->v.u;
	return 0;
}

int husk_msg_get_bool(const struct husk_cbor_item *map, const char *key, bool optional, bool *out, struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *v = get_field(map, key, optional, HUSK_CBOR_BOOL, err, &r);
	if (!v)
		return r;
	*out = v->v.b;
	return 0;
}

static int text_to_cstr(const struct husk_cbor_item *v, const char *what, size_t max_len, struct husk_arena *a,
			char **out, struct husk_err *err)
{
	if (v->count > max_len)
		return husk_err_set(err, E2BIG, "%s is longer than %zu bytes", what, max_len);
	if (memchr(v->v.ptr, '\0', v->count))
		return husk_err_set(err, EBADMSG, "%s contains a NUL byte", what);
	*out = husk_arena_strndup(a, v->v.ptr, v->count);
	if (!*out)
		return husk_err_set(err, ENOMEM, "%s does not fit the decode arena", what);
	return 0;
}

int husk_msg_get_text(const struct husk_cbor_item *map, const char *key, size_t max_len, bool optional,
		      struct husk_arena *a, char **out, struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *v = get_field(map, key, optional, HUSK_CBOR_TEXT, err, &r);
	if (!v)
		return r;
	return text_to_cstr(v, key, max_len, a, out, err);
}

int husk_msg_get_ctr(const struct husk_cbor_item *map, bool *has, uint32_t *ctr, struct husk_err *err)
{
	uint64_t v = UINT64_MAX;
	*has = false;
	*ctr = 0;
	int r = husk_msg_get_uint(map, "ctr", HUSK_POD_MAX - 1, true, &v, err);
	if (r < 0)
		return r;
	if (v != UINT64_MAX) {
		*has = true;
		*ctr = (uint32_t)v;
	}
	return 0;
}

int husk_msg_get_bytes(const struct husk_cbor_item *map, const char *key, size_t max_len, const uint8_t **data,
		       size_t *len, struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *v = get_field(map, key, false, HUSK_CBOR_BYTES, err, &r);
	if (!v)
		return r;
	if (v->count > max_len)
		return husk_err_set(err, E2BIG, "field \"%s\" is longer than %zu bytes", key, max_len);
	*data = v->v.ptr;
	*len = v->count;
	return 0;
}

/* An array of text items as a NULL-terminated char* vector. */
static int get_strv(const struct husk_cbor_item *map, const char *key, uint32_t max_n, bool allow_empty,
		    struct husk_arena *a, char ***out, uint32_t *n_out, struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *arr = get_field(map, key, false, HUSK_CBOR_ARRAY, err, &r);
	if (!arr)
		return r;
	if (arr->count > max_n)
		return husk_err_set(err, E2BIG, "field \"%s\" has more than %u entries", key, max_n);
	if (arr->count == 0 && !allow_empty)
		return husk_err_set(err, EINVAL, "field \"%s\" is empty", key);
	char **v = husk_arena_alloc_array(a, (size_t)arr->count + 1, sizeof *v);
	if (!v)
		return husk_err_set(err, ENOMEM, "field \"%s\" does not fit the decode arena", key);
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_TEXT)
			return husk_err_set(err, EBADMSG, "field \"%s\" entry %u is not text", key, i);
		r = text_to_cstr(it, key, HUSK_MAX_STRING, a, &v[i], err);
		if (r < 0)
			return r;
	}
	v[arr->count] = NULL;
	*out = v;
	*n_out = arr->count;
	return 0;
}

static int get_uintv(const struct husk_cbor_item *map, const char *key, uint32_t max_n, struct husk_arena *a,
		     uint32_t **out, uint32_t *n_out, struct husk_err *err)
{
	int r;
	const struct husk_cbor_item *arr = get_field(map, key, true, HUSK_CBOR_ARRAY, err, &r);
	*n_out = 0;
	*out = NULL;
	if (!arr)
		return r;
	if (arr->count > max_n)
		return husk_err_set(err, E2BIG, "field \"%s\" has more than %u entries", key, max_n);
	uint32_t *v = husk_arena_alloc_array(a, arr->count ? arr->count : 1, sizeof *v);
	if (!v)
		return husk_err_set(err, ENOMEM, "field \"%s\" does not fit the decode arena", key);
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_UINT || it->v.u > UINT32_MAX)
			return husk_err_set(err, EBADMSG, "field \"%s\" entry %u is not a 32-bit id", key, i);
		v[i] = (uint32_t)it->v.u;
	}
	*out = v;
	*n_out = arr->count;
	return 0;
}

void husk_msg_encode_error(struct husk_cbor_enc *e, int code, const char *message)
{
	husk_cbor_put_map(e, 2);
	husk_cbor_put_text(e, "code");
	husk_cbor_put_uint(e, (uint64_t)(code > 0 && code <= 4095 ? code : EIO));
	husk_cbor_put_text(e, "message");
	size_t n = strnlen(message, 1024);
	/* cut at a character boundary: the text stays UTF-8 */
	if (n == 1024 && message[n])
		while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
			n--;
	husk_cbor_put_textn(e, message, n);
}

void husk_msg_encode_signal(struct husk_cbor_enc *e, int sig, bool all)
{
	husk_cbor_put_map(e, 2);
	husk_cbor_put_text(e, "signal");
	husk_cbor_put_uint(e, (uint64_t)sig);
	husk_cbor_put_text(e, "all");
	husk_cbor_put_bool(e, all);
}

void husk_msg_encode_one_uint(struct husk_cbor_enc *e, const char *key, uint64_t value)
{
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, key);
	husk_cbor_put_uint(e, value);
}

static void put_strv(struct husk_cbor_enc *e, char *const *v, uint32_t n)
{
	husk_cbor_put_array(e, n);
	for (uint32_t i = 0; i < n; i++)
		husk_cbor_put_text(e, v[i]);
}

void husk_msg_encode_process(struct husk_cbor_enc *e, const struct husk_process_spec *p)
{
	husk_cbor_put_map(e, p->security ? 10 : 9);
	husk_cbor_put_text(e, "args");
	put_strv(e, p->args, p->n_args);
	husk_cbor_put_text(e, "env");
	put_strv(e, p->env, p->n_env);
	husk_cbor_put_text(e, "cwd");
	husk_cbor_put_text(e, p->cwd);
	husk_cbor_put_text(e, "uid");
	husk_cbor_put_uint(e, p->uid);
	husk_cbor_put_text(e, "gid");
	husk_cbor_put_uint(e, p->gid);
	husk_cbor_put_text(e, "gids");
	husk_cbor_put_array(e, p->n_gids);
	for (uint32_t i = 0; i < p->n_gids; i++)
		husk_cbor_put_uint(e, p->gids[i]);
	husk_cbor_put_text(e, "terminal");
	husk_cbor_put_bool(e, p->terminal);
	husk_cbor_put_text(e, "rows");
	husk_cbor_put_uint(e, p->rows);
	husk_cbor_put_text(e, "cols");
	husk_cbor_put_uint(e, p->cols);
	if (p->security) {
		husk_cbor_put_text(e, "security");
		husk_msg_encode_security(e, p->security);
	}
}

int husk_msg_decode_process(const struct husk_cbor_item *p, struct husk_arena *a, struct husk_process_spec *out,
			    struct husk_err *err)
{
	uint64_t u;
	int r;
	if (p->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "field \"process\" is not a map");
	if ((r = get_strv(p, "args", HUSK_MAX_ARGS, false, a, &out->args, &out->n_args, err)) < 0)
		return r;
	if ((r = get_strv(p, "env", HUSK_MAX_ENV, true, a, &out->env, &out->n_env, err)) < 0)
		return r;
	if ((r = husk_msg_get_text(p, "cwd", 4096, false, a, &out->cwd, err)) < 0)
		return r;
	if (out->cwd[0] != '/')
		return husk_err_set(err, EINVAL, "process cwd \"%s\" is not absolute", out->cwd);
	if ((r = husk_msg_get_uint(p, "uid", UINT32_MAX, false, &u, err)) < 0)
		return r;
	out->uid = (uint32_t)u;
	if ((r = husk_msg_get_uint(p, "gid", UINT32_MAX, false, &u, err)) < 0)
		return r;
	out->gid = (uint32_t)u;
	if ((r = get_uintv(p, "gids", HUSK_MAX_GIDS, a, &out->gids, &out->n_gids, err)) < 0)
		return r;
	if ((r = husk_msg_get_bool(p, "terminal", true, &out->terminal, err)) < 0)
		return r;
	u = 0;
	if ((r = husk_msg_get_uint(p, "rows", UINT16_MAX, true, &u, err)) < 0)
		return r;
	out->rows = (uint16_t)u;
	u = 0;
	if ((r = husk_msg_get_uint(p, "cols", UINT16_MAX, true, &u, err)) < 0)
		return r;
	out->cols = (uint16_t)u;
	const struct husk_cbor_item *sec = husk_cbor_map_get(p, "security");
	if (sec && sec->type != HUSK_CBOR_NULL) {
		out->security = husk_arena_alloc(a, sizeof *out->security);
		if (!out->security)
			return husk_err_set(err, ENOMEM, "security does not fit the decode arena");
		if ((r = husk_msg_decode_security(sec, a, out->security, err)) < 0)
			return husk_err_wrap(err, "security");
	}
	return 0;
}

/* the "process" member that CREATE and EXEC share */
static int decode_process_field(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_process_spec *out,
				struct husk_err *err)
{
	const struct husk_cbor_item *p = husk_cbor_map_get(root, "process");
	if (!p)
		return husk_err_set(err, EBADMSG, "field \"process\" is missing");
	int r = husk_msg_decode_process(p, a, out, err);
	return r < 0 ? husk_err_wrap(err, "process") : 0;
}

static const char *const join_keys[HUSK_JOIN_KINDS] = {
	[HUSK_JOIN_PID] = "pid",
	[HUSK_JOIN_IPC] = "ipc",
	[HUSK_JOIN_UTS] = "uts",
	[HUSK_JOIN_CGROUP] = "cgroup",
};
static const uint32_t join_ns[HUSK_JOIN_KINDS] = {
	[HUSK_JOIN_PID] = HUSK_NS_PID,
	[HUSK_JOIN_IPC] = HUSK_NS_IPC,
	[HUSK_JOIN_UTS] = HUSK_NS_UTS,
	[HUSK_JOIN_CGROUP] = HUSK_NS_CGROUP,
};

const char *husk_join_key(enum husk_join_kind k)
{
	return (unsigned)k < HUSK_JOIN_KINDS ? join_keys[k] : "?";
}

uint32_t husk_join_ns(enum husk_join_kind k)
{
	return (unsigned)k < HUSK_JOIN_KINDS ? join_ns[k] : 0;
}

static void put_join(struct husk_cbor_enc *e, const struct husk_ns_join *j)
{
	uint32_t n = 0;
	for (int k = 0; k < HUSK_JOIN_KINDS; k++)
		n += (j->mask & join_ns[k]) != 0;
	husk_cbor_put_text(e, "join");
	husk_cbor_put_map(e, n);
	for (int k = 0; k < HUSK_JOIN_KINDS; k++)
		if (j->mask & join_ns[k]) {
			husk_cbor_put_text(e, join_keys[k]);
			husk_cbor_put_uint(e, j->slot[k]);
		}
}

/* "join": {kind: slot}, only the four kinds, each once, slots in range */
static int get_join(const struct husk_cbor_item *root, struct husk_ns_join *out, struct husk_err *err)
{
	const struct husk_cbor_item *map = husk_cbor_map_get(root, "join");
	memset(out, 0, sizeof *out);
	if (!map || map->type == HUSK_CBOR_NULL)
		return 0;
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "field \"join\" has the wrong type");
	if (map->count > HUSK_JOIN_KINDS)
		return husk_err_set(err, E2BIG, "field \"join\" has more than %u entries", HUSK_JOIN_KINDS);
	const struct husk_cbor_item *k = husk_cbor_first(map);
	for (uint32_t i = 0; i < map->count; i++) {
		const struct husk_cbor_item *v = husk_cbor_next(k);
		int kind = -1;
		for (int j = 0; j < HUSK_JOIN_KINDS && kind < 0; j++)
			if (husk_cbor_text_eq(k, join_keys[j]))
				kind = j;
		if (kind < 0)
			return husk_err_set(err, EINVAL,
					    "join: entry %u is not one of \"pid\", \"ipc\", \"uts\", \"cgroup\"", i);
		if (out->mask & join_ns[kind])
			return husk_err_set(err, EINVAL, "join: \"%s\" is given twice", join_keys[kind]);
		if (v->type != HUSK_CBOR_UINT || v->v.u >= HUSK_POD_MAX)
			return husk_err_set(err, ERANGE, "join: \"%s\" is not a slot below %u", join_keys[kind],
					    HUSK_POD_MAX);
		out->mask |= join_ns[kind];
		out->slot[kind] = (uint8_t)v->v.u;
		k = husk_cbor_next(v);
	}
	return 0;
}

/* ctr and join, with the rules a pod's CREATE follows */
static int decode_pod_fields(const struct husk_cbor_item *root, struct husk_create_msg *m, struct husk_err *err)
{
	bool has;
	int r;
	if ((r = husk_msg_get_ctr(root, &has, &m->ctr, err)) < 0 || (r = get_join(root, &m->join, err)) < 0 ||
	    (r = husk_msg_get_bool(root, "tree", true, &m->tree, err)) < 0)
		return r;
	if (m->ctr && m->network)
		return husk_err_set(err, EINVAL, "container %u of the pod carries a network (only the first may)",
				    m->ctr);
	const char *why =
		husk_join_problem(m->ctr, &m->join, m->container ? m->container->namespaces : HUSK_NS_DEFAULT);
	return why ? husk_err_set(err, EINVAL, "join: %s", why) : 0;
}

int husk_msg_encode_create(struct husk_cbor_enc *e, const struct husk_create_msg *m)
{
	husk_cbor_put_map(e, 6 + (m->container != NULL) + (m->resources != NULL) + (m->network != NULL) +
				     (m->notify_socket != NULL) + (m->ctr != 0) + (m->join.mask != 0) + m->tree +
				     (m->overlay_mib != 0) + m->hold);
	husk_cbor_put_text(e, "id");
	husk_cbor_put_text(e, m->id);
	husk_cbor_put_text(e, "rootfs_tag");
	husk_cbor_put_text(e, m->rootfs_tag);
	husk_cbor_put_text(e, "readonly");
	husk_cbor_put_bool(e, m->readonly);
	husk_cbor_put_text(e, "hostname");
	if (m->hostname)
		husk_cbor_put_text(e, m->hostname);
	else
		husk_cbor_put_null(e);
	husk_cbor_put_text(e, "stdin");
	husk_cbor_put_bool(e, m->stdin_open);
	husk_cbor_put_text(e, "process");
	husk_msg_encode_process(e, &m->process);
	if (m->container) {
		husk_cbor_put_text(e, "container");
		husk_msg_encode_container(e, m->container);
	}
	if (m->resources) {
		husk_cbor_put_text(e, "resources");
		husk_msg_encode_resources(e, m->resources);
	}
	if (m->network) {
		husk_cbor_put_text(e, "network");
		husk_msg_encode_network(e, m->network);
	}
	if (m->notify_socket) {
		husk_cbor_put_text(e, "notify_socket");
		husk_cbor_put_text(e, m->notify_socket);
	}
	/* pods only: the one-container CREATE stays as it was */
	if (m->ctr) {
		husk_cbor_put_text(e, "ctr");
		husk_cbor_put_uint(e, m->ctr);
	}
	if (m->join.mask)
		put_join(e, &m->join);
	/* pools only: a cold CREATE stays as it was */
	if (m->tree) {
		husk_cbor_put_text(e, "tree");
		husk_cbor_put_bool(e, true);
	}
	/* sandboxes only */
	if (m->overlay_mib) {
		husk_cbor_put_text(e, "overlay_mib");
		husk_cbor_put_uint(e, m->overlay_mib);
	}
	if (m->hold) {
		husk_cbor_put_text(e, "hold");
		husk_cbor_put_bool(e, true);
	}
	return e->overflow ? -ENOSPC : 0;
}

/* the copy-on-write root: 1 .. HUSK_OVERLAY_MAX_MIB MiB; with readonly
 * the overlay only takes the mount points and the root is then read-only */
static int decode_overlay(const struct husk_cbor_item *root, struct husk_create_msg *m, struct husk_err *err)
{
	uint64_t mib = 0;
	int r = husk_msg_get_uint(root, "overlay_mib", HUSK_OVERLAY_MAX_MIB, true, &mib, err);
	if (r < 0)
		return r;
	if (husk_cbor_map_get(root, "overlay_mib") && mib == 0)
		return husk_err_set(err, ERANGE, "overlay_mib must be from 1 to %u", HUSK_OVERLAY_MAX_MIB);
	m->overlay_mib = (uint32_t)mib;
	return 0;
}

int husk_msg_decode_create(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_create_msg *m,
			   struct husk_err *err)
{
	int r;
	memset(m, 0, sizeof *m);
	if ((r = husk_msg_get_text(root, "id", HUSK_MAX_ID, false, a, &m->id, err)) < 0)
		return r;
	if ((r = husk_msg_get_text(root, "rootfs_tag", 36, false, a, &m->rootfs_tag, err)) < 0)
		return r;
	if ((r = husk_msg_get_bool(root, "readonly", true, &m->readonly, err)) < 0)
		return r;
	if ((r = husk_msg_get_text(root, "hostname", 64, true, a, &m->hostname, err)) < 0)
		return r;
	if ((r = husk_msg_get_bool(root, "stdin", true, &m->stdin_open, err)) < 0)
		return r;
	if ((r = decode_process_field(root, a, &m->process, err)) < 0)
		return r;
	const struct husk_cbor_item *cc = husk_cbor_map_get(root, "container");
	if (cc && cc->type != HUSK_CBOR_NULL) {
		m->container = husk_arena_alloc(a, sizeof *m->container);
		if (!m->container)
			return husk_err_set(err, ENOMEM, "container config does not fit the decode arena");
		if ((r = husk_msg_decode_container(cc, a, m->container, err)) < 0)
			return husk_err_wrap(err, "container");
	}
	const struct husk_cbor_item *res = husk_cbor_map_get(root, "resources");
	if (res && res->type != HUSK_CBOR_NULL) {
		m->resources = husk_arena_alloc(a, sizeof *m->resources);
		if (!m->resources)
			return husk_err_set(err, ENOMEM, "resources do not fit the decode arena");
		if ((r = husk_msg_decode_resources(res, a, m->resources, err)) < 0)
			return r;
	}
	const struct husk_cbor_item *net = husk_cbor_map_get(root, "network");
	if (net && net->type != HUSK_CBOR_NULL && (r = husk_msg_decode_network(net, a, &m->network, err)) < 0)
		return r;
	if ((r = husk_msg_get_text(root, "notify_socket", HUSK_MAX_PATH, true, a, &m->notify_socket, err)) < 0)
		return r;
	if (m->notify_socket && (!husk_path_is_clean_abs(m->notify_socket) || !strcmp(m->notify_socket, "/")))
		return husk_err_set(err, EINVAL, "notify_socket \"%s\" is not a clean absolute file path",
				    m->notify_socket);
	if ((r = decode_overlay(root, m, err)) < 0 || (r = husk_msg_get_bool(root, "hold", true, &m->hold, err)) < 0)
		return r;
	return decode_pod_fields(root, m, err);
}

int husk_msg_encode_exec(struct husk_cbor_enc *e, const struct husk_exec_msg *m)
{
	husk_cbor_put_map(e, 2 + (m->ctr != 0));
	husk_cbor_put_text(e, "stdin");
	husk_cbor_put_bool(e, m->stdin_open);
	husk_cbor_put_text(e, "process");
	husk_msg_encode_process(e, &m->process);
	if (m->ctr) {
		husk_cbor_put_text(e, "ctr");
		husk_cbor_put_uint(e, m->ctr);
	}
	return e->overflow ? -ENOSPC : 0;
}

int husk_msg_decode_exec(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_exec_msg *m,
			 struct husk_err *err)
{
	int r;
	memset(m, 0, sizeof *m);
	bool has;
	if ((r = husk_msg_get_bool(root, "stdin", true, &m->stdin_open, err)) < 0 ||
	    (r = husk_msg_get_ctr(root, &has, &m->ctr, err)) < 0)
		return r;
	return decode_process_field(root, a, &m->process, err);
}
