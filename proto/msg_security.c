#include "proto/msg_security.h"

#include <string.h>

void husk_msg_encode_security(struct husk_cbor_enc *e, const struct husk_process_security *s)
{
	uint32_t n = 3 + (s->has_caps ? 1 : 0) + (s->has_oom_score_adj ? 1 : 0) + (s->seccomp ? 2 : 0);
	husk_cbor_put_map(e, n);
	husk_cbor_put_text(e, "rlimits");
	husk_cbor_put_array(e, s->n_rlimits);
	for (uint32_t i = 0; i < s->n_rlimits; i++) {
		husk_cbor_put_array(e, 3);
		husk_cbor_put_uint(e, s->rlimits[i].type);
		husk_cbor_put_uint(e, s->rlimits[i].soft);
		husk_cbor_put_uint(e, s->rlimits[i].hard);
	}
	if (s->has_caps) {
		husk_cbor_put_text(e, "caps");
		husk_cbor_put_array(e, HUSK_CAP_SETS);
		for (int i = 0; i < HUSK_CAP_SETS; i++)
			husk_cbor_put_uint(e, s->caps[i]);
	}
	husk_cbor_put_text(e, "nnp");
	husk_cbor_put_bool(e, s->no_new_privs);
	if (s->has_oom_score_adj) {
		husk_cbor_put_text(e, "oom");
		husk_cbor_put_int(e, s->oom_score_adj);
	}
	husk_cbor_put_text(e, "umask");
	husk_cbor_put_uint(e, s->umask);
	if (s->seccomp) {
		husk_cbor_put_text(e, "seccomp");
		husk_cbor_put_bytes(e, s->seccomp, s->seccomp_len);
		husk_cbor_put_text(e, "seccomp_flags");
		husk_cbor_put_uint(e, s->seccomp_flags);
	}
}

static int decode_rlimits(const struct husk_cbor_item *arr, struct husk_arena *a, struct husk_process_security *out,
			  struct husk_err *err)
{
	if (arr->type != HUSK_CBOR_ARRAY)
		return husk_err_set(err, EBADMSG, "field \"rlimits\" is not an array");
	if (arr->count > HUSK_MAX_RLIMITS)
		return husk_err_set(err, E2BIG, "more than %u rlimits", HUSK_MAX_RLIMITS);
	out->rlimits = husk_arena_alloc_array(a, arr->count ? arr->count : 1, sizeof *out->rlimits);
	if (!out->rlimits)
		return husk_err_set(err, ENOMEM, "rlimits do not fit the decode arena");
	uint32_t seen = 0;
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_ARRAY || it->count != 3)
			return husk_err_set(err, EBADMSG, "rlimit %u is not [type, soft, hard]", i);
		const struct husk_cbor_item *t = husk_cbor_first(it);
		const struct husk_cbor_item *soft = husk_cbor_next(t);
		const struct husk_cbor_item *hard = husk_cbor_next(soft);
		if (t->type != HUSK_CBOR_UINT || soft->type != HUSK_CBOR_UINT || hard->type != HUSK_CBOR_UINT)
			return husk_err_set(err, EBADMSG, "rlimit %u has a value that is not an unsigned integer", i);
		if (t->v.u >= HUSK_RLIMIT_TYPES)
			return husk_err_set(err, EINVAL, "rlimit %u has an unknown type %llu", i,
					    (unsigned long long)t->v.u);
		if (seen & (1u << t->v.u))
			return husk_err_set(err, EINVAL, "rlimit type %llu is given twice", (unsigned long long)t->v.u);
		seen |= 1u << t->v.u;
		if (soft->v.u > hard->v.u)
			return husk_err_set(err, EINVAL, "rlimit %u: soft limit above the hard limit", i);
		out->rlimits[i] = (struct husk_rlimit){ (uint32_t)t->v.u, soft->v.u, hard->v.u };
	}
	out->n_rlimits = arr->count;
	return 0;
}

