#include "host/state/config.h"

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "host/state/fsutil.h"

struct key_def {
	const char *section, *name, *env;
};

static const struct key_def key_defs[CFG_KEY_COUNT] = {
	[CFG_KERNEL] = { "vm", "kernel", "HUSK_KERNEL" },
	[CFG_INITRAMFS] = { "vm", "initramfs", "HUSK_INITRAMFS" },
	[CFG_QEMU] = { "vm", "qemu", "HUSK_QEMU" },
	[CFG_VIRTIOFSD] = { "vm", "virtiofsd", "HUSK_VIRTIOFSD" },
	[CFG_ACCEL] = { "vm", "accel", "HUSK_ACCEL" },
	[CFG_VCPUS] = { "vm", "vcpus", "HUSK_VCPUS" },
	[CFG_MEMORY_MIB] = { "vm", "memory_mib", "HUSK_MEMORY_MIB" },
	[CFG_VSOCK_BACKEND] = { "vm", "vsock", "HUSK_VSOCK" },
	[CFG_BOOT_TIMEOUT] = { "vm", "boot_timeout", "HUSK_BOOT_TIMEOUT" },
	[CFG_KERNEL_PARAMS] = { "vm", "kernel_params", "HUSK_KERNEL_PARAMS" },
	[CFG_LOG_LEVEL] = { "log", "level", "HUSK_LOG_LEVEL" },
	[CFG_SANDBOX] = { "vm", "sandbox", "HUSK_SANDBOX" },
	[CFG_TCG_TB_SIZE_MIB] = { "vm", "tcg_tb_size_mib", "HUSK_TCG_TB_SIZE_MIB" },
	[CFG_VIRTIOFS_CACHE] = { "vm", "virtiofs_cache", "HUSK_VIRTIOFS_CACHE" },
	[CFG_VIRTIOFS_NOFILE] = { "vm", "virtiofs_nofile", "HUSK_VIRTIOFS_NOFILE" },
	[CFG_VIRTIOFS_SETID] = { "vm", "virtiofs_setid", "HUSK_VIRTIOFS_SETID" },
	[CFG_CONSOLE_LOG_MAX_KIB] = { "vm", "console_log_max_kib", "HUSK_CONSOLE_LOG_MAX_KIB" },
	[CFG_ALLOWED_ANNOTATIONS] = { "security", "allowed_annotations", "HUSK_ALLOWED_ANNOTATIONS" },
	[CFG_VMM_UID_BASE] = { "security", "vmm_uid_base", "HUSK_VMM_UID_BASE" },
	[CFG_VMM_UID_COUNT] = { "security", "vmm_uid_count", "HUSK_VMM_UID_COUNT" },
	[CFG_POOL_SIZE] = { "pool", "size", "HUSK_POOL_SIZE" },
	[CFG_POOL_USE] = { "pool", "use", "HUSK_POOL" },
	[CFG_SANDBOX_MEMORY_MIB] = { "sandbox", "memory_mib", "HUSK_SANDBOX_MEMORY_MIB" },
	[CFG_SANDBOX_CPUS] = { "sandbox", "cpus", "HUSK_SANDBOX_CPUS" },
};

static void set(struct husk_config_entry *e, const char *value, const char *source)
{
	snprintf(e->value, sizeof e->value, "%s", value);
	snprintf(e->source, sizeof e->source, "%s", source);
}

/* Guest artefacts sit next to the binary in the build tree (build/husk,
 * build/vmlinux) and in LIBDIR after `make install`. */
static void default_artifact(struct husk_config_entry *e, const char *file)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	if (exe_dir(dir, sizeof dir) == 0) {
		snprintf(path, sizeof path, "%s/%s", dir, file);
		if (access(path, R_OK) == 0) {
			set(e, path, "default (beside the husk binary)");
			return;
		}
	}
	snprintf(path, sizeof path, "%s/%s", HUSK_LIBDIR, file);
	set(e, path, "default");
}

static void default_virtiofsd(struct husk_config_entry *e)
{
	static const char *const candidates[] = { "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd",
						  "/usr/bin/virtiofsd" };
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
		if (access(candidates[i], X_OK) == 0) {
			set(e, candidates[i], "default");
			return;
		}
	set(e, candidates[0], "default");
}

struct ini_ctx {
	struct husk_config *cfg;
	struct husk_err *err;
	int bad;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ctx = user;
	for (int k = 0; k < CFG_KEY_COUNT; k++) {
		if (strcmp(key_defs[k].section, section) == 0 && strcmp(key_defs[k].name, name) == 0) {
			char src[HUSK_CONFIG_VALUE_MAX];
			snprintf(src, sizeof src, "file %s", ctx->cfg->path);
			set(&ctx->cfg->e[k], value, src);
			return 1;
		}
	}
	husk_err_set(ctx->err, EINVAL, "%s: unknown key \"%s\" in section [%s]", ctx->cfg->path, name, section);
	ctx->bad = 1;
	return 0;
}

#define LIST_SEP " \t,"

/* the next word of a blank- or comma-separated list: *len bytes at the
 * returned pointer, or NULL at the end */
