/* Pieces of the specs husk writes itself (spec_template.h). */
#include "host/spec/spec_template.h"

#include <stdio.h>
#include <string.h>

json_t *husk_spec_mount_json(const char *dest, const char *type, const char *src, const char *opts)
{
	json_t *m = json_pack("{s:s,s:s,s:s}", "destination", dest, "type", type, "source", src);
	if (m && opts) {
		json_t *o = json_array();
		char buf[256];
		snprintf(buf, sizeof buf, "%s", opts);
		for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(o, json_string(t));
		json_object_set_new(m, "options", o);
	}
	return m;
}

void husk_spec_base_mounts(json_t *mounts)
{
	json_array_append_new(mounts, husk_spec_mount_json("/proc", "proc", "proc", NULL));
	json_array_append_new(mounts, husk_spec_mount_json("/dev", "tmpfs", "tmpfs",
							   "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts, husk_spec_mount_json("/dev/pts", "devpts", "devpts",
							   "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
	json_array_append_new(mounts, husk_spec_mount_json("/dev/shm", "tmpfs", "shm",
							   "nosuid,noexec,nodev,mode=1777,size=65536k"));
	json_array_append_new(mounts, husk_spec_mount_json("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, husk_spec_mount_json("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
}
