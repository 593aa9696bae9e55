#include "host/vmm/lsm.h"

#include <errno.h>
#include <string.h>
#include <sys/apparmor.h>
#include <selinux/selinux.h>

#include "host/state/log.h"

static int get_label(json_t *process, const char *key, const char **out, struct husk_err *err)
{
	*out = NULL;
	json_t *v = json_object_get(process, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return husk_err_set(err, EINVAL, "config.json: process.%s must be a string", key);
	const char *s = json_string_value(v);
	size_t n = strlen(s);
	if (n >= HUSK_LSM_LABEL_MAX)
		return husk_err_set(err, EINVAL, "config.json: process.%s is longer than %u bytes", key,
				    HUSK_LSM_LABEL_MAX - 1);
	if (n > 0)
		*out = s;
	return 0;
}

int husk_lsm_from_process(json_t *process, struct husk_lsm *out, struct husk_err *err)
{
	int r;
	memset(out, 0, sizeof *out);
	if ((r = get_label(process, "apparmorProfile", &out->apparmor_profile, err)) < 0 ||
	    (r = get_label(process, "selinuxLabel", &out->selinux_label, err)) < 0)
		return r;
	if (out->apparmor_profile && aa_is_enabled() != 1) {
		log_debug("AppArmor is not enabled on this host: apparmorProfile \"%s\" is not applied",
			  out->apparmor_profile);
		out->apparmor_profile = NULL;
	}
	if (out->selinux_label && is_selinux_enabled() != 1) {
		log_debug("SELinux is not enabled on this host: selinuxLabel \"%s\" is not applied",
			  out->selinux_label);
		out->selinux_label = NULL;
	}
	return 0;
}

int husk_lsm_exec_setup(void *arg)
{
	const struct husk_lsm *l = arg;
	if (l->apparmor_profile && aa_change_onexec(l->apparmor_profile) < 0)
		return -errno;
	if (l->selinux_label && setexeccon(l->selinux_label) < 0)
		return -errno;
	return 0;
}
