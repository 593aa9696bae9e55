/* linux.namespaces, linux.uidMappings and linux.gidMappings as runc reads
 * them, for a container that lives in its own VM:
 * - an entry without a path is a namespace the guest creates; a type that
 *   is missing shares the guest's (runc's semantics), except mount, which
 *   is required;
 * - "network" never creates a namespace: the VM's own network (its NICs)
 *   is the container's, and the VM boundary is the isolation. With a path
 *   (podman's /run/netns/...) it is accepted too and kept in netns_path
 *   for the host side that attaches the VM to it;
 * - pid, ipc, uts and cgroup with a path are kept in ns_path: the
 *   container layer (host/container/pod.c) turns a path that names a husk
 *   container's monitor into a join of that container's VM, and any other
 *   path into the error below (a host namespace a process in the guest
 *   cannot join);
 * - mount, user and time with a path: that error at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_container.h"
#include "host/spec/spec.h"

static const struct {
	const char *type;
	uint32_t bit; /* 0: never created in the guest */
} ns_types[] = {
	{ "mount", HUSK_NS_MOUNT },   { "pid", HUSK_NS_PID },   { "uts", HUSK_NS_UTS },   { "ipc", HUSK_NS_IPC },
	{ "cgroup", HUSK_NS_CGROUP }, { "user", HUSK_NS_USER }, { "time", HUSK_NS_TIME }, { "network", 0 },
};
#define N_NS_TYPES (sizeof ns_types / sizeof ns_types[0])

static int get_id(json_t *obj, const char *key, const char *where, size_t i, uint32_t *out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return husk_err_set(err, EINVAL, "config.json: linux.%s[%zu].%s must be an integer from 0 to %u", where,
				    i, key, UINT32_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int parse_maps(json_t *lx, const char *key, struct husk_id_map *out, uint32_t *n_out, struct husk_err *err)
{
	json_t *arr = lx ? json_object_get(lx, key) : NULL;
	*n_out = 0;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: linux.%s must be an array", key);
	if (json_array_size(arr) > HUSK_MAX_ID_MAPS)
		return husk_err_set(err, E2BIG, "config.json: linux.%s has more than %u entries", key,
				    HUSK_MAX_ID_MAPS);
	size_t i;
	json_t *m;
	json_array_foreach(arr, i, m)
	{
		int r;
		if (!json_is_object(m))
			return husk_err_set(err, EINVAL, "config.json: linux.%s[%zu] must be an object", key, i);
		if ((r = get_id(m, "containerID", key, i, &out[i].container_id, err)) < 0 ||
		    (r = get_id(m, "hostID", key, i, &out[i].host_id, err)) < 0 ||
		    (r = get_id(m, "size", key, i, &out[i].size, err)) < 0)
			return r;
		*n_out = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_entry(json_t *e, size_t i, unsigned *seen, struct husk_container_config *c, struct husk_err *err)
{
	json_t *jt = json_is_object(e) ? json_object_get(e, "type") : NULL;
	if (!json_is_string(jt))
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces[%zu] must be an object with a \"type\"",
				    i);
	const char *type = json_string_value(jt);
	size_t k = 0;
	while (k < N_NS_TYPES && strcmp(ns_types[k].type, type))
		k++;
	if (k == N_NS_TYPES)
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces[%zu]: unknown namespace type \"%.64s\"",
				    i, type);
	if (*seen & (1u << k))
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces: the %s namespace is listed twice",
				    type);
	*seen |= 1u << k;
	json_t *jp = json_object_get(e, "path");
	if (jp && !json_is_null(jp) && !json_is_string(jp))
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces[%zu].path must be a string", i);
	const char *path = json_is_string(jp) ? json_string_value(jp) : "";
	if (!path[0]) {
		c->namespaces |= ns_types[k].bit;
		return 0;
	}
	int join = husk_ns_join_index(type);
	if (ns_types[k].bit && join < 0)
		return husk_ns_host_path_error(type, path, err);
	if (path[0] != '/')
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces[%zu].path must be absolute", i);
	char **slot = join >= 0 ? &c->ns_path[join] : &c->netns_path;
	*slot = strdup(path);
	return *slot ? 0 : husk_err_set(err, ENOMEM, "out of memory");
}

static const char *const join_kinds[HUSK_NS_JOIN_KINDS] = { "pid", "ipc", "uts", "cgroup" };

int husk_ns_join_index(const char *type)
{
	for (int i = 0; i < (int)HUSK_NS_JOIN_KINDS; i++)
		if (!strcmp(type, join_kinds[i]))
			return i;
	return -1;
}

const char *husk_ns_join_name(int index)
{
	return index >= 0 && index < (int)HUSK_NS_JOIN_KINDS ? join_kinds[index] : "?";
}

int husk_ns_host_path_error(const char *type, const char *path, struct husk_err *err)
{
	return husk_err_set(err, EINVAL,
			    "config.json: joining an existing %s namespace (path %.256s) is not possible across the "
			    "VM boundary",
			    type, path);
}

int husk_spec_parse_namespaces(json_t *lx, const char *hostname, struct husk_container_config *c, struct husk_err *err)
{
	json_t *arr = lx ? json_object_get(lx, "namespaces") : NULL;
	unsigned seen = 0;
	int r;
	c->namespaces = 0;
	if (arr && !json_is_null(arr) && !json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: linux.namespaces must be an array");
	for (size_t i = 0; json_is_array(arr) && i < json_array_size(arr); i++)
		if ((r = parse_entry(json_array_get(arr, i), i, &seen, c, err)) < 0)
			return r;
	if (!(c->namespaces & HUSK_NS_MOUNT))
		return husk_err_set(err, EINVAL, "config.json: a mount namespace is required");
	if ((r = parse_maps(lx, "uidMappings", c->uid_maps, &c->n_uid_maps, err)) < 0 ||
	    (r = parse_maps(lx, "gidMappings", c->gid_maps, &c->n_gid_maps, err)) < 0)
		return r;
	/* runc's validator: these would change the guest's names (a joined
	 * UTS namespace, another container's, gets them as runc sets them) */
	bool uts = (c->namespaces & HUSK_NS_UTS) || c->ns_path[husk_ns_join_index("uts")];
	if (hostname && hostname[0] && !uts)
		return husk_err_set(err, EINVAL, "config.json: unable to set hostname without a private UTS namespace");
	if (c->domainname && c->domainname[0] && !uts)
		return husk_err_set(err, EINVAL,
				    "config.json: unable to set domainname without a private UTS namespace");
	json_t *offsets = lx ? json_object_get(lx, "timeOffsets") : NULL;
	if (offsets && !json_is_null(offsets) && (!json_is_object(offsets) || json_object_size(offsets)))
		return husk_err_set(err, ENOTSUP, "config.json: linux.timeOffsets is not supported by husk yet");
	const char *why = husk_namespaces_problem(c);
	if (why)
		return husk_err_set(err, EINVAL, "config.json: %s", why);
	return 0;
}
