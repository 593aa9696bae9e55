/* husk host<->guest protocol: message types, flags, ports and limits.
 *
 * One vsock stream per monitored process ("session"): the container monitor
 * opens one and sends HELLO then CREATE; the container's init process is
 * bound to it (its stdio and its EXIT event travel on it). Requests carry a
 * non-zero id and get exactly one reply (OK or ERROR) with the same id and
 * HUSK_FLAG_REPLY. An exec monitor opens a session of its own and sends
 * EXEC; the new process is bound to it the same way. Events (STDIO, STDIO_CLOSE, STDIN_ACK, EXIT) carry id 0.
 *
 * Stdin flow control: the host may have at most HUSK_STDIN_WINDOW bytes of
 * STDIO (stream 0) data that the guest has not acknowledged with STDIN_ACK.
 * The guest therefore never has to stop reading the stream to apply
 * back-pressure, and a signal always gets through. Output needs no window:
 * the host keeps reading the stream and vsock credit bounds the guest.
 *
 * Pods (version 2): a VM holds up to HUSK_POD_MAX containers, slot 0 (the
 * sandbox, whose session's loss powers the VM off) and members 1..15. A
 * CREATE {ctr: n} binds slot n to its session; START, PAUSE, RESUME, PS,
 * STATS and UPDATE on a session name the session's container unless they
 * carry an explicit "ctr" (one that is not the session's is refused), EXEC
 * names its container with "ctr" (absent: 0). Guest events (EXIT, OOM,
 * NOTIFY) go out on the container's own session and carry no slot. The
 * one-container path never writes a "ctr" or "join" key. */
#ifndef HUSK_PROTO_PROTO_H
#define HUSK_PROTO_PROTO_H

#include <stdint.h>

#define HUSK_PROTO_VERSION 2u
#define HUSK_GUEST_PORT 1024u /* husk-init listens here */
#define HUSK_STDIN_WINDOW (256u * 1024u)
#define HUSK_STDIO_CHUNK (256u * 1024u) /* largest data in one STDIO frame */
/* containers in one VM (a pod): slot 0 the sandbox, 1 .. HUSK_POD_MAX - 1 members */
#define HUSK_POD_MAX 16u

/* limits on what CREATE may carry (the guest checks them all) */
#define HUSK_MAX_ARGS 4096u
#define HUSK_MAX_ENV 4096u
#define HUSK_MAX_GIDS 64u
#define HUSK_MAX_STRING (64u * 1024u)
#define HUSK_MAX_ID 256u
#define HUSK_MSG_MAX_ITEMS 65536u /* CBOR items in one message */

enum husk_msg_type {
	HUSK_MSG_HELLO = 1,       /* host->guest {version}; reply OK {version, kernel} */
	HUSK_MSG_OK = 2,          /* reply {...} */
	HUSK_MSG_ERROR = 3,       /* reply {code: errno, message} */
	HUSK_MSG_CREATE = 4,      /* host->guest container spec [, ctr, join]; reply OK {pid} */
	HUSK_MSG_START = 5,       /* host->guest {[ctr, ]network?}; reply OK {} */
	HUSK_MSG_SIGNAL = 6,      /* host->guest {signal, all}; reply OK {} */
	HUSK_MSG_STDIO = 7,       /* both ways {stream: 0|1|2, data: bytes} */
	HUSK_MSG_STDIO_CLOSE = 8, /* both ways {stream} */
	HUSK_MSG_STDIN_ACK = 9,   /* guest->host {bytes} */
	HUSK_MSG_EXIT = 10,       /* guest->host {status}: 0-255, 128+N for signal N */
	HUSK_MSG_SHUTDOWN = 11,   /* host->guest {} on slot 0's session; reply OK, then the VM powers off */
	HUSK_MSG_RESIZE = 12,     /* host->guest {rows, cols} */
	HUSK_MSG_EXEC = 13,       /* host->guest {process, stdin[, ctr]} on a new session; reply OK {pid} */
	HUSK_MSG_PAUSE = 14,      /* host->guest {[ctr]}: freeze the container's cgroup; reply OK */
	HUSK_MSG_RESUME = 15,     /* host->guest {[ctr]}: thaw it; reply OK */
	HUSK_MSG_PS = 16,         /* host->guest {[ctr]}; reply OK {processes: [{pid, ppid, uid, cmd}]} (guest pids) */
	HUSK_MSG_UPDATE = 17,     /* host->guest {resources[, ctr]}; reply OK */
	HUSK_MSG_STATS = 18,      /* host->guest {[ctr]}; reply OK {cpu, memory, pids, io, oom_kills} */
	HUSK_MSG_OOM = 19,        /* guest->host event {oom_kills}: the kernel OOM-killed in the container */
	HUSK_MSG_EVENTS = 20,     /* verb->monitor only: subscribe to OOM events on ctl.sock */
	HUSK_MSG_NOTIFY = 21,     /* guest->host event {message}: an sd_notify datagram of the container */
	HUSK_MSG_ADOPT = 22,      /* verb->pool monitor only (a pool VM's ctl.sock): {id}; reply OK {} */
	HUSK_MSG_TYPE_MAX = 22,
};

enum husk_frame_flags {
	HUSK_FLAG_REPLY = 1u << 0,
};

const char *husk_msg_type_name(uint16_t type);

#endif
