#include "proto/msg_session.h"

#include <string.h>

static void put_uint_field(struct husk_cbor_enc *e, const char *key, uint64_t v)
{
	husk_cbor_put_text(e, key);
	husk_cbor_put_uint(e, v);
}

static int not_a_map(const struct husk_cbor_item *root, const char *what, struct husk_err *err)
{
	if (root->type == HUSK_CBOR_MAP)
		return 0;
	return husk_err_set(err, EBADMSG, "%s body is not a map", what);
}

/* --- HELLO ------------------------------------------------------------ */

void husk_msg_encode_hello(struct husk_cbor_enc *e, const struct husk_hello_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "version", m->version);
}

int husk_msg_decode_hello(const struct husk_cbor_item *root, struct husk_hello_msg *m, struct husk_err *err)
{
	uint64_t v;
	int r;
	memset(m, 0, sizeof *m);
	if ((r = husk_msg_get_uint(root, "version", UINT32_MAX, false, &v, err)) < 0)
		return r;
	m->version = (uint32_t)v;
	return 0;
}

void husk_msg_encode_hello_reply(struct husk_cbor_enc *e, const struct husk_hello_msg *m)
{
	husk_cbor_put_map(e, 2);
	put_uint_field(e, "version", m->version);
	husk_cbor_put_text(e, "kernel");
	husk_cbor_put_text(e, m->kernel ? m->kernel : "");
}

int husk_msg_decode_hello_reply(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_hello_msg *m,
				struct husk_err *err)
{
	int r = husk_msg_decode_hello(root, m, err);
	if (r < 0)
		return r;
	return husk_msg_get_text(root, "kernel", HUSK_MAX_KERNEL_RELEASE, false, a, &m->kernel, err);
}

/* --- OK {pid}, ERROR, SIGNAL, RESIZE ------------------------------------ */

void husk_msg_encode_pid_reply(struct husk_cbor_enc *e, const struct husk_pid_reply_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "pid", (uint64_t)(m->pid > 0 ? m->pid : 0));
}

int husk_msg_decode_pid_reply(const struct husk_cbor_item *root, struct husk_pid_reply_msg *m, struct husk_err *err)
{
	uint64_t v;
	int r = husk_msg_get_uint(root, "pid", INT32_MAX, false, &v, err);
	if (r < 0)
		return r;
	m->pid = (int32_t)v;
	return 0;
}

int husk_msg_decode_error(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_error_msg *m,
			  struct husk_err *err)
{
	uint64_t code;
	int r;
	memset(m, 0, sizeof *m);
	if ((r = husk_msg_get_uint(root, "code", HUSK_MAX_ERRNO, false, &code, err)) < 0 ||
	    (r = husk_msg_get_text(root, "message", HUSK_MAX_ERROR_MESSAGE, false, a, &m->message, err)) < 0)
		return r;
	m->code = code ? (int)code : EIO;
	return 0;
}

void husk_msg_encode_adopt(struct husk_cbor_enc *e, const struct husk_adopt_msg *m)
{
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, "id");
	husk_cbor_put_text(e, m->id);
}

int husk_msg_decode_adopt(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_adopt_msg *m,
			  struct husk_err *err)
{
	memset(m, 0, sizeof *m);
	int r = husk_msg_get_text(root, "id", HUSK_MAX_ID, false, a, &m->id, err);
	if (r < 0)
		return r;
	if (!m->id[0])
		return husk_err_set(err, EINVAL, "ADOPT: an empty id");
	return 0;
}

int husk_msg_decode_signal(const struct husk_cbor_item *root, struct husk_signal_msg *m, struct husk_err *err)
{
	uint64_t sig;
	int r;
	memset(m, 0, sizeof *m);
	if ((r = husk_msg_get_uint(root, "signal", HUSK_MAX_SIGNAL, false, &sig, err)) < 0 ||
	    (r = husk_msg_get_bool(root, "all", true, &m->all, err)) < 0)
		return r;
	if (sig == 0)
		return husk_err_set(err, EINVAL, "signal 0 is not deliverable");
	m->signal = (int)sig;
	return 0;
}

