#include "host/spec/spec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/state/fsutil.h"

static int get_string(json_t *obj, const char *key, bool required, const char **out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		*out = NULL;
		return required ? husk_err_set(err, EINVAL, "config.json: \"%s\" is missing", key) : 0;
	}
	if (!json_is_string(v))
		return husk_err_set(err, EINVAL, "config.json: \"%s\" must be a string", key);
	*out = json_string_value(v);
	return 0;
}

static int get_u32(json_t *obj, const char *key, const char *where, uint32_t *out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return husk_err_set(err, EINVAL, "config.json: %s.%s must be an integer from 0 to %u", where, key,
				    UINT32_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* A JSON array of strings as a NULL-terminated vector pointing into json. */
static int get_strv(json_t *obj, const char *key, const char *where, uint32_t max, char ***out, uint32_t *n_out,
		    struct husk_err *err)
{
	json_t *arr = json_object_get(obj, key);
	*n_out = 0;
	*out = calloc(1, sizeof **out);
	if (!*out)
		return husk_err_set(err, ENOMEM, "out of memory");
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: %s.%s must be an array of strings", where, key);
	size_t n = json_array_size(arr);
	if (n > max)
		return husk_err_set(err, E2BIG, "config.json: %s.%s has more than %u entries", where, key, max);
	char **v = realloc(*out, (n + 1) * sizeof *v);
	if (!v)
		return husk_err_set(err, ENOMEM, "out of memory");
	*out = v;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s))
			return husk_err_set(err, EINVAL, "config.json: %s.%s[%zu] must be a string", where, key, i);
		if (json_string_length(s) > HUSK_MAX_STRING)
			return husk_err_set(err, E2BIG, "config.json: %s.%s[%zu] is longer than %u bytes", where, key,
					    i, HUSK_MAX_STRING);
		v[i] = (char *)json_string_value(s);
	}
	v[n] = NULL;
	*n_out = (uint32_t)n;
	return 0;
}

int husk_spec_parse_process(json_t *process, struct husk_process_spec *out, struct husk_err *err)
{
	int r;
	const char *cwd;
	memset(out, 0, sizeof *out);
	if (!json_is_object(process))
		return husk_err_set(err, EINVAL, "config.json: \"process\" must be an object");
	if ((r = get_strv(process, "args", "process", HUSK_MAX_ARGS, &out->args, &out->n_args, err)) < 0)
		return r;
	if (out->n_args == 0)
		return husk_err_set(err, EINVAL, "config.json: process.args must not be empty");
	if ((r = get_strv(process, "env", "process", HUSK_MAX_ENV, &out->env, &out->n_env, err)) < 0)
		return r;
	for (uint32_t i = 0; i < out->n_env; i++)
		if (!strchr(out->env[i], '='))
			return husk_err_set(err, EINVAL, "config.json: process.env[%u] is not of the form KEY=VALUE",
					    i);
	if ((r = get_string(process, "cwd", true, &cwd, err)) < 0)
		return r;
	if (cwd[0] != '/')
		return husk_err_set(err, EINVAL, "config.json: process.cwd \"%s\" must be an absolute path", cwd);
	out->cwd = (char *)cwd;
	json_t *term = json_object_get(process, "terminal");
	if (term && !json_is_boolean(term))
		return husk_err_set(err, EINVAL, "config.json: process.terminal must be a boolean");
	out->terminal = term && json_is_true(term);
	json_t *cs = json_object_get(process, "consoleSize");
	if (cs && json_is_object(cs)) {
		uint32_t h = 0, w = 0;
		if ((r = get_u32(cs, "height", "process.consoleSize", &h, err)) < 0 ||
		    (r = get_u32(cs, "width", "process.consoleSize", &w, err)) < 0)
			return r;
		out->rows = (uint16_t)(h > UINT16_MAX ? UINT16_MAX : h);
		out->cols = (uint16_t)(w > UINT16_MAX ? UINT16_MAX : w);
	}
	json_t *user = json_object_get(process, "user");
	if (user) {
		if (!json_is_object(user))
			return husk_err_set(err, EINVAL, "config.json: process.user must be an object");
		if ((r = get_u32(user, "uid", "process.user", &out->uid, err)) < 0 ||
		    (r = get_u32(user, "gid", "process.user", &out->gid, err)) < 0)
			return r;
		json_t *gids = json_object_get(user, "additionalGids");
		if (gids && !json_is_null(gids)) {
			if (!json_is_array(gids))
				return husk_err_set(err, EINVAL,
						    "config.json: process.user.additionalGids must be an array");
			size_t n = json_array_size(gids);
			if (n > HUSK_MAX_GIDS)
				return husk_err_set(err, E2BIG, "config.json: more than %u additionalGids",
						    HUSK_MAX_GIDS);
			out->gids = calloc(n ? n : 1, sizeof *out->gids);
			if (!out->gids)
				return husk_err_set(err, ENOMEM, "out of memory");
			for (size_t i = 0; i < n; i++) {
				json_t *g = json_array_get(gids, i);
				if (!json_is_integer(g) || json_integer_value(g) < 0 ||
				    json_integer_value(g) > UINT32_MAX)
					return husk_err_set(
						err, EINVAL,
						"config.json: process.user.additionalGids[%zu] is not a gid", i);
				out->gids[i] = (uint32_t)json_integer_value(g);
			}
			out->n_gids = (uint32_t)n;
		}
	}
	return 0;
}

