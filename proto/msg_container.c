#include "proto/msg_container.h"

#include <string.h>

bool husk_path_is_clean_abs(const char *p)
{
	size_t len = strlen(p);
	if (p[0] != '/' || len > HUSK_MAX_PATH)
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (const char *c = p + 1;;) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!end)
			return true;
		c = end + 1;
	}
}

bool husk_sysctl_key_valid(const char *k)
{
	size_t len = strlen(k);
	if (len == 0 || len > 256 || k[0] == '.' || k[0] == '/')
		return false;
	char prev = '.';
	for (size_t i = 0; i < len; i++) {
		char c = k[i];
		bool sep = c == '.' || c == '/';
		if (!sep && !(c == '-' || c == '_' || c == ':' || c == '+' || (c >= '0' && c <= '9') ||
			      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		if (sep && (prev == '.' || prev == '/'))
			return false; /* empty component, hence no ".." either */
		prev = c;
	}
	return prev != '.' && prev != '/';
}

static const char *id_maps_problem(const struct husk_id_map *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].size == 0)
			return "an id mapping has size 0";
		if ((uint64_t)m[i].container_id + m[i].size > (uint64_t)UINT32_MAX + 1 ||
		    (uint64_t)m[i].host_id + m[i].size > (uint64_t)UINT32_MAX + 1)
			return "an id mapping goes past the last id";
		for (uint32_t j = 0; j < i; j++)
			if (((uint64_t)m[i].container_id < (uint64_t)m[j].container_id + m[j].size &&
			     (uint64_t)m[j].container_id < (uint64_t)m[i].container_id + m[i].size) ||
			    ((uint64_t)m[i].host_id < (uint64_t)m[j].host_id + m[j].size &&
			     (uint64_t)m[j].host_id < (uint64_t)m[i].host_id + m[i].size))
				return "id mappings overlap";
	}
	return NULL;
}

const char *husk_namespaces_problem(const struct husk_container_config *c)
{
	if (c->namespaces & ~HUSK_NS_ALL)
		return "unknown namespace bits";
	if (!(c->namespaces & HUSK_NS_MOUNT))
		return "a mount namespace is required";
	if (c->n_uid_maps > HUSK_MAX_ID_MAPS || c->n_gid_maps > HUSK_MAX_ID_MAPS)
		return "too many id mappings";
	if (c->namespaces & HUSK_NS_USER) {
		if (!c->n_uid_maps || !c->n_gid_maps)
			return "a user namespace needs both uidMappings and gidMappings";
	} else if (c->n_uid_maps || c->n_gid_maps) {
		return "user namespace mappings specified, but user namespace isn't enabled in the config";
	}
	const char *why = id_maps_problem(c->uid_maps, c->n_uid_maps);
	return why ? why : id_maps_problem(c->gid_maps, c->n_gid_maps);
}

const char *husk_join_problem(uint32_t ctr, const struct husk_ns_join *j, uint32_t namespaces)
{
	if (ctr >= HUSK_POD_MAX)
		return "the container's slot is out of range";
	if (!j->mask)
		return NULL;
	if (j->mask & ~(uint32_t)(HUSK_NS_PID | HUSK_NS_IPC | HUSK_NS_UTS | HUSK_NS_CGROUP))
		return "only pid, ipc, uts and cgroup namespaces can be joined";
	if (j->mask & namespaces)
		return "a namespace is both joined and created";
	if (namespaces & HUSK_NS_USER)
		return "a container with a user namespace of its own cannot join namespaces";
	for (int k = 0; k < HUSK_JOIN_KINDS; k++) {
		if (!(j->mask & husk_join_ns((enum husk_join_kind)k)))
			continue;
		if (j->slot[k] >= HUSK_POD_MAX)
			return "a joined slot is out of range";
		if (j->slot[k] == ctr)
			return "a container cannot join its own namespaces";
	}
	return NULL;
}

