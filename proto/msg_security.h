/* Process security attributes carried in CREATE and EXEC: rlimits,
 * capabilities, no_new_privs, oom_score_adj, umask, seccomp BPF. */
#ifndef HUSK_PROTO_MSG_SECURITY_H
#define HUSK_PROTO_MSG_SECURITY_H

#include "msg.h"

struct husk_process_security {
	int placeholder; /* filled in by the security work */
};

void husk_msg_encode_security(struct husk_cbor_enc *e, const struct husk_process_security *s);
int husk_msg_decode_security(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_process_security *out,
			     struct husk_err *err);

#endif
