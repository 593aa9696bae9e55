/* Container-wide settings from config.json: mounts (options resolved into
 * mount flags the way runc does), linux.{maskedPaths, readonlyPaths,
 * rootfsPropagation, sysctl, devices}, domainname and the namespaces
 * (spec_namespaces.c). Bind sources are
 * resolved and checked here, so a missing one fails `create` before
 * anything starts. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/mount.h>

#include "proto/msg_container.h"
#include "host/spec/spec.h"

struct mount_opt {
	const char *name;
	bool clear; /* clears flag instead of setting it */
	unsigned long flag;
};

static const struct mount_opt mount_opts[] = {
	{ "defaults", false, 0 },
	{ "ro", false, MS_RDONLY },
	{ "rw", true, MS_RDONLY },
	{ "nosuid", false, MS_NOSUID },
	{ "suid", true, MS_NOSUID },
	{ "nodev", false, MS_NODEV },
	{ "dev", true, MS_NODEV },
	{ "noexec", false, MS_NOEXEC },
	{ "exec", true, MS_NOEXEC },
	{ "sync", false, MS_SYNCHRONOUS },
	{ "async", true, MS_SYNCHRONOUS },
	{ "dirsync", false, MS_DIRSYNC },
	{ "mand", false, MS_MANDLOCK },
	{ "nomand", true, MS_MANDLOCK },
	{ "noatime", false, MS_NOATIME },
	{ "atime", true, MS_NOATIME },
	{ "nodiratime", false, MS_NODIRATIME },
	{ "diratime", true, MS_NODIRATIME },
	{ "relatime", false, MS_RELATIME },
	{ "norelatime", true, MS_RELATIME },
	{ "strictatime", false, MS_STRICTATIME },
	{ "nostrictatime", true, MS_STRICTATIME },
	{ "lazytime", false, MS_LAZYTIME },
	{ "nolazytime", true, MS_LAZYTIME },
	{ "silent", false, MS_SILENT },
	{ "loud", true, MS_SILENT },
	{ "bind", false, MS_BIND },
	{ "rbind", false, MS_BIND | MS_REC },
	{ "remount", false, 0 },   /* meaningless in a spec: ignored as runc does */
	{ "tmpcopyup", false, 0 }, /* runc extension: not supported, ignored */
};

/* The spec's recursive attributes (mount_setattr(2) with AT_RECURSIVE on
 * the whole tree once it is mounted). As with the plain options, a later
 * option undoes an earlier one: "rro" then "rrw" clears read-only. The
 * access time is one mode: "rnoatime", "rrelatime" and "rstrictatime"
 * choose it; "ratime", "rnorelatime" and "rnostrictatime" drop that same
 * mode again when it was chosen earlier in the list (and change nothing
 * otherwise: the tree keeps the modes it has). */
