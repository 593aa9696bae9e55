#include "host/spec/seccomp.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proto/msg_security.h"

#define W "config.json: linux.seccomp"

struct action_name {
	const char *name;
	uint32_t act; /* with ERRNO and TRACE: the base, the errno is added */
	bool takes_ret;
};

static const struct action_name actions[] = {
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, false },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, false },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, false },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), true },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), true },
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, false },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, false },
};

static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct {
	const char *name;
	uint32_t flag;
} filter_flags[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", 1u },
	{ "SECCOMP_FILTER_FLAG_LOG", 2u },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4u },
};

static void ctx_release(scmp_filter_ctx *c)
{
	if (*c)
		seccomp_release(*c);
}

/* "errnoRet" of obj (default EPERM, as runc) */
static int get_ret(json_t *obj, const char *key, const char *where, uint32_t *out, struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = EPERM;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0xffff)
		return husk_err_set(err, EINVAL, W "%s.%s must be an integer from 0 to 65535", where, key);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int parse_action(json_t *obj, const char *key, const char *ret_key, const char *where, uint32_t *out,
			struct husk_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return husk_err_set(err, EINVAL, W "%s.%s must be a string", where, key);
	const char *s = json_string_value(v);
	if (!strcmp(s, "SCMP_ACT_NOTIFY"))
		return husk_err_set(err, ENOTSUP, W "%s.%s: SCMP_ACT_NOTIFY is not supported by husk", where, key);
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
		if (strcmp(s, actions[i].name))
			continue;
		uint32_t ret = 0;
		int r;
		if (actions[i].takes_ret && (r = get_ret(obj, ret_key, where, &ret, err)) < 0)
			return r;
		*out = actions[i].act | (actions[i].takes_ret ? (ret & 0xffff) : 0);
		return 0;
	}
	return husk_err_set(err, EINVAL, W "%s.%s: unknown action \"%s\"", where, key, s);
}

struct arch_list {
	uint32_t token[HUSK_SECCOMP_MAX_ARCHES];
	size_t n;
};

static int add_arches(scmp_filter_ctx ctx, json_t *seccomp, struct arch_list *list, struct husk_err *err)
{
	json_t *arches = json_object_get(seccomp, "architectures");
	if (!arches || json_is_null(arches))
		return 0;
	if (!json_is_array(arches))
		return husk_err_set(err, EINVAL, W ".architectures must be an array of strings");
	for (size_t i = 0; i < json_array_size(arches); i++) {
		json_t *a = json_array_get(arches, i);
		const char *s = json_is_string(a) ? json_string_value(a) : NULL;
		char lower[32];
		if (!s || strncmp(s, "SCMP_ARCH_", 10) || strlen(s + 10) >= sizeof lower)
			return husk_err_set(err, EINVAL, W ".architectures[%zu] is not an SCMP_ARCH_* name", i);
		size_t n = 0;
		for (const char *p = s + 10; *p; p++)
			lower[n++] = (char)tolower((unsigned char)*p);
		lower[n] = '\0';
		uint32_t arch = seccomp_arch_resolve_name(lower);
		if (!arch)
			return husk_err_set(err, EINVAL, W ".architectures[%zu]: unknown architecture \"%s\"", i, s);
		int r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return husk_err_sys(err, -r, W ": adding architecture %s", s);
		size_t k;
		for (k = 0; k < list->n && list->token[k] != arch; k++)
			;
		if (k == list->n && list->n < HUSK_SECCOMP_MAX_ARCHES)
			list->token[list->n++] = arch;
	}
	return 0;
}