static int decode_caps(const struct husk_cbor_item *arr, struct husk_process_security *out, struct husk_err *err)
{
	if (arr->type != HUSK_CBOR_ARRAY || arr->count != HUSK_CAP_SETS)
		return husk_err_set(err, EBADMSG, "field \"caps\" is not an array of %d masks", HUSK_CAP_SETS);
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (int i = 0; i < HUSK_CAP_SETS; i++, it = husk_cbor_next(it)) {
		if (it->type != HUSK_CBOR_UINT)
			return husk_err_set(err, EBADMSG, "capability set %d is not an unsigned integer", i);
		out->caps[i] = it->v.u;
	}
	out->has_caps = true;
	return 0;
}

static int decode_seccomp(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_process_security *out,
			  struct husk_err *err)
{
	const uint8_t *data;
	size_t len;
	uint64_t flags = 0;
	int r;
	if ((r = husk_msg_get_bytes(map, "seccomp", HUSK_SECCOMP_MAX_BYTES, &data, &len, err)) < 0)
		return r;
	if (len == 0 || len % HUSK_SECCOMP_INSN_SIZE || len / HUSK_SECCOMP_INSN_SIZE > HUSK_SECCOMP_MAX_INSNS)
		return husk_err_set(err, EINVAL, "seccomp filter of %zu bytes is not 1 to %u instructions", len,
				    HUSK_SECCOMP_MAX_INSNS);
	if ((r = husk_msg_get_uint(map, "seccomp_flags", HUSK_SECCOMP_FLAGS_ALLOWED, true, &flags, err)) < 0)
		return r;
	if (flags & ~(uint64_t)HUSK_SECCOMP_FLAGS_ALLOWED)
		return husk_err_set(err, EINVAL, "unsupported seccomp flags 0x%llx", (unsigned long long)flags);
	/* a copy: the instructions must be aligned and outlive the payload */
	out->seccomp = husk_arena_alloc(a, len);
	if (!out->seccomp)
		return husk_err_set(err, ENOMEM, "seccomp filter does not fit the decode arena");
	memcpy(out->seccomp, data, len);
	out->seccomp_len = (uint32_t)len;
	out->seccomp_flags = (uint32_t)flags;
	return 0;
}

int husk_msg_decode_security(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_process_security *out,
			     struct husk_err *err)
{
	uint64_t u;
	int r;
	memset(out, 0, sizeof *out);
	out->umask = 022;
	if (map->type != HUSK_CBOR_MAP)
		return husk_err_set(err, EBADMSG, "security is not a map");
	const struct husk_cbor_item *v = husk_cbor_map_get(map, "rlimits");
	if (v && v->type != HUSK_CBOR_NULL && (r = decode_rlimits(v, a, out, err)) < 0)
		return r;
	v = husk_cbor_map_get(map, "caps");
	if (v && v->type != HUSK_CBOR_NULL && (r = decode_caps(v, out, err)) < 0)
		return r;
	if ((r = husk_msg_get_bool(map, "nnp", true, &out->no_new_privs, err)) < 0)
		return r;
	v = husk_cbor_map_get(map, "oom");
	if (v && v->type != HUSK_CBOR_NULL) {
		int64_t o;
		if (v->type == HUSK_CBOR_UINT && v->v.u <= 1000)
			o = (int64_t)v->v.u;
		else if (v->type == HUSK_CBOR_NINT && v->v.i >= -1000)
			o = v->v.i;
		else
			return husk_err_set(err, ERANGE, "field \"oom\" is not an integer from -1000 to 1000");
		out->oom_score_adj = (int32_t)o;
		out->has_oom_score_adj = true;
	}
	u = 022;
	if ((r = husk_msg_get_uint(map, "umask", 0777, true, &u, err)) < 0)
		return r;
	out->umask = (uint32_t)u;
	v = husk_cbor_map_get(map, "seccomp");
	if (v && v->type != HUSK_CBOR_NULL && (r = decode_seccomp(map, a, out, err)) < 0)
		return r;
	return 0;
}