static const char *list_next(const char **p, size_t *len)
{
	const char *s = *p + strspn(*p, LIST_SEP);
	*len = strcspn(s, LIST_SEP);
	*p = s + *len;
	return *len ? s : NULL;
}

/* annotation keys: letters, digits and . _ - /, a '*' only at the end */
static int validate_annotation_list(const struct husk_config_entry *e, struct husk_err *err)
{
	const char *p = e->value, *w;
	size_t len;
	while ((w = list_next(&p, &len))) {
		for (size_t i = 0; i < len; i++) {
			char c = w[i];
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				  strchr("._-/", c) || (c == '*' && i == len - 1);
			if (!ok)
				return husk_err_set(err, EINVAL,
						    "allowed_annotations: \"%.*s\" is not an annotation key (a "
						    "trailing * matches a prefix) (%s)",
						    (int)len, w, e->source);
		}
	}
	return 0;
}

bool husk_config_annotation_allowed(const struct husk_config *cfg, const char *key)
{
	const char *p = cfg->e[CFG_ALLOWED_ANNOTATIONS].value, *w;
	size_t len;
	while ((w = list_next(&p, &len))) {
		if (w[len - 1] == '*' ? strncmp(key, w, len - 1) == 0 : strlen(key) == len && !strncmp(key, w, len))
			return true;
	}
	return false;
}

/* [pool] use / HUSK_POOL: "auto" or "off"; the words HUSK_POOL took
 * before the key existed (off, 0, no, false; on, 1, yes, true; any case)
 * are kept and written back as auto or off */
static int validate_pool_use(struct husk_config_entry *e, struct husk_err *err)
{
	static const char *const off[] = { "off", "0", "no", "false" }, *const on[] = { "auto", "on", "1", "yes",
											"true" };
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
		if (!strcasecmp(e->value, off[i])) {
			snprintf(e->value, sizeof e->value, "off");
			return 0;
		}
	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
		if (!strcasecmp(e->value, on[i])) {
			snprintf(e->value, sizeof e->value, "auto");
			return 0;
		}
	return husk_err_set(err, EINVAL, "pool use must be auto or off, not \"%.64s\" (%s)", e->value, e->source);
}

static int validate(struct husk_config *cfg, struct husk_err *err)
{
	const char *accel = cfg->e[CFG_ACCEL].value;
	if (strcmp(accel, "auto") && strcmp(accel, "kvm") && strcmp(accel, "tcg"))
		return husk_err_set(err, EINVAL, "accel must be auto, kvm or tcg, not \"%s\" (%s)", accel,
				    cfg->e[CFG_ACCEL].source);
	const char *vs = cfg->e[CFG_VSOCK_BACKEND].value;
	if (strcmp(vs, "auto") && strcmp(vs, "vhost") && strcmp(vs, "vhost-user"))
		return husk_err_set(err, EINVAL, "vsock must be auto, vhost or vhost-user, not \"%s\" (%s)", vs,
				    cfg->e[CFG_VSOCK_BACKEND].source);
	const char *lvl = cfg->e[CFG_LOG_LEVEL].value;
	if (strcmp(lvl, "error") && strcmp(lvl, "warning") && strcmp(lvl, "info") && strcmp(lvl, "debug"))
		return husk_err_set(err, EINVAL, "log level must be error, warning, info or debug, not \"%s\" (%s)",
				    lvl, cfg->e[CFG_LOG_LEVEL].source);
	const char *sandbox = cfg->e[CFG_SANDBOX].value;
	if (strcmp(sandbox, "on") && strcmp(sandbox, "off"))
		return husk_err_set(err, EINVAL, "sandbox must be on or off, not \"%s\" (%s)", sandbox,
				    cfg->e[CFG_SANDBOX].source);
	const char *cache = cfg->e[CFG_VIRTIOFS_CACHE].value;
	if (strcmp(cache, "auto") && strcmp(cache, "always") && strcmp(cache, "none"))
		return husk_err_set(err, EINVAL, "virtiofs_cache must be auto, always or none, not \"%s\" (%s)", cache,
				    cfg->e[CFG_VIRTIOFS_CACHE].source);
	const char *setid = cfg->e[CFG_VIRTIOFS_SETID].value;
	if (strcmp(setid, "refuse") && strcmp(setid, "allow"))
		return husk_err_set(err, EINVAL, "virtiofs_setid must be refuse or allow, not \"%s\" (%s)", setid,
				    cfg->e[CFG_VIRTIOFS_SETID].source);
	int r = validate_annotation_list(&cfg->e[CFG_ALLOWED_ANNOTATIONS], err);
	if (r < 0 || (r = validate_pool_use(&cfg->e[CFG_POOL_USE], err)) < 0)
		return r;
	static const struct {
		enum husk_config_key key;
		long min, max;
	} ranges[] = { { CFG_VCPUS, 1, 64 },
		       { CFG_MEMORY_MIB, 64, 1 << 20 },
		       { CFG_BOOT_TIMEOUT, 1, 3600 },
		       { CFG_TCG_TB_SIZE_MIB, 1, 4096 },
		       { CFG_VIRTIOFS_NOFILE, 1024, 1 << 20 },
		       { CFG_CONSOLE_LOG_MAX_KIB, 4, 1 << 20 },
		       /* never root's or a system account's; below (uid_t)-2 */
		       { CFG_VMM_UID_BASE, 1000, 4294000000L },
		       { CFG_VMM_UID_COUNT, 1, 1 << 20 },
		       { CFG_POOL_SIZE, 1, 64 },
		       { CFG_SANDBOX_MEMORY_MIB, 128, 1 << 20 },
		       { CFG_SANDBOX_CPUS, 1, 64 } };
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
		const struct husk_config_entry *e = &cfg->e[ranges[i].key];
		char *end;
		errno = 0;
		long v = strtol(e->value, &end, 10);
		if (errno || end == e->value || *end || v < ranges[i].min || v > ranges[i].max)
			return husk_err_set(err, EINVAL, "%s must be a number from %ld to %ld, not \"%s\" (%s)",
					    e->name, ranges[i].min, ranges[i].max, e->value, e->source);
	}
	long base = husk_config_get_long(cfg, CFG_VMM_UID_BASE), count = husk_config_get_long(cfg, CFG_VMM_UID_COUNT);
	if (base + count - 1 > 4294967293L)
		return husk_err_set(err, EINVAL, "vmm_uid_base + vmm_uid_count - 1 must be at most 4294967293, not %ld",
				    base + count - 1);
	return 0;
}