const char *husk_mount_attr_problem(uint64_t set, uint64_t clr)
{
	if ((set | clr) & ~(uint64_t)HUSK_MOUNT_ATTR_ALLOWED)
		return "unknown recursive mount attributes";
	if (set & clr & ~(uint64_t)MOUNT_ATTR__ATIME)
		return "a recursive mount attribute is both set and cleared";
	uint64_t atime_clr = clr & MOUNT_ATTR__ATIME, atime = set & MOUNT_ATTR__ATIME;
	if (atime_clr && atime_clr != MOUNT_ATTR__ATIME)
		return "the access-time mode is cleared only in part";
	if (atime && !atime_clr)
		return "an access-time mode is set without clearing the old one";
	if (atime && atime != MOUNT_ATTR_NOATIME && atime != MOUNT_ATTR_STRICTATIME)
		return "unknown access-time mode";
	return NULL;
}

static void put_text_or_null(struct husk_cbor_enc *e, const char *s)
{
	if (s)
		husk_cbor_put_text(e, s);
	else
		husk_cbor_put_null(e);
}

static void put_strv(struct husk_cbor_enc *e, char *const *v, uint32_t n)
{
	husk_cbor_put_array(e, n);
	for (uint32_t i = 0; i < n; i++)
		husk_cbor_put_text(e, v[i]);
}

static void encode_mount(struct husk_cbor_enc *e, const struct husk_mount *m)
{
	husk_cbor_put_map(e, 8);
	husk_cbor_put_text(e, "dst");
	husk_cbor_put_text(e, m->destination);
	if (m->bind) {
		husk_cbor_put_text(e, "bind");
		husk_cbor_put_uint(e, m->bind_index);
		husk_cbor_put_text(e, "dir");
		husk_cbor_put_bool(e, m->bind_dir);
	} else {
		husk_cbor_put_text(e, "type");
		husk_cbor_put_text(e, m->type);
		husk_cbor_put_text(e, "src");
		put_text_or_null(e, m->source);
	}
	husk_cbor_put_text(e, "flags");
	husk_cbor_put_uint(e, m->flags);
	husk_cbor_put_text(e, "prop");
	husk_cbor_put_uint(e, m->propagation);
	husk_cbor_put_text(e, "data");
	put_text_or_null(e, m->data);
	husk_cbor_put_text(e, "rset");
	husk_cbor_put_uint(e, m->rattr_set);
	husk_cbor_put_text(e, "rclr");
	husk_cbor_put_uint(e, m->rattr_clr);
}

static void encode_id_maps(struct husk_cbor_enc *e, const struct husk_id_map *m, uint32_t n)
{
	husk_cbor_put_array(e, n);
	for (uint32_t i = 0; i < n; i++) {
		husk_cbor_put_array(e, 3);
		husk_cbor_put_uint(e, m[i].container_id);
		husk_cbor_put_uint(e, m[i].host_id);
		husk_cbor_put_uint(e, m[i].size);
	}
}

void husk_msg_encode_container(struct husk_cbor_enc *e, const struct husk_container_config *c)
{
	husk_cbor_put_map(e, 10);
	husk_cbor_put_text(e, "mounts");
	husk_cbor_put_array(e, c->n_mounts);
	for (uint32_t i = 0; i < c->n_mounts; i++)
		encode_mount(e, &c->mounts[i]);
	husk_cbor_put_text(e, "masked");
	put_strv(e, c->masked, c->n_masked);
	husk_cbor_put_text(e, "readonly");
	put_strv(e, c->readonly_paths, c->n_readonly);
	husk_cbor_put_text(e, "propagation");
	husk_cbor_put_uint(e, c->rootfs_propagation);
	husk_cbor_put_text(e, "sysctl");
	husk_cbor_put_array(e, c->n_sysctl);
	for (uint32_t i = 0; i < c->n_sysctl; i++) {
		husk_cbor_put_array(e, 2);
		husk_cbor_put_text(e, c->sysctl[i].key);
		husk_cbor_put_text(e, c->sysctl[i].value);
	}
	husk_cbor_put_text(e, "devices");
	husk_cbor_put_array(e, c->n_devices);
	for (uint32_t i = 0; i < c->n_devices; i++) {
		const struct husk_device *d = &c->devices[i];
		char type[2] = { d->type, '\0' };
		husk_cbor_put_map(e, 7);
		husk_cbor_put_text(e, "path");
		husk_cbor_put_text(e, d->path);
		husk_cbor_put_text(e, "type");
		husk_cbor_put_text(e, type);
		husk_cbor_put_text(e, "major");
		husk_cbor_put_uint(e, d->major);
		husk_cbor_put_text(e, "minor");
		husk_cbor_put_uint(e, d->minor);
		husk_cbor_put_text(e, "mode");
		husk_cbor_put_uint(e, d->mode);
		husk_cbor_put_text(e, "uid");
		husk_cbor_put_uint(e, d->uid);
		husk_cbor_put_text(e, "gid");
		husk_cbor_put_uint(e, d->gid);
	}
	husk_cbor_put_text(e, "domainname");
	put_text_or_null(e, c->domainname);
	husk_cbor_put_text(e, "ns");
	husk_cbor_put_uint(e, c->namespaces);
	husk_cbor_put_text(e, "uidmap");
	encode_id_maps(e, c->uid_maps, c->n_uid_maps);
	husk_cbor_put_text(e, "gidmap");
	encode_id_maps(e, c->gid_maps, c->n_gid_maps);
}