static int parse_args(json_t *args, size_t idx, struct scmp_arg_cmp *conds, unsigned *n_out, bool *same_arg,
		      struct husk_err *err)
{
	unsigned seen = 0;
	*n_out = 0;
	*same_arg = false;
	if (!args || json_is_null(args))
		return 0;
	if (!json_is_array(args) || json_array_size(args) > 6)
		return husk_err_set(err, EINVAL, W ".syscalls[%zu].args must be an array of at most 6 conditions", idx);
	for (size_t j = 0; j < json_array_size(args); j++) {
		json_t *a = json_array_get(args, j);
		json_t *index = json_object_get(a, "index"), *value = json_object_get(a, "value");
		json_t *two = json_object_get(a, "valueTwo"), *op = json_object_get(a, "op");
		if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
			return husk_err_set(err, EINVAL, W ".syscalls[%zu].args[%zu].index must be 0 to 5", idx, j);
		if (!json_is_integer(value) || (two && !json_is_null(two) && !json_is_integer(two)))
			return husk_err_set(err, EINVAL,
					    W ".syscalls[%zu].args[%zu]: value and valueTwo must be integers", idx, j);
		const char *ops_s = json_is_string(op) ? json_string_value(op) : "";
		size_t k;
		for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
			if (!strcmp(ops_s, ops[k].name))
				break;
		if (k == sizeof ops / sizeof ops[0])
			return husk_err_set(err, EINVAL, W ".syscalls[%zu].args[%zu]: unknown op \"%s\"", idx, j,
					    ops_s);
		unsigned arg = (unsigned)json_integer_value(index);
		if (seen & (1u << arg))
			*same_arg = true;
		seen |= 1u << arg;
		conds[j] = (struct scmp_arg_cmp){
			.arg = arg,
			.op = ops[k].op,
			.datum_a = (scmp_datum_t)json_integer_value(value),
			.datum_b = two && json_is_integer(two) ? (scmp_datum_t)json_integer_value(two) : 0,
		};
	}
	*n_out = (unsigned)json_array_size(args);
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, int nr, uint32_t act, const struct scmp_arg_cmp *conds, unsigned n,
		    const char *name, struct husk_err *err)
{
	int r = seccomp_rule_add_array(ctx, act, nr, n, conds);
	if (r < 0)
		return husk_err_sys(err, -r, W ": adding the rule for %s", name);
	return 0;
}

static int add_syscalls(scmp_filter_ctx ctx, json_t *seccomp, uint32_t def, struct husk_err *err)
{
	json_t *calls = json_object_get(seccomp, "syscalls");
	if (!calls || json_is_null(calls))
		return 0;
	if (!json_is_array(calls))
		return husk_err_set(err, EINVAL, W ".syscalls must be an array");
	for (size_t i = 0; i < json_array_size(calls); i++) {
		json_t *c = json_array_get(calls, i);
		char where[48];
		uint32_t act;
		struct scmp_arg_cmp conds[6];
		unsigned n_conds;
		bool same_arg;
		int r;
		if (!json_is_object(c))
			return husk_err_set(err, EINVAL, W ".syscalls[%zu] must be an object", i);
		snprintf(where, sizeof where, ".syscalls[%zu]", i);
		if ((r = parse_action(c, "action", "errnoRet", where, &act, err)) < 0)
			return r;
		if ((r = parse_args(json_object_get(c, "args"), i, conds, &n_conds, &same_arg, err)) < 0)
			return r;
		json_t *names = json_object_get(c, "names");
		if (!json_is_array(names))
			return husk_err_set(err, EINVAL, W ".syscalls[%zu].names must be an array of strings", i);
		for (size_t j = 0; j < json_array_size(names); j++) {
			json_t *nm = json_array_get(names, j);
			if (!json_is_string(nm))
				return husk_err_set(err, EINVAL, W ".syscalls[%zu].names[%zu] must be a string", i, j);
			const char *name = json_string_value(nm);
			int nr = seccomp_syscall_resolve_name(name);
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown to libseccomp: skipped, as runc does */
			if (act == def)
				continue; /* libseccomp refuses rules that repeat the default */
			if (!same_arg) {
				if ((r = add_rule(ctx, nr, act, conds, n_conds, name, err)) < 0)
					return r;
				continue;
			}
			/* several conditions on one argument: one rule each (OR), as runc */
			for (unsigned k = 0; k < n_conds; k++)
				if ((r = add_rule(ctx, nr, act, &conds[k], 1, name, err)) < 0)
					return r;
		}
	}
	return 0;
}

