/* Pieces of the specs husk writes itself: `husk spec`'s default
 * config.json and `husk sandbox`'s (host/spec/sandbox_spec.c). */
#ifndef HUSK_HOST_SPEC_TEMPLATE_H
#define HUSK_HOST_SPEC_TEMPLATE_H

#include <jansson.h>

/* One mounts[] entry; opts is a comma-separated option list (at most 255
 * bytes) or NULL for none. */
json_t *husk_spec_mount_json(const char *dest, const char *type, const char *src, const char *opts);
/* Appends the mounts every container of runc's default spec has: /proc,
 * a tmpfs /dev with devpts, shm and mqueue, and /sys read-only. */
void husk_spec_base_mounts(json_t *mounts);

#endif