/* An optional array of at most max entries: its first element, or NULL. */
static int get_array(const struct husk_cbor_item *map, const char *key, uint32_t max, uint32_t *n,
		     const struct husk_cbor_item **first, struct husk_err *err)
{
	const struct husk_cbor_item *v = husk_cbor_map_get(map, key);
	*n = 0;
	*first = NULL;
	if (!v || v->type == HUSK_CBOR_NULL)
		return 0;
	if (v->type != HUSK_CBOR_ARRAY)
		return husk_err_set(err, EBADMSG, "field \"%s\" is not an array", key);
	if (v->count > max)
		return husk_err_set(err, E2BIG, "field \"%s\" has more than %u entries", key, max);
	*n = v->count;
	*first = husk_cbor_first(v);
	return 0;
}

static int text_copy(const struct husk_cbor_item *v, const char *what, size_t max, struct husk_arena *a, char **out,
		     struct husk_err *err)
{
	if (v->type != HUSK_CBOR_TEXT)
		return husk_err_set(err, EBADMSG, "%s is not text", what);
	if (v->count > max)
		return husk_err_set(err, E2BIG, "%s is longer than %zu bytes", what, max);
	if (memchr(v->v.ptr, '\0', v->count))
		return husk_err_set(err, EBADMSG, "%s contains a NUL byte", what);
	*out = husk_arena_strndup(a, v->v.ptr, v->count);
	return *out ? 0 : husk_err_set(err, ENOMEM, "%s does not fit the decode arena", what);
}

