/* Typed messages over the CBOR codec. Encoders write a CBOR map into an
 * encoder; decoders validate everything (types, limits, required keys) and
 * copy strings into a caller-provided arena as NUL-terminated C strings. */
#ifndef HUSK_PROTO_MSG_H
#define HUSK_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/err.h"
#include "proto/cbor.h"
#include "proto/frame.h"
#include "proto/proto.h"

struct husk_process_security;
struct husk_container_config;
struct husk_resources;
struct husk_network;

struct husk_process_spec {
	char **args; /* NULL-terminated, n_args >= 1 */
	uint32_t n_args;
	char **env; /* NULL-terminated */
	uint32_t n_env;
	char *cwd; /* absolute */
	uint32_t uid, gid;
	uint32_t *gids;
	uint32_t n_gids;
	bool terminal;
	uint16_t rows, cols;
	/* rlimits, capabilities, no_new_privs, oom_score_adj, umask, seccomp:
	 * defined and coded in proto/msg_security.[ch]; NULL when none */
	struct husk_process_security *security;
};

struct husk_exec_msg {
	bool stdin_open;
	struct husk_process_spec process;
	uint32_t ctr; /* pods: the container's slot, < HUSK_POD_MAX ("ctr", written when not 0) */
};

/* Pods: the namespaces a container joins from another container of the VM
 * (CREATE's "join" {"pid"|"ipc"|"uts"|"cgroup": slot}, written when mask is
 * not 0). mask holds HUSK_NS_PID, HUSK_NS_IPC, HUSK_NS_UTS, HUSK_NS_CGROUP
 * (proto/msg_container.h); slot[] is indexed by enum husk_join_kind. */
enum husk_join_kind { HUSK_JOIN_PID, HUSK_JOIN_IPC, HUSK_JOIN_UTS, HUSK_JOIN_CGROUP, HUSK_JOIN_KINDS };
struct husk_ns_join {
	uint32_t mask;
	uint8_t slot[HUSK_JOIN_KINDS];
};
/* the key and HUSK_NS_* bit of a join kind */
const char *husk_join_key(enum husk_join_kind k);
uint32_t husk_join_ns(enum husk_join_kind k);

struct husk_create_msg {
	char *id;
	char *rootfs_tag; /* virtio-fs tag of the container rootfs */
	bool readonly;
	char *hostname;  /* may be NULL */
	bool stdin_open; /* the host relays stdin; else the process gets /dev/null */
	struct husk_process_spec process;
	/* mounts, masked/readonly paths, propagation, sysctl, devices,
	 * domainname...: defined and coded in proto/msg_container.[ch]; NULL when none */
	struct husk_container_config *container;
	/* linux.resources for the container's cgroup (proto/msg_resources.h); NULL when none */
	struct husk_resources *resources;
	/* the NICs to configure before the process runs (proto/msg_network.h); NULL when none */
	struct husk_network *network;
	/* sd_notify: where the container's NOTIFY_SOCKET must be (a clean
	 * absolute path); the guest serves it and relays NOTIFY. NULL: none */
	char *notify_socket;
	/* pods: the slot this container takes (0: the VM's first, written only
	 * when not 0) and the namespaces it joins from other slots */
	uint32_t ctr;
	struct husk_ns_join join;
	/* pools: the container's tree is vfs/ctr/<ctr> of the share even for
	 * slot 0 ("tree", written only when true) */
	bool tree;
	/* sandboxes (docs/design-sandbox.md): the rootfs is the lower layer of
	 * an overlay whose upper is a tmpfs of this many MiB, discarded with
	 * the container ("overlay_mib", written only when not 0; 1 ..
	 * HUSK_OVERLAY_MAX_MIB, never with readonly) */
	uint32_t overlay_mib;
	/* sandboxes: the container's init is set up as for its process (the
	 * namespaces, mounts, overlay, cwd, limits, user, capabilities) but
	 * runs nothing: it waits to be killed, holding the namespaces for
	 * EXECs; process.args[0] is not looked up ("hold", written only when
	 * true; a rootfs needs no program for it) */
	bool hold;
};
#define HUSK_OVERLAY_MAX_MIB 65536u

/* Generic small maps used by several messages. */
struct husk_hello_msg {
	uint32_t version;
	char *kernel; /* in replies */
};

/* Small maps used by several messages: ERROR {code, message} (a code
 * outside 1..4095 goes out as EIO, a message is cut to 1024 bytes at a
 * character boundary), SIGNAL {signal, all}; their decoders and the other
 * small messages are in proto/msg_session.h. husk_msg_encode_one_uint()
 * writes a one-key map: the typed encoders there replace it; it stays for
 * the unit tests, which build out-of-range and reference bodies with it. */
void husk_msg_encode_error(struct husk_cbor_enc *e, int code, const char *message);
void husk_msg_encode_signal(struct husk_cbor_enc *e, int sig, bool all);
void husk_msg_encode_one_uint(struct husk_cbor_enc *e, const char *key, uint64_t value);

/* The process part of CREATE, shared with EXEC. */
void husk_msg_encode_process(struct husk_cbor_enc *e, const struct husk_process_spec *p);
int husk_msg_decode_process(const struct husk_cbor_item *p, struct husk_arena *a, struct husk_process_spec *out,
			    struct husk_err *err);

int husk_msg_encode_create(struct husk_cbor_enc *e, const struct husk_create_msg *m);
int husk_msg_decode_create(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_create_msg *m,
			   struct husk_err *err);

int husk_msg_encode_exec(struct husk_cbor_enc *e, const struct husk_exec_msg *m);
int husk_msg_decode_exec(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_exec_msg *m,
			 struct husk_err *err);

/* Decodes a payload into items allocated from the arena (bounded by the
 * payload size). */
int husk_msg_parse(const uint8_t *payload, size_t len, struct husk_arena *a, const struct husk_cbor_item **root,
		   struct husk_err *err);

/* Field getters for flat maps: -EBADMSG with a message naming the key when
 * missing (unless optional) or of the wrong type or out of range. */
int husk_msg_get_uint(const struct husk_cbor_item *map, const char *key, uint64_t max, bool optional, uint64_t *out,
		      struct husk_err *err);
int husk_msg_get_bool(const struct husk_cbor_item *map, const char *key, bool optional, bool *out,
		      struct husk_err *err);
int husk_msg_get_text(const struct husk_cbor_item *map, const char *key, size_t max_len, bool optional,
		      struct husk_arena *a, char **out, struct husk_err *err);
/* The optional "ctr" of a message: absent (or null) leaves *has false and
 * *ctr 0; present it must be below HUSK_POD_MAX. */
int husk_msg_get_ctr(const struct husk_cbor_item *map, bool *has, uint32_t *ctr, struct husk_err *err);
int husk_msg_get_bytes(const struct husk_cbor_item *map, const char *key, size_t max_len, const uint8_t **data,
		       size_t *len, struct husk_err *err);

/* Writes header + payload for a frame whose CBOR body the encoder holds at
 * buf + HUSK_FRAME_HDR_SIZE: fills the header and returns the total size. */
size_t husk_frame_finish(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t id, size_t payload_len);

#endif