/* io.husk.rootfs.overlay_mib: a decimal 1 .. HUSK_OVERLAY_MAX_MIB. With
 * root.readonly too, the overlay holds the missing mount points (the rootfs
 * directory is never written) and the root is made read-only after them. */
static int parse_overlay(struct husk_spec *spec, struct husk_err *err)
{
	json_t *v = json_object_get(json_object_get(spec->json, "annotations"), "io.husk.rootfs.overlay_mib");
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	errno = 0;
	unsigned long n = s && *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
	if (!s || end == s || *end || errno || n < 1 || n > HUSK_OVERLAY_MAX_MIB)
		return husk_err_set(err, EINVAL, "annotation io.husk.rootfs.overlay_mib must be a number from 1 to %u",
				    HUSK_OVERLAY_MAX_MIB);
	spec->overlay_mib = (uint32_t)n;
	return 0;
}

/* io.husk.sandbox.hold: "true" or absent (husk_container_create takes it
 * only in a spec of husk's own) */
static int parse_hold(struct husk_spec *spec, struct husk_err *err)
{
	json_t *v = json_object_get(json_object_get(spec->json, "annotations"), HUSK_SPEC_HOLD_ANNOTATION);
	if (!v)
		return 0;
	if (!json_is_string(v) || strcmp(json_string_value(v), "true") != 0)
		return husk_err_set(err, EINVAL, "annotation %s must be \"true\"", HUSK_SPEC_HOLD_ANNOTATION);
	spec->hold = true;
	return 0;
}

int husk_spec_parse(struct husk_spec *spec, const char *bundle_abs, const char *text, size_t len, struct husk_err *err)
{
	json_error_t jerr;
	int r;
	const char *version, *root_path;

	memset(spec, 0, sizeof *spec);
	spec->bundle = strdup(bundle_abs);
	if (!spec->bundle)
		return husk_err_set(err, ENOMEM, "out of memory");
	spec->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!spec->json)
		return husk_err_set(err, EINVAL, "config.json: line %d column %d: %s", jerr.line, jerr.column,
				    jerr.text);
	if (!json_is_object(spec->json))
		return husk_err_set(err, EINVAL, "config.json: the document must be a JSON object");
	if ((r = get_string(spec->json, "ociVersion", true, &version, err)) < 0)
		return r;
	if (strncmp(version, "1.", 2) != 0)
		return husk_err_set(err, EINVAL, "config.json: ociVersion \"%s\" is not a 1.x version", version);

	json_t *root = json_object_get(spec->json, "root");
	if (!json_is_object(root))
		return husk_err_set(err, EINVAL, "config.json: \"root\" must be an object with a \"path\"");
	if ((r = get_string(root, "path", true, &root_path, err)) < 0)
		return r;
	json_t *ro = json_object_get(root, "readonly");
	if (ro && !json_is_boolean(ro))
		return husk_err_set(err, EINVAL, "config.json: root.readonly must be a boolean");
	spec->readonly = ro && json_is_true(ro);
	if ((r = parse_overlay(spec, err)) < 0 || (r = parse_hold(spec, err)) < 0)
		return r;
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s%s%s", root_path[0] == '/' ? "" : bundle_abs, root_path[0] == '/' ? "" : "/",
		     root_path) >= (int)sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "config.json: root.path is too long");
	char *real = realpath(path, NULL);
	if (!real)
		return husk_err_sys(err, errno, "rootfs %s", path);
	spec->rootfs = real;
	struct stat st;
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
		return husk_err_set(err, ENOTDIR, "rootfs %s is not a directory", real);

	if ((r = get_string(spec->json, "hostname", false, &spec->hostname, err)) < 0)
		return r;
	if (spec->hostname && strlen(spec->hostname) > 64)
		return husk_err_set(err, EINVAL, "config.json: hostname is longer than 64 bytes");

	json_t *process = json_object_get(spec->json, "process");
	if (!process)
		return husk_err_set(err, EINVAL, "config.json: \"process\" is missing");
	if ((r = husk_spec_parse_process(process, &spec->process, err)) < 0)
		return r;
	if ((r = husk_spec_parse_security(process, spec->json, &spec->process, err)) < 0)
		return r;
	json_t *linux_obj = json_object_get(spec->json, "linux");
	if ((r = husk_resources_from_json(json_object_get(linux_obj, "resources"), &spec->resources, err)) < 0 ||
	    (r = husk_resources_add_default_devices(&spec->resources, err)) < 0)
		return husk_err_wrap(err, "config.json");
	return husk_spec_parse_container(spec, err);
}

int husk_spec_load(struct husk_spec *spec, const char *bundle, struct husk_err *err)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	memset(spec, 0, sizeof *spec);
	char *abs = realpath(bundle, NULL);
	if (!abs)
		return husk_err_sys(err, errno, "bundle %s", bundle);
	snprintf(path, sizeof path, "%s/config.json", abs);
	int r = read_file(path, HUSK_SPEC_MAX_BYTES, &text, &len, err);
	if (r < 0) {
		free(abs);
		return r;
	}
	r = husk_spec_parse(spec, abs, text, len, err);
	free(abs);
	free(text);
	return r;
}

void husk_spec_free(struct husk_spec *spec)
{
	husk_spec_free_security(&spec->process);
	husk_resources_free(spec->resources);
	husk_spec_free_container(spec);
	husk_spec_notify_free(spec);
	free(spec->process.args);
	free(spec->process.env);
	free(spec->process.gids);
	free(spec->bundle);
	free(spec->rootfs);
	if (spec->json)
		json_decref(spec->json);
	memset(spec, 0, sizeof *spec);
}