void husk_msg_encode_resize(struct husk_cbor_enc *e, const struct husk_resize_msg *m)
{
	husk_cbor_put_map(e, 2);
	put_uint_field(e, "rows", m->rows);
	put_uint_field(e, "cols", m->cols);
}

int husk_msg_decode_resize(const struct husk_cbor_item *root, struct husk_resize_msg *m, struct husk_err *err)
{
	uint64_t rows, cols;
	int r;
	if ((r = husk_msg_get_uint(root, "rows", UINT16_MAX, false, &rows, err)) < 0 ||
	    (r = husk_msg_get_uint(root, "cols", UINT16_MAX, false, &cols, err)) < 0)
		return r;
	m->rows = (uint16_t)rows;
	m->cols = (uint16_t)cols;
	return 0;
}

/* --- stdio and the process's end ------------------------------------------ */

void husk_msg_stdio_head(struct husk_cbor_enc *e, unsigned stream, size_t len)
{
	husk_cbor_put_map(e, 2);
	put_uint_field(e, "stream", stream);
	husk_cbor_put_text(e, "data");
	husk_cbor_put_bytes_head(e, len);
}

void husk_msg_encode_stdio(struct husk_cbor_enc *e, const struct husk_stdio_msg *m)
{
	husk_cbor_put_map(e, 2);
	put_uint_field(e, "stream", m->stream);
	husk_cbor_put_text(e, "data");
	husk_cbor_put_bytes(e, m->data, m->len);
}

static int get_stream(const struct husk_cbor_item *root, unsigned *out, struct husk_err *err)
{
	uint64_t v;
	int r = husk_msg_get_uint(root, "stream", 2, false, &v, err);
	if (r < 0)
		return r;
	*out = (unsigned)v;
	return 0;
}

int husk_msg_decode_stdio(const struct husk_cbor_item *root, struct husk_stdio_msg *m, struct husk_err *err)
{
	int r;
	memset(m, 0, sizeof *m);
	if ((r = get_stream(root, &m->stream, err)) < 0)
		return r;
	return husk_msg_get_bytes(root, "data", HUSK_STDIO_CHUNK, &m->data, &m->len, err);
}

void husk_msg_encode_stdio_close(struct husk_cbor_enc *e, const struct husk_stdio_close_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "stream", m->stream);
}

int husk_msg_decode_stdio_close(const struct husk_cbor_item *root, struct husk_stdio_close_msg *m, struct husk_err *err)
{
	return get_stream(root, &m->stream, err);
}

void husk_msg_encode_stdin_ack(struct husk_cbor_enc *e, const struct husk_stdin_ack_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "bytes", m->bytes);
}

int husk_msg_decode_stdin_ack(const struct husk_cbor_item *root, struct husk_stdin_ack_msg *m, struct husk_err *err)
{
	uint64_t v;
	int r = husk_msg_get_uint(root, "bytes", HUSK_STDIN_WINDOW, false, &v, err);
	if (r < 0)
		return r;
	m->bytes = (uint32_t)v;
	return 0;
}

void husk_msg_encode_exit(struct husk_cbor_enc *e, const struct husk_exit_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "status", (uint64_t)(m->status > 0 ? m->status : 0));
}

int husk_msg_decode_exit(const struct husk_cbor_item *root, struct husk_exit_msg *m, struct husk_err *err)
{
	uint64_t v;
	int r = husk_msg_get_uint(root, "status", 255, false, &v, err);
	if (r < 0)
		return r;
	m->status = (int)v;
	return 0;
}

void husk_msg_encode_oom(struct husk_cbor_enc *e, const struct husk_oom_msg *m)
{
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "oom_kills", m->oom_kills);
}

int husk_msg_decode_oom(const struct husk_cbor_item *root, struct husk_oom_msg *m, struct husk_err *err)
{
	return husk_msg_get_uint(root, "oom_kills", UINT32_MAX, false, &m->oom_kills, err);
}

/* --- PS reply ----------------------------------------------------------- */

void husk_msg_encode_ps_head(struct husk_cbor_enc *e, uint32_t n)
{
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, "processes");
	husk_cbor_put_array(e, n);
}