int husk_config_load(struct husk_config *cfg, struct husk_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	for (int k = 0; k < CFG_KEY_COUNT; k++) {
		cfg->e[k].section = key_defs[k].section;
		cfg->e[k].name = key_defs[k].name;
	}
	default_artifact(&cfg->e[CFG_KERNEL], "vmlinux");
	default_artifact(&cfg->e[CFG_INITRAMFS], "initramfs.cpio.gz");
	set(&cfg->e[CFG_QEMU], "qemu-system-x86_64", "default");
	default_virtiofsd(&cfg->e[CFG_VIRTIOFSD]);
	set(&cfg->e[CFG_ACCEL], "auto", "default");
	set(&cfg->e[CFG_VCPUS], "1", "default");
	set(&cfg->e[CFG_MEMORY_MIB], "256", "default");
	set(&cfg->e[CFG_VSOCK_BACKEND], "auto", "default");
	set(&cfg->e[CFG_BOOT_TIMEOUT], "60", "default");
	set(&cfg->e[CFG_KERNEL_PARAMS], "", "default");
	set(&cfg->e[CFG_LOG_LEVEL], "info", "default");
	set(&cfg->e[CFG_SANDBOX], "on", "default");
	set(&cfg->e[CFG_TCG_TB_SIZE_MIB], "16", "default");
	set(&cfg->e[CFG_VIRTIOFS_CACHE], "auto", "default");
	set(&cfg->e[CFG_VIRTIOFS_NOFILE], "131072", "default");
	set(&cfg->e[CFG_VIRTIOFS_SETID], "refuse", "default");
	set(&cfg->e[CFG_CONSOLE_LOG_MAX_KIB], "1024", "default");
	set(&cfg->e[CFG_ALLOWED_ANNOTATIONS], "", "default");
	set(&cfg->e[CFG_VMM_UID_BASE], "1500000000", "default");
	set(&cfg->e[CFG_VMM_UID_COUNT], "65536", "default");
	set(&cfg->e[CFG_POOL_SIZE], "1", "default");
	set(&cfg->e[CFG_POOL_USE], "auto", "default");
	set(&cfg->e[CFG_SANDBOX_MEMORY_MIB], "512", "default");
	set(&cfg->e[CFG_SANDBOX_CPUS], "1", "default");

	const char *path = getenv("HUSK_CONFIG");
	snprintf(cfg->path, sizeof cfg->path, "%s", path && *path ? path : HUSK_DEFAULT_CONFIG);
	FILE *f = fopen(cfg->path, "re");
	if (f) {
		struct ini_ctx ctx = { .cfg = cfg, .err = err };
		cfg->file_found = true;
		int line = ini_parse_file(f, on_ini, &ctx);
		fclose(f);
		if (ctx.bad)
			return -EINVAL;
		if (line != 0)
			return husk_err_set(err, EINVAL, "%s: syntax error on line %d", cfg->path, line);
	} else if (path && *path) {
		return husk_err_sys(err, errno, "reading config file %s (from HUSK_CONFIG)", cfg->path);
	}

	for (int k = 0; k < CFG_KEY_COUNT; k++) {
		const char *v = getenv(key_defs[k].env);
		if (v && *v) {
			char src[64];
			snprintf(src, sizeof src, "env %s", key_defs[k].env);
			set(&cfg->e[k], v, src);
		}
	}
	return validate(cfg, err);
}

const char *husk_config_get(const struct husk_config *cfg, enum husk_config_key key)
{
	return cfg->e[key].value;
}

long husk_config_get_long(const struct husk_config *cfg, enum husk_config_key key)
{
	return strtol(cfg->e[key].value, NULL, 10);
}
