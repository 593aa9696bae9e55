/* The pool server's protocol (docs/design-pool.md section 1), both sides:
 * <root>/pool.sock takes one request line of JSON and answers one reply
 * line, then closes; both at most HUSK_POOL_LINE_MAX bytes. A client gives
 * up after 2 s. Nothing here is an error for `create`: any negative return
 * from husk_pool_take means "boot cold". */
#ifndef HUSK_HOST_POOL_CLIENT_H
#define HUSK_HOST_POOL_CLIENT_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "host/state/state.h"

#define HUSK_POOL_LINE_MAX 4096
#define HUSK_POOL_TIMEOUT_MS 2000
#define HUSK_POOL_SOCK "pool.sock"
#define HUSK_POOL_DIR "pool.d"
#define HUSK_POOL_PARAMS_MAX 1024
/* A pool VM's NICs (docs/pool.md "Network"): as many as a cold VM with
 * one interface gets (the interface and HUSK_NET_SPARES_DEFAULT spares,
 * host/net/net.h); a reply may carry at most HUSK_POOL_NICS_MAX. */
#define HUSK_POOL_NICS 3u
#define HUSK_POOL_NICS_MAX 16u

/* What a pool VM is: a VM matches only when every field is equal. accel is
 * the accelerator QEMU really uses ("kvm" or "tcg", never "auto");
 * kernel_params the whole extra command line (config file + annotation). */
struct husk_pool_shape {
	long memory_mib;
	int vcpus;
	char accel[16];
	char kernel_params[HUSK_POOL_PARAMS_MAX];
};

/* One NIC of a pool VM: its tap, in the pool monitor's network namespace
 * (name hsktap<i>, its ifindex there), and the virtio-net device's MAC. */
struct husk_pool_nic {
	char tap[16];
	int ifindex;
	uint8_t dev_mac[6];
};

/* A VM handed out by TAKE: its state dir (<root>/pool.d/<n>), the
 * processes the adopting side records, as state.json does, and its NICs. */
struct husk_pool_vm {
	char dir[PATH_MAX];
	struct husk_pid_ref monitor, qemu, virtiofsd, vsock_backend;
	struct husk_vsock_ref vsock;
	long memory_mib;
	int vcpus;
	struct husk_pool_nic nics[HUSK_POOL_NICS_MAX];
	unsigned n_nics;
};

struct husk_pool_status {
	long size, ready, booting;
	struct husk_pool_shape shape;
	char last_error[HUSK_ERR_MSG_MAX];
};

/* TAKE a VM of this shape from the server of root. 0 and *out filled: the
 * VM is the caller's. Negative: none (no server, not husk's, empty pool,
 * other shape; err says which) — the caller boots cold. */
int husk_pool_take(const char *root, const struct husk_pool_shape *shape, struct husk_pool_vm *out,
		   struct husk_err *err);
/* The server's status; negative when no husk pool server answers. */
int husk_pool_status(const char *root, struct husk_pool_status *out, struct husk_err *err);
/* One request line to <root>/pool.sock, its reply line (NUL-ended, no
 * newline) into reply. Bounded in size and time. */
int husk_pool_call(const char *root, const char *request, char *reply, size_t cap, struct husk_err *err);

/* --- the format, shared with the server (pure; unit-tested) -------------- */

bool husk_pool_shape_equal(const struct husk_pool_shape *a, const struct husk_pool_shape *b);
json_t *husk_pool_shape_json(const struct husk_pool_shape *s);
int husk_pool_shape_parse(json_t *j, struct husk_pool_shape *out, struct husk_err *err);
/* The request line for op "take" (shape given) or "status" (shape NULL),
 * without the newline. */
int husk_pool_request_format(const struct husk_pool_shape *shape, char *out, size_t cap, struct husk_err *err);
json_t *husk_pool_vm_json(const struct husk_pool_vm *vm);
/* A TAKE reply. 0: a VM, in *out; -EAGAIN: {"vm":null}, its "why" in err;
 * -EPROTO: not a pool reply. A VM's dir must lie in <root>/pool.d/. */
int husk_pool_take_reply_parse(const char *line, const char *root, struct husk_pool_vm *out, struct husk_err *err);
json_t *husk_pool_status_json(const struct husk_pool_status *st);
int husk_pool_status_reply_parse(const char *line, struct husk_pool_status *out, struct husk_err *err);

#endif