void husk_msg_encode_ps_entry(struct husk_cbor_enc *e, const struct husk_ps_entry *p)
{
	const char *cmd = p->cmd ? p->cmd : "";
	husk_cbor_put_map(e, 4);
	put_uint_field(e, "pid", (uint64_t)(p->pid > 0 ? p->pid : 0));
	put_uint_field(e, "ppid", (uint64_t)(p->ppid > 0 ? p->ppid : 0));
	put_uint_field(e, "uid", p->uid);
	husk_cbor_put_text(e, "cmd");
	husk_cbor_put_text(e, husk_cbor_utf8_valid((const uint8_t *)cmd, strlen(cmd)) ? cmd : "?");
}

void husk_msg_encode_ps_reply(struct husk_cbor_enc *e, const struct husk_ps_reply_msg *m)
{
	husk_msg_encode_ps_head(e, m->n_procs);
	for (uint32_t i = 0; i < m->n_procs; i++)
		husk_msg_encode_ps_entry(e, &m->procs[i]);
}

int husk_msg_decode_ps_reply(const struct husk_cbor_item *root, struct husk_arena *a, struct husk_ps_reply_msg *m,
			     struct husk_err *err)
{
	const struct husk_cbor_item *arr = husk_cbor_map_get(root, "processes");
	memset(m, 0, sizeof *m);
	if (!arr || arr->type != HUSK_CBOR_ARRAY)
		return husk_err_set(err, EBADMSG, "field \"processes\" is missing or not an array");
	if (arr->count > HUSK_PS_MAX)
		return husk_err_set(err, E2BIG, "field \"processes\" has more than %u entries", HUSK_PS_MAX);
	m->procs = husk_arena_alloc_array(a, arr->count ? arr->count : 1, sizeof *m->procs);
	if (!m->procs)
		return husk_err_set(err, ENOMEM, "processes do not fit the decode arena");
	const struct husk_cbor_item *it = husk_cbor_first(arr);
	for (uint32_t i = 0; i < arr->count; i++, it = husk_cbor_next(it)) {
		struct husk_ps_entry *p = &m->procs[i];
		uint64_t pid, ppid, uid;
		int r;
		if (it->type != HUSK_CBOR_MAP)
			return husk_err_set(err, EBADMSG, "processes[%u] is not a map", i);
		if ((r = husk_msg_get_uint(it, "pid", INT32_MAX, false, &pid, err)) < 0 ||
		    (r = husk_msg_get_uint(it, "ppid", INT32_MAX, false, &ppid, err)) < 0 ||
		    (r = husk_msg_get_uint(it, "uid", UINT32_MAX, false, &uid, err)) < 0 ||
		    (r = husk_msg_get_text(it, "cmd", HUSK_PS_CMD_MAX, false, a, &p->cmd, err)) < 0)
			return husk_err_wrap(err, "processes[%u]", i);
		p->pid = (int32_t)pid;
		p->ppid = (int32_t)ppid;
		p->uid = (uint32_t)uid;
	}
	m->n_procs = arr->count;
	return 0;
}

/* --- {[ctr]} and empty bodies ------------------------------------------- */

void husk_msg_encode_ctr(struct husk_cbor_enc *e, const struct husk_ctr_msg *m)
{
	if (!m->has_ctr) {
		husk_cbor_put_map(e, 0);
		return;
	}
	husk_cbor_put_map(e, 1);
	put_uint_field(e, "ctr", m->ctr);
}

int husk_msg_decode_ctr(const struct husk_cbor_item *root, struct husk_ctr_msg *m, struct husk_err *err)
{
	int r = not_a_map(root, "message", err);
	if (r < 0)
		return r;
	return husk_msg_get_ctr(root, &m->has_ctr, &m->ctr, err);
}

void husk_msg_encode_empty(struct husk_cbor_enc *e)
{
	husk_cbor_put_map(e, 0);
}

int husk_msg_decode_empty(const struct husk_cbor_item *root, struct husk_err *err)
{
	return not_a_map(root, "message", err);
}
