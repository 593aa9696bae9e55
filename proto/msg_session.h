/* The small messages of a session and of ctl.sock, typed: HELLO and its
 * reply, the OK {pid} and ERROR replies, SIGNAL, RESIZE, STDIO (with a
 * header encoder for data read in place), STDIO_CLOSE, STDIN_ACK, EXIT,
 * OOM, the PS reply, the {[ctr]} body of PAUSE, RESUME, PS and STATS, and
 * the bodies that are an empty map (SHUTDOWN, EVENTS, OK {}).
 *
 * Encoders write one CBOR map into the encoder (an overflow is sticky:
 * husk_cbor_enc_finish() reports it). Decoders take the root of a message
 * that husk_msg_parse() decoded and check every field: type, range, length;
 * unknown keys are ignored. Which side may send what (the guest never
 * writes stream 0, the host never more stdin than the window) is the
 * caller's check. UPDATE and the STATS reply are in proto/msg_resources.h,
 * START in proto/msg_network.h, CREATE and EXEC in proto/msg.h. */
#ifndef HUSK_PROTO_MSG_SESSION_H
#define HUSK_PROTO_MSG_SESSION_H

#include "proto/msg.h"

#define HUSK_MAX_KERNEL_RELEASE 64u /* struct utsname's release, without the NUL */
#define HUSK_MAX_ERROR_MESSAGE 1024u
#define HUSK_MAX_ERRNO 4095u
#define HUSK_MAX_SIGNAL 64u
#define HUSK_PS_MAX 4096u     /* processes in one PS reply */
#define HUSK_PS_CMD_MAX 4096u /* bytes of one command line */
/* the most husk_msg_stdio_head() writes */
#define HUSK_MSG_STDIO_HEAD_MAX 32u

/* HELLO {version}; its OK reply {version, kernel}: struct husk_hello_msg
 * (proto/msg.h), kernel unused in the request. */
void husk_msg_encode_hello(struct husk_cbor_enc *e, const struct husk_hello_msg *m);
int husk_msg_decode_hello(const struct husk_cbor_item *root, struct husk_hello_msg *m, struct husk_err *err);
void husk_msg_encode_hello_reply(struct husk_cbor_enc *e, const struct husk_hello_msg *m);
int husk_msg_decode_hello_reply(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_hello_msg *m,
				struct husk_err *err);

/* OK {pid}: the reply to CREATE and EXEC (a guest pid, 0..INT32_MAX). */
struct husk_pid_reply_msg {
	int32_t pid;
};
void husk_msg_encode_pid_reply(struct husk_cbor_enc *e, const struct husk_pid_reply_msg *m);
int husk_msg_decode_pid_reply(const struct husk_cbor_item *root, struct husk_pid_reply_msg *m, struct husk_err *err);

/* ERROR {code, message}: code 1..4095 (an errno; 0 reads as EIO), message
 * at most 1024 bytes. The encoder is husk_msg_encode_error(e, code, message)
 * in proto/msg.h: a code <= 0 goes out as EIO, a longer message is cut at a
 * character boundary. */
struct husk_error_msg {
	int code;
	char *message;
};
int husk_msg_decode_error(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_error_msg *m,
			  struct husk_err *err);

/* SIGNAL {signal: 1..64, all}: the encoder is husk_msg_encode_signal(e, sig,
 * all) in proto/msg.h; signal 0 is refused (EINVAL), all defaults to false. */
struct husk_signal_msg {
	int signal;
	bool all;
};
int husk_msg_decode_signal(const struct husk_cbor_item *root, struct husk_signal_msg *m, struct husk_err *err);

/* ADOPT {id} (ctl.sock of a pool VM, docs/pool.md): the container id
 * (1..HUSK_MAX_ID bytes) whose monitor takes the VM over; that
 * connection is the VM's owner link from the OK on. */
struct husk_adopt_msg {
	char *id;
};
void husk_msg_encode_adopt(struct husk_cbor_enc *e, const struct husk_adopt_msg *m);
int husk_msg_decode_adopt(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_adopt_msg *m,
			  struct husk_err *err);

/* RESIZE {rows, cols} */
struct husk_resize_msg {
	uint16_t rows, cols;
};
void husk_msg_encode_resize(struct husk_cbor_enc *e, const struct husk_resize_msg *m);
int husk_msg_decode_resize(const struct husk_cbor_item *root, struct husk_resize_msg *m, struct husk_err *err);

