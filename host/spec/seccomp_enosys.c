/* runc's -ENOSYS stub: a syscall number above the highest one a seccomp
 * profile names (for that architecture) is newer than the profile, and
 * returns ENOSYS instead of the default action, so that programs fall back
 * as they do on an older kernel (clone3 → clone, statx → stat) instead of
 * failing on EPERM. The stub runs before libseccomp's filter, as runc's
 * (libcontainer/seccomp/patchbpf) does. */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "host/spec/seccomp.h"
#include "proto/msg_security.h"

#define X32_SYSCALL_BIT 0x40000000u
#define STUB_MAX 256

/* the syscall maps of one AUDIT_ARCH value: x86_64 and x32 share one */
struct arch_group {
	uint32_t audit;
	bool has_main, has_x32;
	uint32_t main_last, x32_last;
};

/* Whether runc adds the stub for this default action: not for the
 * permissive ones (allow, log, trace), nor for one that is ENOSYS already. */
static bool needs_stub(uint32_t def)
{
	uint32_t action = def & SECCOMP_RET_ACTION_FULL;
	if (action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG || action == SECCOMP_RET_TRACE)
		return false;
	return !(action == SECCOMP_RET_ERRNO && (def & SECCOMP_RET_DATA) == ENOSYS);
}

/* The highest number of a syscall the profile names on arch; false if it
 * names none there. Negative numbers (libseccomp's pseudo-syscalls for
 * calls the architecture lacks) do not count. */
static bool highest_named(json_t *seccomp, uint32_t arch, uint32_t *last)
{
	json_t *calls = json_object_get(seccomp, "syscalls");
	bool any = false;
	*last = 0;
	for (size_t i = 0; i < json_array_size(calls); i++) {
		json_t *names = json_object_get(json_array_get(calls, i), "names");
		for (size_t j = 0; j < json_array_size(names); j++) {
			const char *name = json_string_value(json_array_get(names, j));
			int nr = name ? seccomp_syscall_resolve_name_arch(arch, name) : __NR_SCMP_ERROR;
			if (nr > 0 && (!any || (uint32_t)nr > *last)) {
				*last = (uint32_t)nr;
				any = true;
			}
		}
	}
	return any;
}

static size_t group_arches(json_t *seccomp, const uint32_t *arches, size_t n, struct arch_group *g)
{
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t last;
		if (!highest_named(seccomp, arches[i], &last))
			continue;
		bool x32 = arches[i] == SCMP_ARCH_X32;
		uint32_t audit = x32 ? AUDIT_ARCH_X86_64 : arches[i];
		size_t k;
		for (k = 0; k < ng && g[k].audit != audit; k++)
			;
		if (k == ng)
			g[ng++] = (struct arch_group){ .audit = audit };
		if (x32) {
			g[k].has_x32 = true;
			g[k].x32_last = last;
		} else {
			g[k].has_main = true;
			g[k].main_last = last;
		}
	}
	return ng;
}

/* The stub is built with symbolic jump targets, resolved at the end. */
enum { T_NEXT_INSN = -1, T_ENOSYS = -2, T_ORIG = -3, T_GROUP_END = -4, T_X32 = -5 };

struct stub {
	struct sock_filter insn[STUB_MAX];
	int jt[STUB_MAX], jf[STUB_MAX]; /* targets of conditional jumps */
	size_t n;
	size_t group_end, x32; /* of the group being emitted */
};

static void emit(struct stub *s, uint16_t code, uint32_t k, int jt, int jf)
{
	if (s->n >= STUB_MAX)
		return;
	s->insn[s->n] = (struct sock_filter){ .code = code, .k = k };
	s->jt[s->n] = jt;
	s->jf[s->n] = jf;
	s->n++;
}

/* nr > last: ENOSYS, else the profile */
static void emit_compare(struct stub *s, uint32_t last)
{
	emit(s, BPF_JMP | BPF_JGT | BPF_K, last, T_ENOSYS, T_ORIG);
}