static int get_pathv(const struct husk_cbor_item *map, const char *key, struct husk_arena *a, char ***out,
		     uint32_t *n_out, struct husk_err *err)
{
	const struct husk_cbor_item *it;
	uint32_t n;
	int r = get_array(map, key, HUSK_MAX_PATHS, &n, &it, err);
	if (r < 0)
		return r;
	char **v = husk_arena_alloc_array(a, (size_t)n + 1, sizeof *v);
	if (!v)
		return husk_err_set(err, ENOMEM, "field \"%s\" does not fit the decode arena", key);
	for (uint32_t i = 0; i < n; i++, it = husk_cbor_next(it)) {
		if ((r = text_copy(it, key, HUSK_MAX_PATH, a, &v[i], err)) < 0)
			return r;
		if (!husk_path_is_clean_abs(v[i]))
			return husk_err_set(err, EINVAL, "%s entry %u is not a clean absolute path", key, i);
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int decode_mount(const struct husk_cbor_item *it, struct husk_arena *a, struct husk_mount *m,
			struct husk_err *err)
{
	uint64_t u = 0;
	int r;
	if (it->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "not a map");
	if ((r = husk_msg_get_text(it, "dst", HUSK_MAX_PATH, false, a, &m->destination, err)) < 0)
		return r;
	if (!husk_path_is_clean_abs(m->destination))
		return husk_err_set(err, EINVAL, "destination is not a clean absolute path");
	const struct husk_cbor_item *b = husk_cbor_map_get(it, "bind");
	if (b && b->type != HUSK_CBOR_NULL) {
		if ((r = husk_msg_get_uint(it, "bind", HUSK_MAX_MOUNTS - 1, false, &u, err)) < 0 ||
		    (r = husk_msg_get_bool(it, "dir", false, &m->bind_dir, err)) < 0)
			return r;
		m->bind = true;
		m->bind_index = (uint32_t)u;
	} else {
		if ((r = husk_msg_get_text(it, "type", 64, false, a, &m->type, err)) < 0 ||
		    (r = husk_msg_get_text(it, "src", HUSK_MAX_PATH, true, a, &m->source, err)) < 0)
			return r;
		if (!m->type[0] || strchr(m->type, '/'))
			return husk_err_set(err, EINVAL, "bad file system type");
	}
	if ((r = husk_msg_get_uint(it, "flags", UINT32_MAX, false, &m->flags, err)) < 0 ||
	    (r = husk_msg_get_uint(it, "prop", UINT32_MAX, false, &m->propagation, err)) < 0 ||
	    (r = husk_msg_get_text(it, "data", HUSK_MAX_MOUNT_DATA, true, a, &m->data, err)) < 0 ||
	    (r = husk_msg_get_uint(it, "rset", UINT32_MAX, true, &m->rattr_set, err)) < 0 ||
	    (r = husk_msg_get_uint(it, "rclr", UINT32_MAX, true, &m->rattr_clr, err)) < 0)
		return r;
	if (m->flags & ~(uint64_t)HUSK_MOUNT_FLAGS_ALLOWED)
		return husk_err_set(err, EINVAL, "flags 0x%llx not allowed", (unsigned long long)m->flags);
	if (m->propagation & ~(uint64_t)HUSK_MOUNT_PROP_ALLOWED)
		return husk_err_set(err, EINVAL, "propagation 0x%llx not allowed", (unsigned long long)m->propagation);
	const char *why = husk_mount_attr_problem(m->rattr_set, m->rattr_clr);
	if (why)
		return husk_err_set(err, EINVAL, "%s (set 0x%llx, clear 0x%llx)", why, (unsigned long long)m->rattr_set,
				    (unsigned long long)m->rattr_clr);
	return 0;
}

static int decode_device(const struct husk_cbor_item *it, struct husk_arena *a, struct husk_device *d,
			 struct husk_err *err)
{
	uint64_t u[5] = { 0 };
	static const char *const keys[] = { "major", "minor", "mode", "uid", "gid" };
	char *type = NULL;
	int r;
	if (it->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "not a map");
	if ((r = husk_msg_get_text(it, "path", HUSK_MAX_PATH, false, a, &d->path, err)) < 0 ||
	    (r = husk_msg_get_text(it, "type", 1, false, a, &type, err)) < 0)
		return r;
	if (!husk_path_is_clean_abs(d->path) || !strcmp(d->path, "/"))
		return husk_err_set(err, EINVAL, "path is not a clean absolute path");
	if (strcmp(type, "c") && strcmp(type, "b") && strcmp(type, "p"))
		return husk_err_set(err, EINVAL, "type must be c, b or p");
	d->type = type[0];
	for (int i = 0; i < 5; i++)
		if ((r = husk_msg_get_uint(it, keys[i], i == 2 ? 07777 : UINT32_MAX, false, &u[i], err)) < 0)
			return r;
	d->major = (uint32_t)u[0];
	d->minor = (uint32_t)u[1];
	d->mode = (uint32_t)u[2];
	d->uid = (uint32_t)u[3];
	d->gid = (uint32_t)u[4];
	return 0;
}

static int decode_id_maps(const struct husk_cbor_item *map, const char *key, struct husk_id_map *out, uint32_t *n_out,
			  struct husk_err *err)
{
	const struct husk_cbor_item *it;
	uint32_t n;
	int r = get_array(map, key, HUSK_MAX_ID_MAPS, &n, &it, err);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < n; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_ARRAY || it->count != 3)
			return husk_err_set(err, EBADMSG, "%s[%u] is not a [container, host, size] triple", key, i);
		uint32_t v[3];
		const struct husk_cbor_item *x = husk_cbor_first(it);
		for (int k = 0; k < 3; k++, x = husk_cbor_next(x)) {
			if (x->type != HUSK_CBOR_UINT || x->v.u > UINT32_MAX)
				return husk_err_set(err, EBADMSG, "%s[%u] holds a value that is not a 32-bit id", key,
						    i);
			v[k] = (uint32_t)x->v.u;
		}
		out[i] = (struct husk_id_map){ v[0], v[1], v[2] };
	}
	*n_out = n;
	return 0;
}