/* STDIO {stream: 0..2, data: at most HUSK_STDIO_CHUNK bytes}. The decoded
 * data points into the payload (no copy). */
struct husk_stdio_msg {
	unsigned stream;
	const uint8_t *data;
	size_t len;
};
void husk_msg_encode_stdio(struct husk_cbor_enc *e, const struct husk_stdio_msg *m);
/* Everything of a STDIO body but its len data bytes, which the caller
 * places right after what was encoded (output read in place, never copied);
 * at most HUSK_MSG_STDIO_HEAD_MAX bytes. */
void husk_msg_stdio_head(struct husk_cbor_enc *e, unsigned stream, size_t len);
int husk_msg_decode_stdio(const struct husk_cbor_item *root, struct husk_stdio_msg *m, struct husk_err *err);

/* STDIO_CLOSE {stream: 0..2} */
struct husk_stdio_close_msg {
	unsigned stream;
};
void husk_msg_encode_stdio_close(struct husk_cbor_enc *e, const struct husk_stdio_close_msg *m);
int husk_msg_decode_stdio_close(const struct husk_cbor_item *root, struct husk_stdio_close_msg *m,
				struct husk_err *err);

/* STDIN_ACK {bytes: 0..HUSK_STDIN_WINDOW} */
struct husk_stdin_ack_msg {
	uint32_t bytes;
};
void husk_msg_encode_stdin_ack(struct husk_cbor_enc *e, const struct husk_stdin_ack_msg *m);
int husk_msg_decode_stdin_ack(const struct husk_cbor_item *root, struct husk_stdin_ack_msg *m, struct husk_err *err);

/* EXIT {status: 0..255} (128+N for signal N) */
struct husk_exit_msg {
	int status;
};
void husk_msg_encode_exit(struct husk_cbor_enc *e, const struct husk_exit_msg *m);
int husk_msg_decode_exit(const struct husk_cbor_item *root, struct husk_exit_msg *m, struct husk_err *err);

/* OOM {oom_kills: 0..UINT32_MAX}: the guest's event, and the monitor's to
 * the verbs subscribed with EVENTS */
struct husk_oom_msg {
	uint64_t oom_kills;
};
void husk_msg_encode_oom(struct husk_cbor_enc *e, const struct husk_oom_msg *m);
int husk_msg_decode_oom(const struct husk_cbor_item *root, struct husk_oom_msg *m, struct husk_err *err);

/* The OK reply to PS: {processes: [{pid, ppid, uid, cmd}]}, guest pids,
 * at most HUSK_PS_MAX entries; pid and ppid 0..INT32_MAX, cmd valid UTF-8
 * of at most HUSK_PS_CMD_MAX bytes (the encoder writes "?" for a command
 * line that is not UTF-8). */
struct husk_ps_entry {
	int32_t pid, ppid;
	uint32_t uid;
	char *cmd;
};
struct husk_ps_reply_msg {
	struct husk_ps_entry *procs;
	uint32_t n_procs;
};
void husk_msg_encode_ps_reply(struct husk_cbor_enc *e, const struct husk_ps_reply_msg *m);
/* The same, streamed: the head for n entries, then each entry. */
void husk_msg_encode_ps_head(struct husk_cbor_enc *e, uint32_t n);
void husk_msg_encode_ps_entry(struct husk_cbor_enc *e, const struct husk_ps_entry *p);
int husk_msg_decode_ps_reply(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_ps_reply_msg *m,
			     struct husk_err *err);

/* PAUSE, RESUME, PS, STATS: {} or, in a pod, {ctr: slot} naming the
 * container (absent: the session's own, else slot 0). The encoder writes
 * {} when has_ctr is false: the one-container body. */
struct husk_ctr_msg {
	bool has_ctr;
	uint32_t ctr; /* < HUSK_POD_MAX */
};
void husk_msg_encode_ctr(struct husk_cbor_enc *e, const struct husk_ctr_msg *m);
int husk_msg_decode_ctr(const struct husk_cbor_item *root, struct husk_ctr_msg *m, struct husk_err *err);

/* An empty map: START without network, SHUTDOWN, EVENTS, and OK {}. The decoder only checks that the
 * body is a map (keys are ignored, as every decoder ignores unknown keys). */
void husk_msg_encode_empty(struct husk_cbor_enc *e);
int husk_msg_decode_empty(const struct husk_cbor_item *root, struct husk_err *err);

#endif
