/* Process security attributes carried in CREATE and EXEC: rlimits,
 * capabilities, no_new_privs, oom_score_adj, umask, seccomp BPF.
 *
 * On the wire (a map, every key optional):
 *   rlimits: [[type, soft, hard], ...]  type is the kernel's RLIMIT_* number
 *   caps: [bounding, effective, inheritable, permitted, ambient]  u64 masks
 *   nnp: bool, oom: int (-1000..1000), umask: uint (<= 0777)
 *   seccomp: bytes (classic BPF, struct sock_filter[]), seccomp_flags: uint
 * The decoder checks every bound: the guest trusts nothing. */
#ifndef HUSK_PROTO_MSG_SECURITY_H
#define HUSK_PROTO_MSG_SECURITY_H

#include "proto/msg.h"

#define HUSK_MAX_RLIMITS 64u
#define HUSK_RLIMIT_TYPES 16u /* RLIMIT_CPU..RLIMIT_RTTIME */
#define HUSK_CAP_MAX 63u      /* highest capability number a mask may carry */
#define HUSK_SECCOMP_MAX_BYTES (64u * 1024u)
#define HUSK_SECCOMP_MAX_INSNS 4096u /* the kernel's BPF_MAXINSNS */
#define HUSK_SECCOMP_INSN_SIZE 8u    /* sizeof(struct sock_filter) */
/* SECCOMP_FILTER_FLAG_TSYNC | _LOG | _SPEC_ALLOW */
#define HUSK_SECCOMP_FLAGS_ALLOWED 0x7u

enum husk_cap_set {
	HUSK_CAP_BOUNDING,
	HUSK_CAP_EFFECTIVE,
	HUSK_CAP_INHERITABLE,
	HUSK_CAP_PERMITTED,
	HUSK_CAP_AMBIENT,
	HUSK_CAP_SETS
};

struct husk_rlimit {
	uint32_t type;
	uint64_t soft, hard;
};

struct husk_process_security {
	struct husk_rlimit *rlimits;
	uint32_t n_rlimits;
	bool has_caps; /* false: leave the capabilities as they are */
	uint64_t caps[HUSK_CAP_SETS];
	bool no_new_privs;
	bool has_oom_score_adj;
	int32_t oom_score_adj;
	uint32_t umask;
	uint8_t *seccomp;     /* NULL: no filter */
	uint32_t seccomp_len; /* bytes, a multiple of 8 */
	uint32_t seccomp_flags;
};

void husk_msg_encode_security(struct husk_cbor_enc *e, const struct husk_process_security *s);
int husk_msg_decode_security(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_process_security *out,
			     struct husk_err *err);

#endif