static const struct mount_opt rattr_opts[] = {
	{ "rro", false, MOUNT_ATTR_RDONLY },
	{ "rrw", true, MOUNT_ATTR_RDONLY },
	{ "rnosuid", false, MOUNT_ATTR_NOSUID },
	{ "rsuid", true, MOUNT_ATTR_NOSUID },
	{ "rnodev", false, MOUNT_ATTR_NODEV },
	{ "rdev", true, MOUNT_ATTR_NODEV },
	{ "rnoexec", false, MOUNT_ATTR_NOEXEC },
	{ "rexec", true, MOUNT_ATTR_NOEXEC },
	{ "rnodiratime", false, MOUNT_ATTR_NODIRATIME },
	{ "rdiratime", true, MOUNT_ATTR_NODIRATIME },
	{ "rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW },
	{ "rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW },
};

/* mode: MOUNT_ATTR_{NOATIME,RELATIME,STRICTATIME} */
static const struct {
	const char *set, *unset;
	unsigned long mode;
} ratime_opts[] = {
	{ "rnoatime", "ratime", MOUNT_ATTR_NOATIME },
	{ "rrelatime", "rnorelatime", MOUNT_ATTR_RELATIME },
	{ "rstrictatime", "rnostrictatime", MOUNT_ATTR_STRICTATIME },
};

#define RATIME_NONE (~0ul)

/* One recursive option: true when s is one (and applied). */
static bool rattr_apply(const char *s, struct husk_mount *m, unsigned long *atime)
{
	for (size_t k = 0; k < sizeof rattr_opts / sizeof rattr_opts[0]; k++) {
		if (strcmp(rattr_opts[k].name, s))
			continue;
		uint64_t f = rattr_opts[k].flag;
		if (rattr_opts[k].clear) {
			m->rattr_clr |= f;
			m->rattr_set &= ~f;
		} else {
			m->rattr_set |= f;
			m->rattr_clr &= ~f;
		}
		return true;
	}
	for (size_t k = 0; k < sizeof ratime_opts / sizeof ratime_opts[0]; k++) {
		if (!strcmp(ratime_opts[k].set, s)) {
			*atime = ratime_opts[k].mode;
			return true;
		}
		if (!strcmp(ratime_opts[k].unset, s)) {
			if (*atime == ratime_opts[k].mode)
				*atime = RATIME_NONE;
			return true;
		}
	}
	return false;
}

/* After the options: the access-time mode into the pair. */
static void rattr_finish(struct husk_mount *m, unsigned long atime)
{
	if (atime != RATIME_NONE) {
		m->rattr_set |= atime;
		m->rattr_clr |= MOUNT_ATTR__ATIME;
	}
}

static const struct {
	const char *name;
	unsigned long flags;
} prop_opts[] = {
	{ "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
	{ "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
	{ "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
	{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
};

static unsigned long prop_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof prop_opts / sizeof prop_opts[0]; i++)
		if (!strcmp(prop_opts[i].name, name))
			return prop_opts[i].flags;
	return 0;
}

/* Lexically cleans an absolute path (runc's filepath.Clean): duplicate
 * slashes, "." and ".." resolved. A relative path gets a leading "/". */
static char *clean_path(const char *in)
{
	size_t len = strlen(in);
	if (len > HUSK_MAX_PATH)
		return NULL;
	char *out = malloc(len + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	out[o++] = '/';
	for (const char *c = in; *c;) {
		while (*c == '/')
			c++;
		const char *end = c;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.')) {
			/* nothing */
		} else if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
		} else {
			if (o > 1)
				out[o++] = '/';
			memcpy(out + o, c, n);
			o += n;
		}
		c = end;
	}
	out[o] = '\0';
	return out;
}

static int oom(struct husk_err *err)
{
	return husk_err_set(err, ENOMEM, "out of memory");
}

/* Appends ",s" (or "s") to a malloc'd data string. */
static int data_append(char **data, const char *s, struct husk_err *err)
{
	size_t old = *data ? strlen(*data) : 0, n = strlen(s);
	if (old + n + 2 > HUSK_MAX_MOUNT_DATA)
		return husk_err_set(err, E2BIG, "mount data is longer than %u bytes", HUSK_MAX_MOUNT_DATA);
	char *d = realloc(*data, old + n + 2);
	if (!d)
		return oom(err);
	if (old)
		d[old++] = ',';
	memcpy(d + old, s, n + 1);
	*data = d;
	return 0;
}

static int parse_options(json_t *opts, unsigned idx, struct husk_mount *m, struct husk_err *err)
{
	if (!opts || json_is_null(opts))
		return 0;
	if (!json_is_array(opts))
		return husk_err_set(err, EINVAL, "config.json: mounts[%u].options must be an array of strings", idx);
	if (json_array_size(opts) > 256)
		return husk_err_set(err, E2BIG, "config.json: mounts[%u].options has more than 256 entries", idx);
	size_t i;
	json_t *o;
	unsigned long atime = RATIME_NONE;
	json_array_foreach(opts, i, o)
	{
		if (!json_is_string(o))
			return husk_err_set(err, EINVAL, "config.json: mounts[%u].options[%zu] must be a string", idx,
					    i);
		const char *s = json_string_value(o);
		bool known = rattr_apply(s, m, &atime);
		for (size_t k = 0; k < sizeof mount_opts / sizeof mount_opts[0] && !known; k++) {
			if (strcmp(mount_opts[k].name, s))
				continue;
			known = true;
			if (mount_opts[k].clear)
				m->flags &= ~(uint64_t)mount_opts[k].flag;
			else
				m->flags |= mount_opts[k].flag;
		}
		unsigned long p = prop_lookup(s);
		if (p) {
			m->propagation = p;
			known = true;
		}
		if (!known && data_append(&m->data, s, err) < 0)
			return husk_err_wrap(err, "config.json: mounts[%u]", idx);
	}
	rattr_finish(m, atime);
	return 0;
}

/* A bind source: absolute (relative ones are relative to the bundle),
 * existing; a host tmpfs bound on /dev/shm becomes a guest tmpfs of the
 * same size (Docker's --shm-size). */
static int resolve_bind(struct husk_spec *spec, unsigned idx, const char *source, struct husk_mount *m,
			uint32_t *n_binds, struct husk_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	if (!source || !source[0])
		return husk_err_set(err, EINVAL, "config.json: mounts[%u]: a bind mount needs a source", idx);
	if (snprintf(path, sizeof path, "%s%s%s", source[0] == '/' ? "" : spec->bundle, source[0] == '/' ? "" : "/",
		     source) >= (int)sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "config.json: mounts[%u]: bind source is too long", idx);
	char *real = realpath(path, NULL);
	if (!real || stat(real, &st) < 0) {
		int e = errno;
		free(real);
		return husk_err_sys(err, e, "config.json: mounts[%u]: bind source %s", idx, path);
	}
	m->host_source = real;
	struct statfs sfs;
	if (!strcmp(m->destination, "/dev/shm") && S_ISDIR(st.st_mode) && statfs(real, &sfs) == 0 &&
	    sfs.f_type == TMPFS_MAGIC) {
		char opt[64];
		unsigned long long size = (unsigned long long)sfs.f_blocks * (unsigned long long)sfs.f_bsize;
		m->type = strdup("tmpfs");
		m->source = strdup("shm");
		if (!m->type || !m->source)
			return oom(err);
		m->flags &= ~(uint64_t)(MS_BIND | MS_REC);
		snprintf(opt, sizeof opt, "size=%llu", size);
		free(m->data);
		m->data = NULL;
		if (data_append(&m->data, "mode=1777", err) < 0 || data_append(&m->data, opt, err) < 0)
			return husk_err_wrap(err, "config.json: mounts[%u]", idx);
		return 0;
	}
	m->bind = true;
	m->bind_dir = S_ISDIR(st.st_mode);
	m->bind_index = (*n_binds)++;
	/* the data options of a bind mount mean nothing */
	free(m->data);
	m->data = NULL;
	return 0;
}

static int parse_mount(struct husk_spec *spec, json_t *jm, unsigned idx, struct husk_mount *m, uint32_t *n_binds,
		       struct husk_err *err)
{
	if (!json_is_object(jm))
		return husk_err_set(err, EINVAL, "config.json: mounts[%u] must be an object", idx);
	json_t *jd = json_object_get(jm, "destination"), *jt = json_object_get(jm, "type"),
	       *js = json_object_get(jm, "source");
	if (!json_is_string(jd) || !json_string_value(jd)[0])
		return husk_err_set(err, EINVAL, "config.json: mounts[%u].destination must be a non-empty string", idx);
	if ((jt && !json_is_null(jt) && !json_is_string(jt)) || (js && !json_is_null(js) && !json_is_string(js)))
		return husk_err_set(err, EINVAL, "config.json: mounts[%u].type and .source must be strings", idx);
	const char *type = json_is_string(jt) ? json_string_value(jt) : "";
	const char *source = json_is_string(js) ? json_string_value(js) : NULL;
	m->destination = clean_path(json_string_value(jd));
	if (!m->destination)
		return husk_err_set(err, ENAMETOOLONG, "config.json: mounts[%u].destination is too long", idx);
	if (source && strlen(source) > HUSK_MAX_PATH)
		return husk_err_set(err, ENAMETOOLONG, "config.json: mounts[%u].source is too long", idx);
	int r = parse_options(json_object_get(jm, "options"), idx, m, err);
	if (r < 0)
		return r;
	if (!strcmp(type, "bind") || (m->flags & MS_BIND)) {
		m->flags |= MS_BIND;
		/* the bind's own mount as "rro"/"rrw" leave it, whatever the
		 * order: the host stages the source read-only from MS_RDONLY */
		if (m->rattr_set & MOUNT_ATTR_RDONLY)
			m->flags |= MS_RDONLY;
		if (m->rattr_clr & MOUNT_ATTR_RDONLY)
			m->flags &= ~(uint64_t)MS_RDONLY;
		return resolve_bind(spec, idx, source, m, n_binds, err);
	}
	if (!type[0] || strlen(type) > 64 || strchr(type, '/'))
		return husk_err_set(err, EINVAL, "config.json: mounts[%u].type \"%s\" is not a file system type", idx,
				    type);
	if (!strcmp(type, "cgroup")) {
		/* the guest kernel has cgroup v2 only; v1 controller options mean nothing there */
		type = "cgroup2";
		free(m->data);
		m->data = NULL;
	}
	m->type = strdup(type);
	m->source = strdup(source ? source : type);
	if (!m->type || !m->source)
		return oom(err);
	return 0;
}

static int parse_paths(json_t *linux_obj, const char *key, char ***out, uint32_t *n_out, struct husk_err *err)
{
	json_t *arr = linux_obj ? json_object_get(linux_obj, key) : NULL;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: linux.%s must be an array of strings", key);
	size_t n = json_array_size(arr);
	if (n > HUSK_MAX_PATHS)
		return husk_err_set(err, E2BIG, "config.json: linux.%s has more than %u entries", key, HUSK_MAX_PATHS);
	*out = calloc(n + 1, sizeof **out);
	if (!*out)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s) || json_string_value(s)[0] != '/')
			return husk_err_set(err, EINVAL, "config.json: linux.%s[%zu] must be an absolute path", key, i);
		if (!((*out)[i] = clean_path(json_string_value(s))))
			return husk_err_set(err, ENAMETOOLONG, "config.json: linux.%s[%zu] is too long", key, i);
		*n_out = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_sysctl(json_t *linux_obj, struct husk_container_config *c, struct husk_err *err)
{
	json_t *obj = linux_obj ? json_object_get(linux_obj, "sysctl") : NULL;
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return husk_err_set(err, EINVAL, "config.json: linux.sysctl must be an object of strings");
	size_t n = json_object_size(obj);
	if (n > HUSK_MAX_SYSCTL)
		return husk_err_set(err, E2BIG, "config.json: linux.sysctl has more than %u keys", HUSK_MAX_SYSCTL);
	c->sysctl = calloc(n ? n : 1, sizeof *c->sysctl);
	if (!c->sysctl)
		return oom(err);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (!husk_sysctl_key_valid(key))
			return husk_err_set(err, EINVAL, "config.json: linux.sysctl key \"%.64s\" is not a sysctl name",
					    key);
		if (!json_is_string(v) || json_string_length(v) > HUSK_MAX_SYSCTL_VALUE)
			return husk_err_set(err, EINVAL,
					    "config.json: linux.sysctl[\"%s\"] must be a string of at most %u bytes",
					    key, HUSK_MAX_SYSCTL_VALUE);
		struct husk_sysctl *s = &c->sysctl[c->n_sysctl++];
		s->key = strdup(key);
		s->value = strdup(json_string_value(v));
		if (!s->key || !s->value)
			return oom(err);
	}
	return 0;
}

static int get_dev_u32(json_t *d, const char *key, size_t i, uint32_t def, uint32_t max, uint32_t *out,
		       struct husk_err *err)
{
	json_t *v = json_object_get(d, key);
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return husk_err_set(err, EINVAL, "config.json: linux.devices[%zu].%s must be an integer from 0 to %u",
				    i, key, max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int parse_devices(json_t *linux_obj, struct husk_container_config *c, struct husk_err *err)
{
	json_t *arr = linux_obj ? json_object_get(linux_obj, "devices") : NULL;
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: linux.devices must be an array");
	size_t n = json_array_size(arr);
	if (n > HUSK_MAX_DEVICES)
		return husk_err_set(err, E2BIG, "config.json: linux.devices has more than %u entries",
				    HUSK_MAX_DEVICES);
	c->devices = calloc(n ? n : 1, sizeof *c->devices);
	if (!c->devices)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		json_t *d = json_array_get(arr, i), *jp, *jt;
		struct husk_device *dev = &c->devices[i];
		if (!json_is_object(d) || !json_is_string(jp = json_object_get(d, "path")) ||
		    !json_is_string(jt = json_object_get(d, "type")))
			return husk_err_set(err, EINVAL, "config.json: linux.devices[%zu] needs a path and a type", i);
		const char *t = json_string_value(jt);
		if (json_string_value(jp)[0] != '/')
			return husk_err_set(err, EINVAL, "config.json: linux.devices[%zu].path must be absolute", i);
		if (strcmp(t, "c") && strcmp(t, "u") && strcmp(t, "b") && strcmp(t, "p"))
			return husk_err_set(err, EINVAL,
					    "config.json: linux.devices[%zu].type \"%s\" is not c, u, b or p", i, t);
		dev->type = t[0] == 'u' ? 'c' : t[0];
		int r;
		if ((r = get_dev_u32(d, "major", i, 0, UINT32_MAX, &dev->major, err)) < 0 ||
		    (r = get_dev_u32(d, "minor", i, 0, UINT32_MAX, &dev->minor, err)) < 0 ||
		    (r = get_dev_u32(d, "fileMode", i, 0666, UINT32_MAX, &dev->mode, err)) < 0 ||
		    (r = get_dev_u32(d, "uid", i, 0, UINT32_MAX, &dev->uid, err)) < 0 ||
		    (r = get_dev_u32(d, "gid", i, 0, UINT32_MAX, &dev->gid, err)) < 0)
			return r;
		/* Podman (--privileged, --device) passes the host's mode with its
		 * file type bits: as runc, only the permission bits count */
		dev->mode &= 07777;
		if (dev->type != 'p' && (!json_object_get(d, "major") || !json_object_get(d, "minor")))
			return husk_err_set(err, EINVAL, "config.json: linux.devices[%zu] needs major and minor", i);
		dev->path = clean_path(json_string_value(jp));
		if (!dev->path || !strcmp(dev->path, "/"))
			return husk_err_set(err, EINVAL, "config.json: linux.devices[%zu].path is not a file path", i);
		c->n_devices = (uint32_t)i + 1;
	}
	return 0;
}

int husk_spec_parse_container(struct husk_spec *spec, struct husk_err *err)
{
	int r;
	spec->container = calloc(1, sizeof *spec->container);
	if (!spec->container)
		return oom(err);
	struct husk_container_config *c = spec->container;
	json_t *mounts = json_object_get(spec->json, "mounts");
	if (mounts && !json_is_null(mounts)) {
		if (!json_is_array(mounts))
			return husk_err_set(err, EINVAL, "config.json: \"mounts\" must be an array");
		size_t n = json_array_size(mounts);
		if (n > HUSK_MAX_MOUNTS)
			return husk_err_set(err, E2BIG, "config.json: more than %u mounts", HUSK_MAX_MOUNTS);
		c->mounts = calloc(n ? n : 1, sizeof *c->mounts);
		if (!c->mounts)
			return oom(err);
		uint32_t n_binds = 0;
		for (size_t i = 0; i < n; i++) {
			c->n_mounts = (uint32_t)i + 1;
			if ((r = parse_mount(spec, json_array_get(mounts, i), (unsigned)i, &c->mounts[i], &n_binds,
					     err)) < 0)
				return r;
		}
	}
	json_t *lx = json_object_get(spec->json, "linux");
	if (lx && !json_is_null(lx) && !json_is_object(lx))
		return husk_err_set(err, EINVAL, "config.json: \"linux\" must be an object");
	if (!json_is_object(lx))
		lx = NULL;
	if ((r = parse_paths(lx, "maskedPaths", &c->masked, &c->n_masked, err)) < 0 ||
	    (r = parse_paths(lx, "readonlyPaths", &c->readonly_paths, &c->n_readonly, err)) < 0 ||
	    (r = parse_sysctl(lx, c, err)) < 0 || (r = parse_devices(lx, c, err)) < 0)
		return r;
	json_t *rp = lx ? json_object_get(lx, "rootfsPropagation") : NULL;
	if (rp && !json_is_null(rp)) {
		if (!json_is_string(rp))
			return husk_err_set(err, EINVAL, "config.json: linux.rootfsPropagation must be a string");
		const char *s = json_string_value(rp);
		if (s[0] && !(c->rootfs_propagation = prop_lookup(s)))
			return husk_err_set(err, EINVAL,
					    "config.json: linux.rootfsPropagation \"%s\" is not a propagation", s);
	}
	json_t *dn = json_object_get(spec->json, "domainname");
	if (dn && !json_is_null(dn)) {
		if (!json_is_string(dn) || json_string_length(dn) > 64)
			return husk_err_set(err, EINVAL,
					    "config.json: domainname must be a string of at most 64 bytes");
		if (!(c->domainname = strdup(json_string_value(dn))))
			return oom(err);
	}
	return husk_spec_parse_namespaces(lx, spec->hostname, c, err);
}

static void free_strv(char **v, uint32_t n)
{
	for (uint32_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void husk_spec_free_container(struct husk_spec *spec)
{
	struct husk_container_config *c = spec->container;
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n_mounts; i++) {
		struct husk_mount *m = &c->mounts[i];
		free(m->destination);
		free(m->type);
		free(m->source);
		free(m->data);
		free(m->host_source);
	}
	free(c->mounts);
	free_strv(c->masked, c->n_masked);
	free_strv(c->readonly_paths, c->n_readonly);
	for (uint32_t i = 0; i < c->n_sysctl; i++) {
		free(c->sysctl[i].key);
		free(c->sysctl[i].value);
	}
	free(c->sysctl);
	for (uint32_t i = 0; i < c->n_devices; i++)
		free(c->devices[i].path);
	free(c->devices);
	free(c->domainname);
	free(c->netns_path);
	for (unsigned i = 0; i < HUSK_NS_JOIN_KINDS; i++)
		free(c->ns_path[i]);
	free(c);
	spec->container = NULL;
}