int husk_msg_decode_container(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_container_config *out,
			      struct husk_err *err)
{
	const struct husk_cbor_item *it;
	uint32_t n;
	int r;
	memset(out, 0, sizeof *out);
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "container is not a map");

	if ((r = get_array(map, "mounts", HUSK_MAX_MOUNTS, &n, &it, err)) < 0)
		return r;
	out->mounts = husk_arena_alloc_array(a, n ? n : 1, sizeof *out->mounts);
	if (!out->mounts)
		return husk_err_set(err, ENOMEM, "mounts do not fit the decode arena");
	for (uint32_t i = 0; i < n; i++, it = husk_cbor_next(it))
		if ((r = decode_mount(it, a, &out->mounts[i], err)) < 0)
			return husk_err_wrap(err, "mounts[%u]", i);
	out->n_mounts = n;

	if ((r = get_pathv(map, "masked", a, &out->masked, &out->n_masked, err)) < 0 ||
	    (r = get_pathv(map, "readonly", a, &out->readonly_paths, &out->n_readonly, err)) < 0)
		return r;
	if ((r = husk_msg_get_uint(map, "propagation", UINT32_MAX, true, &out->rootfs_propagation, err)) < 0)
		return r;
	if (out->rootfs_propagation & ~(uint64_t)HUSK_MOUNT_PROP_ALLOWED)
		return husk_err_set(err, EINVAL, "rootfs propagation 0x%llx not allowed",
				    (unsigned long long)out->rootfs_propagation);

	if ((r = get_array(map, "sysctl", HUSK_MAX_SYSCTL, &n, &it, err)) < 0)
		return r;
	out->sysctl = husk_arena_alloc_array(a, n ? n : 1, sizeof *out->sysctl);
	if (!out->sysctl)
		return husk_err_set(err, ENOMEM, "sysctl does not fit the decode arena");
	for (uint32_t i = 0; i < n; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_ARRAY || it->count != 2)
			return husk_err_set(err, EBADMSG, "sysctl[%u] is not a [key, value] pair", i);
		const struct husk_cbor_item *k = husk_cbor_first(it);
		if ((r = text_copy(k, "sysctl key", 256, a, &out->sysctl[i].key, err)) < 0 ||
		    (r = text_copy(husk_cbor_next(k), "sysctl value", HUSK_MAX_SYSCTL_VALUE, a, &out->sysctl[i].value,
				   err)) < 0)
			return r;
		if (!husk_sysctl_key_valid(out->sysctl[i].key))
			return husk_err_set(err, EINVAL, "sysctl key \"%s\" is not valid", out->sysctl[i].key);
	}
	out->n_sysctl = n;

	if ((r = get_array(map, "devices", HUSK_MAX_DEVICES, &n, &it, err)) < 0)
		return r;
	out->devices = husk_arena_alloc_array(a, n ? n : 1, sizeof *out->devices);
	if (!out->devices)
		return husk_err_set(err, ENOMEM, "devices do not fit the decode arena");
	for (uint32_t i = 0; i < n; i++, it = husk_cbor_next(it))
		if ((r = decode_device(it, a, &out->devices[i], err)) < 0)
			return husk_err_wrap(err, "devices[%u]", i);
	out->n_devices = n;

	if ((r = husk_msg_get_text(map, "domainname", 64, true, a, &out->domainname, err)) < 0)
		return r;

	uint64_t ns = 0;
	if ((r = husk_msg_get_uint(map, "ns", UINT32_MAX, false, &ns, err)) < 0 ||
	    (r = decode_id_maps(map, "uidmap", out->uid_maps, &out->n_uid_maps, err)) < 0 ||
	    (r = decode_id_maps(map, "gidmap", out->gid_maps, &out->n_gid_maps, err)) < 0)
		return r;
	out->namespaces = (uint32_t)ns;
	const char *why = husk_namespaces_problem(out);
	if (why)
		return husk_err_set(err, EINVAL, "namespaces: %s", why);
	return 0;
}
