/* husk's own configuration: built-in defaults, then the INI file
 * (/etc/husk/husk.conf, or $HUSK_CONFIG), then environment overrides. Every
 * value remembers where it came from so `husk config` can say. */
#ifndef HUSK_HOST_CONFIG_H
#define HUSK_HOST_CONFIG_H

#include <stdbool.h>

#include "common/err.h"

#define HUSK_DEFAULT_CONFIG "/etc/husk/husk.conf"
#define HUSK_CONFIG_VALUE_MAX 4096

enum husk_config_key {
	CFG_KERNEL,
	CFG_INITRAMFS,
	CFG_QEMU,
	CFG_VIRTIOFSD,
	CFG_ACCEL,
	CFG_VCPUS,
	CFG_MEMORY_MIB,
	CFG_VSOCK_BACKEND,
	CFG_BOOT_TIMEOUT,
	CFG_KERNEL_PARAMS,
	CFG_LOG_LEVEL,
	CFG_SANDBOX,
	CFG_TCG_TB_SIZE_MIB,
	CFG_VIRTIOFS_CACHE,
	CFG_VIRTIOFS_NOFILE,
	CFG_VIRTIOFS_SETID,
	CFG_CONSOLE_LOG_MAX_KIB,
	CFG_ALLOWED_ANNOTATIONS,
	CFG_VMM_UID_BASE,
	CFG_VMM_UID_COUNT,
	CFG_POOL_SIZE,
	CFG_POOL_USE,           /* "auto" or "off" (validated and normalised) */
	CFG_SANDBOX_MEMORY_MIB, /* [sandbox]: `husk sandbox run`'s VM (docs/sandbox.md) */
	CFG_SANDBOX_CPUS,
	CFG_KEY_COUNT,
};

struct husk_config_entry {
	const char *section, *name;
	char value[HUSK_CONFIG_VALUE_MAX];
	char source[HUSK_CONFIG_VALUE_MAX]; /* "default", "file PATH", "env VAR" */
};

struct husk_config {
	char path[4096]; /* the file read, or the one that would be */
	bool file_found;
	struct husk_config_entry e[CFG_KEY_COUNT];
};

int husk_config_load(struct husk_config *cfg, struct husk_err *err);
const char *husk_config_get(const struct husk_config *cfg, enum husk_config_key key);
long husk_config_get_long(const struct husk_config *cfg, enum husk_config_key key);

/* [security] allowed_annotations: a list of annotation keys (separated by
 * commas or blanks), each exact or a prefix ending in '*' ("io.husk.vm.*").
 * True when key is on it. */
bool husk_config_annotation_allowed(const struct husk_config *cfg, const char *key);

#endif
