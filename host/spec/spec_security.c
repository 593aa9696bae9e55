/* process.{rlimits, capabilities, noNewPrivileges, oomScoreAdj, user.umask}
 * and linux.seccomp of config.json into the process's security attributes,
 * which the guest applies as runc does. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "proto/msg_security.h"
#include "host/spec/seccomp.h"
#include "host/spec/spec.h"
#include "host/spec/spec_security.h"

static const char *const rlimit_names[HUSK_RLIMIT_TYPES] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",           [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",         [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",         [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

/* capability numbers as in linux/capability.h */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static const char *const cap_set_names[HUSK_CAP_SETS] = {
	[HUSK_CAP_BOUNDING] = "bounding",   [HUSK_CAP_EFFECTIVE] = "effective", [HUSK_CAP_INHERITABLE] = "inheritable",
	[HUSK_CAP_PERMITTED] = "permitted", [HUSK_CAP_AMBIENT] = "ambient",
};

int husk_cap_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
		if (!strcmp(name, cap_names[i]))
			return (int)i;
	return -1;
}

static int parse_rlimits(json_t *process, struct husk_process_security *s, struct husk_err *err)
{
	json_t *arr = json_object_get(process, "rlimits");
	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: process.rlimits must be an array");
	size_t n = json_array_size(arr);
	if (n > HUSK_MAX_RLIMITS)
		return husk_err_set(err, E2BIG, "config.json: more than %u process.rlimits", HUSK_MAX_RLIMITS);
	s->rlimits = calloc(n ? n : 1, sizeof *s->rlimits);
	if (!s->rlimits)
		return husk_err_set(err, ENOMEM, "out of memory");
	uint32_t seen = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *rl = json_array_get(arr, i);
		json_t *type = json_object_get(rl, "type"), *soft = json_object_get(rl, "soft");
		json_t *hard = json_object_get(rl, "hard");
		const char *name = json_is_string(type) ? json_string_value(type) : NULL;
		if (!name)
			return husk_err_set(err, EINVAL, "config.json: process.rlimits[%zu].type must be a string", i);
		uint32_t t;
		for (t = 0; t < HUSK_RLIMIT_TYPES; t++)
			if (!strcmp(name, rlimit_names[t]))
				break;
		if (t == HUSK_RLIMIT_TYPES)
			return husk_err_set(err, EINVAL,
					    "config.json: process.rlimits[%zu]: unknown rlimit type \"%s\"", i, name);
		if (seen & (1u << t))
			return husk_err_set(err, EINVAL, "config.json: process.rlimits: %s is given twice", name);
		seen |= 1u << t;
		if (!json_is_integer(soft) || !json_is_integer(hard) || json_integer_value(soft) < 0 ||
		    json_integer_value(hard) < 0)
			return husk_err_set(err, EINVAL,
					    "config.json: process.rlimits[%zu] (%s): soft and "
					    "hard must be unsigned integers",
					    i, name);
		uint64_t sv = (uint64_t)json_integer_value(soft), hv = (uint64_t)json_integer_value(hard);
		if (sv > hv)
			return husk_err_set(err, EINVAL,
					    "config.json: process.rlimits: %s soft limit %llu is "
					    "above its hard limit %llu",
					    name, (unsigned long long)sv, (unsigned long long)hv);
		s->rlimits[i] = (struct husk_rlimit){ t, sv, hv };
	}
	s->n_rlimits = (uint32_t)n;
	return 0;
}

static int parse_caps(json_t *process, struct husk_process_security *s, struct husk_err *err)
{
	json_t *caps = json_object_get(process, "capabilities");
	/* runc: without process.capabilities the process gets none */
	s->has_caps = true;
	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return husk_err_set(err, EINVAL, "config.json: process.capabilities must be an object");
	for (int set = 0; set < HUSK_CAP_SETS; set++) {
		json_t *arr = json_object_get(caps, cap_set_names[set]);
		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return husk_err_set(err, EINVAL, "config.json: process.capabilities.%s must be an array",
					    cap_set_names[set]);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *c = json_array_get(arr, i);
			int nr = json_is_string(c) ? husk_cap_from_name(json_string_value(c)) : -1;
			if (nr < 0)
				return husk_err_set(err, EINVAL,
						    "config.json: process.capabilities.%s: unknown capability %s%s%s",
						    cap_set_names[set], json_is_string(c) ? "\"" : "",
						    json_is_string(c) ? json_string_value(c) : "(not a string)",
						    json_is_string(c) ? "\"" : "");
			s->caps[set] |= 1ull << nr;
		}
	}
	return 0;
}

static int parse_scalars(json_t *process, struct husk_process_security *s, struct husk_err *err)
{
	json_t *nnp = json_object_get(process, "noNewPrivileges");
	if (nnp && !json_is_null(nnp) && !json_is_boolean(nnp))
		return husk_err_set(err, EINVAL, "config.json: process.noNewPrivileges must be a boolean");
	s->no_new_privs = nnp && json_is_true(nnp);
	json_t *oom = json_object_get(process, "oomScoreAdj");
	if (oom && !json_is_null(oom)) {
		if (!json_is_integer(oom) || json_integer_value(oom) < -1000 || json_integer_value(oom) > 1000)
			return husk_err_set(err, EINVAL,
					    "config.json: process.oomScoreAdj must be an integer "
					    "from -1000 to 1000");
		s->oom_score_adj = (int32_t)json_integer_value(oom);
		s->has_oom_score_adj = true;
	}
	s->umask = 022; /* runc's default */
	json_t *user = json_object_get(process, "user");
	json_t *um = json_is_object(user) ? json_object_get(user, "umask") : NULL;
	if (um && !json_is_null(um)) {
		if (!json_is_integer(um) || json_integer_value(um) < 0 || json_integer_value(um) > 0777)
			return husk_err_set(err, EINVAL,
					    "config.json: process.user.umask must be from 0 to 0777 (511)");
		s->umask = (uint32_t)json_integer_value(um);
	}
	return 0;
}

int husk_spec_parse_security(json_t *process, json_t *root, struct husk_process_spec *out, struct husk_err *err)
{
	int r;
	out->security = NULL;
	struct husk_process_security *s = calloc(1, sizeof *s);
	if (!s)
		return husk_err_set(err, ENOMEM, "out of memory");
	out->security = s; /* freed by husk_spec_free_security, also on failure */
	if ((r = parse_rlimits(process, s, err)) < 0 || (r = parse_caps(process, s, err)) < 0 ||
	    (r = parse_scalars(process, s, err)) < 0)
		return r;
	json_t *linux_ = root ? json_object_get(root, "linux") : NULL;
	json_t *sc = json_is_object(linux_) ? json_object_get(linux_, "seccomp") : NULL;
	if (sc && !json_is_null(sc)) {
		if ((r = husk_seccomp_compile(sc, &s->seccomp, &s->seccomp_len, &s->seccomp_flags, err)) < 0)
			return r;
	}
	return 0;
}

void husk_spec_free_security(struct husk_process_spec *p)
{
	if (p->security) {
		free(p->security->rlimits);
		free(p->security->seccomp);
		free(p->security);
	}
	p->security = NULL;
}