static void emit_group(struct stub *s, const struct arch_group *g)
{
	emit(s, BPF_JMP | BPF_JEQ | BPF_K, g->audit, T_NEXT_INSN, T_GROUP_END);
	emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	if (g->audit == AUDIT_ARCH_X86_64 && g->has_main && g->has_x32) {
		emit(s, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, T_X32, T_NEXT_INSN);
		emit_compare(s, g->main_last);
		s->x32 = s->n;
		emit_compare(s, g->x32_last);
	} else if (g->audit == AUDIT_ARCH_X86_64 && g->has_main) {
		/* x32 numbers are not this map's: the profile decides */
		emit(s, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, T_ORIG, T_NEXT_INSN);
		emit_compare(s, g->main_last);
	} else if (g->audit == AUDIT_ARCH_X86_64) {
		emit(s, BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, T_NEXT_INSN, T_ORIG);
		emit_compare(s, g->x32_last);
	} else {
		emit_compare(s, g->main_last);
	}
}

/* a target as the offset from the instruction after i; -1 if out of reach */
static int offset_of(const struct stub *s, size_t i, int target, size_t enosys, size_t orig)
{
	size_t to;
	switch (target) {
	case T_NEXT_INSN:
		to = i + 1;
		break;
	case T_ENOSYS:
		to = enosys;
		break;
	case T_ORIG:
		to = orig;
		break;
	default:
		to = (size_t)target; /* resolved to an index while emitting */
		break;
	}
	if (to <= i || to - i - 1 > 255)
		return -1;
	return (int)(to - i - 1);
}

static int build_stub(const struct arch_group *g, size_t ng, struct stub *s, struct husk_err *err)
{
	s->n = 0;
	emit(s, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	for (size_t k = 0; k < ng; k++) {
		size_t start = s->n;
		s->x32 = 0;
		emit_group(s, &g[k]);
		/* the group's end and its x32 part, now that they are known */
		for (size_t i = start; i < s->n; i++) {
			if (s->jf[i] == T_GROUP_END)
				s->jf[i] = (int)s->n;
			if (s->jt[i] == T_X32)
				s->jt[i] = (int)s->x32;
		}
	}
	/* no group matched: the profile */
	emit(s, BPF_JMP | BPF_JA, 1, 0, 0);
	emit(s, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
	if (s->n >= STUB_MAX)
		return husk_err_set(err, E2BIG, "config.json: linux.seccomp: too many architectures");
	size_t enosys = s->n - 1, orig = s->n;
	for (size_t i = 0; i < s->n; i++) {
		if (BPF_CLASS(s->insn[i].code) != BPF_JMP || BPF_OP(s->insn[i].code) == BPF_JA)
			continue;
		int jt = offset_of(s, i, s->jt[i], enosys, orig), jf = offset_of(s, i, s->jf[i], enosys, orig);
		if (jt < 0 || jf < 0)
			return husk_err_set(err, E2BIG, "config.json: linux.seccomp: too many architectures");
		s->insn[i].jt = (uint8_t)jt;
		s->insn[i].jf = (uint8_t)jf;
	}
	return 0;
}

int husk_seccomp_add_enosys_stub(json_t *seccomp, uint32_t def, const uint32_t *arches, size_t n_arches, uint8_t **bpf,
				 uint32_t *len, struct husk_err *err)
{
	if (!needs_stub(def) || n_arches == 0)
		return 0;
	struct arch_group g[HUSK_SECCOMP_MAX_ARCHES];
	if (n_arches > HUSK_SECCOMP_MAX_ARCHES)
		n_arches = HUSK_SECCOMP_MAX_ARCHES;
	size_t ng = group_arches(seccomp, arches, n_arches, g);
	if (ng == 0)
		return 0;
	struct stub *s = calloc(1, sizeof *s);
	if (!s)
		return husk_err_set(err, ENOMEM, "out of memory");
	int r = build_stub(g, ng, s, err);
	size_t stub_bytes = s->n * sizeof(struct sock_filter);
	if (r == 0 && (*len + stub_bytes) / sizeof(struct sock_filter) > HUSK_SECCOMP_MAX_INSNS)
		r = husk_err_set(err, E2BIG, "config.json: linux.seccomp: the filter has more than %u instructions",
				 HUSK_SECCOMP_MAX_INSNS);
	uint8_t *out = r == 0 ? malloc(stub_bytes + *len) : NULL;
	if (r == 0 && !out)
		r = husk_err_set(err, ENOMEM, "out of memory");
	if (r == 0) {
		memcpy(out, s->insn, stub_bytes);
		memcpy(out + stub_bytes, *bpf, *len);
		free(*bpf);
		*bpf = out;
		*len += (uint32_t)stub_bytes;
	}
	free(s);
	return r;
}
