/* What a verb asks of a live container's monitor, over its ctl.sock:
 * pause, resume, ps, update, stats and the OOM event stream. Replies that
 * carry guest data are decoded (and so validated) by proto's codecs. */
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "host/container/container.h"
#include "host/monitor/ctl.h"
#include "host/state/host_cgroup.h"

#define REQUEST_TIMEOUT_MS 30000

/* The container's state dir, if its status is want (or want2, if >= 0). */
static int load_in(const char *root, const char *id, enum husk_status want, int want2, char *dir, size_t dir_cap,
		   struct husk_err *err)
{
	struct husk_state st;
	int r = husk_container_load(root, id, dir, dir_cap, &st, err);
	if (r < 0)
		return r;
	enum husk_status status = husk_state_status(&st);
	husk_state_free(&st);
	if (status != want && (want2 < 0 || status != (enum husk_status)want2))
		return husk_err_set(err, EINVAL, "container \"%s\" is %s, not %s", id, husk_status_name(status),
				    husk_status_name(want));
	return 0;
}

/* A request with an empty body; the OK reply's payload goes to *reply if
 * reply is set (the caller frees it). */
static int empty_request(const char *dir, uint16_t type, uint8_t **reply, size_t *reply_len, struct husk_err *err)
{
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_empty(&e);
	if (!reply)
		return husk_ctl_call(dir, type, e.buf, e.len, REQUEST_TIMEOUT_MS, err);
	return husk_ctl_call_reply(dir, type, e.buf, e.len, REQUEST_TIMEOUT_MS, reply, reply_len, err);
}

int husk_container_pause(const char *root, const char *id, struct husk_err *err)
{
	char dir[PATH_MAX];
	int r = load_in(root, id, HUSK_STATUS_RUNNING, -1, dir, sizeof dir, err);
	return r < 0 ? r : empty_request(dir, HUSK_MSG_PAUSE, NULL, NULL, err);
}

int husk_container_resume(const char *root, const char *id, struct husk_err *err)
{
	char dir[PATH_MAX];
	int r = load_in(root, id, HUSK_STATUS_PAUSED, -1, dir, sizeof dir, err);
	return r < 0 ? r : empty_request(dir, HUSK_MSG_RESUME, NULL, NULL, err);
}

int husk_container_ps(const char *root, const char *id, struct husk_arena *a, struct husk_ps_reply_msg *ps,
		      struct husk_err *err)
{
	char dir[PATH_MAX];
	_cleanup_free_ uint8_t *reply = NULL;
	size_t len = 0;
	const struct husk_cbor_item *top;
	struct husk_state st;
	int r = husk_container_load(root, id, dir, sizeof dir, &st, err);
	if (r < 0)
		return r;
	enum husk_status status = husk_state_status(&st);
	husk_state_free(&st);
	/* as runc: a created container's (parked) process is listed too */
	if (!husk_status_live(status))
		return husk_err_set(err, EINVAL, "container \"%s\" is %s", id, husk_status_name(status));
	if ((r = empty_request(dir, HUSK_MSG_PS, &reply, &len, err)) < 0)
		return r;
	if (husk_msg_parse(reply, len, a, &top, err) < 0 || husk_msg_decode_ps_reply(top, a, ps, err) < 0)
		return husk_err_wrap(err, "malformed process list from the guest");
	return 0;
}

int husk_container_update(const char *root, const char *id, const struct husk_resources *res, unsigned blkio_weight,
			  struct husk_err *err)
{
	struct husk_state st;
	char dir[PATH_MAX];
	int r = husk_container_load(root, id, dir, sizeof dir, &st, err);
	if (r < 0)
		return r;
	enum husk_status status = husk_state_status(&st);
	if (!husk_status_live(status)) {
		husk_state_free(&st);
		return husk_err_set(err, EINVAL, "container \"%s\" is %s", id, husk_status_name(status));
	}
	/* block I/O happens on the host (QEMU, virtiofsd): its weight is a host
	 * cgroup's; the host cgroup's CPU weight and quota follow the guest's */
	if (blkio_weight && st.sandbox[0])
		r = husk_err_set(err, EOPNOTSUPP, "update: the VM's I/O belongs to sandbox \"%s\"", st.sandbox);
	else
		r = blkio_weight ? husk_io_cgroup_set_weight(st.io_cgroup, blkio_weight, err) : 0;
	husk_state_free(&st);
	if (r == 0 && (r = husk_host_cgroups_update_cpu(dir, res, err)) < 0)
		husk_err_wrap(err, "update");
	if (r < 0 || husk_resources_empty(res))
		return r;
	uint8_t buf[2048];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_update(&e, &(struct husk_update_msg){ .resources = *res });
	if ((r = husk_cbor_enc_finish(&e, err)) < 0)
		return r;
	return husk_ctl_call(dir, HUSK_MSG_UPDATE, e.buf, e.len, REQUEST_TIMEOUT_MS, err);
}

int husk_container_stats(const char *dir, struct husk_arena *a, struct husk_stats_msg *m, struct husk_err *err)
{
	_cleanup_free_ uint8_t *reply = NULL;
	size_t len = 0;
	const struct husk_cbor_item *top;
	int r = empty_request(dir, HUSK_MSG_STATS, &reply, &len, err);
	if (r < 0)
		return r;
	if (husk_msg_parse(reply, len, a, &top, err) < 0 || husk_msg_decode_stats(top, a, m, err) < 0)
		return husk_err_wrap(err, "stats from the guest");
	return 0;
}

int husk_container_events_open(const char *dir, struct husk_err *err)
{
	struct sockaddr_un addr;
	if (husk_state_sock_addr(&addr, dir, "ctl.sock", err) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		return husk_err_sys(err, errno, "connecting to the container monitor");
	uint8_t req[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, req, sizeof req);
	husk_msg_encode_empty(&e);
	if (husk_frame_write_all(fd, HUSK_MSG_EVENTS, 0, 1, e.buf, e.len, err) < 0)
		return -err->code;
	return steal_fd(fd);
}
