/* The monitor's control socket <state-dir>/ctl.sock: verbs send a framed
 * CBOR request (START, SIGNAL) and read one OK or ERROR reply. Same framing
 * and codec as the guest protocol. */
#ifndef HUSK_HOST_CTL_H
#define HUSK_HOST_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/cbor.h"
#include "proto/frame.h"

/* Sends one request to the monitor of the container whose state dir is dir
 * and waits up to timeout_ms for the reply. An ERROR reply becomes -code with
 * the monitor's message in err. */
int husk_ctl_call(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms,
		  struct husk_err *err);
/* As husk_ctl_call, handing the OK reply's payload to the caller (free it). */
int husk_ctl_call_reply(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms,
			uint8_t **reply_out, size_t *reply_len, struct husk_err *err);
/* As husk_ctl_call, the connection left open in *conn (the caller's): a
 * pool VM's owner link, which stops the VM when it closes (ADOPT). */
int husk_ctl_call_keep(const char *dir, uint16_t type, const uint8_t *payload, size_t len, int timeout_ms, int *conn,
		       struct husk_err *err);
int husk_ctl_signal(const char *dir, int sig, bool all, struct husk_err *err);
int husk_ctl_start(const char *dir, struct husk_err *err);

/* Blocking helpers for a framed stream (client side and monitor setup). */
int husk_frame_write_all(int fd, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *payload, size_t len,
			 struct husk_err *err);
/* Reads one frame into buf (cap >= header + max payload); waits up to
 * timeout_ms in total. Reads no byte past that frame, so the stream can be
 * handed on to another reader. */
int husk_frame_read_one(int fd, uint8_t *buf, size_t cap, int timeout_ms, struct husk_frame_hdr *h,
			const uint8_t **payload, struct husk_err *err);
/* Turns an ERROR payload into err; returns its negative code. */
int husk_error_reply(const uint8_t *payload, size_t len, struct husk_err *err);

#endif