static int parse_flags(json_t *seccomp, uint32_t *flags, struct husk_err *err)
{
	json_t *fl = json_object_get(seccomp, "flags");
	*flags = 0;
	if (!fl || json_is_null(fl))
		return 0;
	if (!json_is_array(fl))
		return husk_err_set(err, EINVAL, W ".flags must be an array of strings");
	for (size_t i = 0; i < json_array_size(fl); i++) {
		const char *s = json_string_value(json_array_get(fl, i));
		size_t k;
		for (k = 0; s && k < sizeof filter_flags / sizeof filter_flags[0]; k++)
			if (!strcmp(s, filter_flags[k].name))
				break;
		if (!s || k == sizeof filter_flags / sizeof filter_flags[0])
			return husk_err_set(err, EINVAL, W ".flags[%zu]: unsupported flag \"%s\"", i, s ? s : "");
		*flags |= filter_flags[k].flag;
	}
	return 0;
}

static int export_bpf(scmp_filter_ctx ctx, uint8_t **bpf, uint32_t *len, struct husk_err *err)
{
	_cleanup_close_ int fd = memfd_create("husk-seccomp", MFD_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return husk_err_sys(err, errno, "seccomp: memfd_create");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return husk_err_sys(err, -r, W ": exporting the filter");
	if (fstat(fd, &st) < 0)
		return husk_err_sys(err, errno, "seccomp: fstat");
	if (st.st_size <= 0 || st.st_size > HUSK_SECCOMP_MAX_BYTES || st.st_size % HUSK_SECCOMP_INSN_SIZE ||
	    st.st_size / HUSK_SECCOMP_INSN_SIZE > HUSK_SECCOMP_MAX_INSNS)
		return husk_err_set(err, E2BIG, W ": the filter has %lld instructions, more than the kernel's %u",
				    (long long)st.st_size / HUSK_SECCOMP_INSN_SIZE, HUSK_SECCOMP_MAX_INSNS);
	uint8_t *buf = malloc((size_t)st.st_size);
	if (!buf)
		return husk_err_set(err, ENOMEM, "out of memory");
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return husk_err_sys(err, errno ? errno : EIO, "seccomp: reading the exported filter");
	}
	*bpf = buf;
	*len = (uint32_t)st.st_size;
	return 0;
}

int husk_seccomp_compile(json_t *seccomp, uint8_t **bpf, uint32_t *len, uint32_t *flags, struct husk_err *err)
{
	uint32_t def;
	int r;
	if (!json_is_object(seccomp))
		return husk_err_set(err, EINVAL, W " must be an object");
	if ((r = parse_action(seccomp, "defaultAction", "defaultErrnoRet", "", &def, err)) < 0)
		return r;
	if ((r = parse_flags(seccomp, flags, err)) < 0)
		return r;
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return husk_err_set(err, EINVAL, W ": libseccomp refused the default action");
	/* the guest installs the filter itself; the kernel then applies NNP or
   * needs CAP_SYS_ADMIN, as under runc */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	struct arch_list arches = { .n = 0 };
	if ((r = add_arches(ctx, seccomp, &arches, err)) < 0 || (r = add_syscalls(ctx, seccomp, def, err)) < 0)
		return r;
	r = export_bpf(ctx, bpf, len, err);
	if (r == -E2BIG) {
		/* too long as a list: try libseccomp's binary tree layout */
		husk_err_clear(err);
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
		r = export_bpf(ctx, bpf, len, err);
	}
	if (r < 0)
		return r;
	if ((r = husk_seccomp_add_enosys_stub(seccomp, def, arches.token, arches.n, bpf, len, err)) < 0) {
		free(*bpf);
		*bpf = NULL;
	}
	return r;
}
