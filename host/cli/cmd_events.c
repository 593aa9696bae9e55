/* events: runc's JSON event lines. `--stats` prints one stats event; else
 * stats every --interval and an "oom" event whenever the guest kernel
 * OOM-kills in the container, until the container stops. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "proto/msg.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "host/cli/cli.h"
#include "host/container/container.h"

/* Go-style durations: 500ms, 5s, 1m, 1h (and bare seconds) */
static long parse_duration_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	if (!strcmp(end, "ms"))
		return (long)v;
	if (!strcmp(end, "s") || !*end)
		return (long)(v * 1000);
	if (!strcmp(end, "m"))
		return (long)(v * 60000);
	if (!strcmp(end, "h"))
		return (long)(v * 3600000);
	return -1;
}

/* runc's stats shape, from the guest's STATS reply (validated by the
 * container layer: it came from the guest) */
static json_t *stats_json(const struct husk_stats_msg *st)
{
	json_t *raw = json_object();
	for (uint32_t i = 0; i < st->n_memory_stat; i++)
		json_object_set_new(raw, st->memory_stat[i].key, json_integer((json_int_t)st->memory_stat[i].value));
	return json_pack(
		"{s:{s:{s:I,s:I,s:I}},s:{s:{s:I,s:I},s:{s:I},s:o},s:{s:I,s:I},s:{s:[{s:s,s:I},{s:s,s:I}],s:[{s:s,s:I},{s:s,s:I}]},s:I}",
		"cpu", "usage", "total", (json_int_t)st->cpu_usage_ns, "kernel", (json_int_t)st->cpu_system_ns, "user",
		(json_int_t)st->cpu_user_ns, "memory", "usage", "usage", (json_int_t)st->memory_usage, "limit",
		(json_int_t)st->memory_limit, "swap", "usage", (json_int_t)st->swap_usage, "raw", raw, "pids",
		"current", (json_int_t)st->pids_current, "limit", (json_int_t)st->pids_limit, "blkio",
		"ioServiceBytesRecursive", "op", "Read", "value", (json_int_t)st->io_read_bytes, "op", "Write", "value",
		(json_int_t)st->io_write_bytes, "ioServicedRecursive", "op", "Read", "value", (json_int_t)st->io_reads,
		"op", "Write", "value", (json_int_t)st->io_writes, "oom_kills", (json_int_t)st->oom_kills);
}

static void print_event(const char *type, const char *id, json_t *data)
{
	json_t *ev = json_pack("{s:s,s:s}", "type", type, "id", id);
	if (data)
		json_object_set_new(ev, "data", data);
	char *text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	if (text) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
}

static int print_stats(const char *dir, const char *id, struct husk_err *err)
{
	static uint8_t arena_buf[256 * 1024];
	struct husk_arena a;
	struct husk_stats_msg st;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_container_stats(dir, &a, &st, err) < 0)
		return -err->code;
	json_t *data = stats_json(&st);
	if (!data)
		return husk_err_set(err, ENOMEM, "out of memory");
	print_event("stats", id, data);
	return 0;
}

int cmd_events(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	bool once = false;
	long interval_ms = 5000;
	struct husk_err err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 's')
			once = true;
		else if (c == 'i') {
			interval_ms = parse_duration_ms(optarg);
			if (interval_ms <= 0)
				return cli_failf("events: --interval \"%s\" is not a duration like 5s or 500ms",
						 optarg);
		} else
			return cli_failf("events: unknown option %s (see husk events --help)", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_failf("events: expected exactly one container id (see husk events --help)");
	const char *id = argv[optind];
	struct husk_state st;
	char dir[PATH_MAX];
	if (cli_load_state(g, id, dir, sizeof dir, &st, &err) < 0)
		return cli_fail(&err);
	enum husk_status status = husk_state_status(&st);
	husk_state_free(&st);
	if (status == HUSK_STATUS_STOPPED)
		return cli_failf("container \"%s\" is stopped", id);
	if (once)
		return print_stats(dir, id, &err) < 0 ? cli_fail(&err) : 0;

	int fd = husk_container_events_open(dir, &err);
	if (fd < 0)
		return cli_fail(&err);
	uint8_t *buf = malloc(HUSK_FRAME_HDR_SIZE + 4096);
	struct husk_frame_reader rd;
	husk_frame_reader_init(&rd, buf, HUSK_FRAME_HDR_SIZE + 4096, 4096);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)interval_ms);
		if (n == 0) {
			struct husk_err serr = { 0 };
			if (print_stats(dir, id, &serr) < 0)
				break; /* the container went away */
			continue;
		}
		size_t room;
		uint8_t *dst = husk_frame_reader_space(&rd, &room);
		ssize_t got = read(fd, dst, room);
		if (got <= 0)
			break; /* the monitor exited with the container */
		husk_frame_reader_commit(&rd, (size_t)got);
		struct husk_frame_hdr h;
		const uint8_t *payload;
		while (husk_frame_reader_next(&rd, &h, &payload, &err) == 1)
			if (h.type == HUSK_MSG_OOM)
				print_event("oom", id, NULL);
	}
	free(buf);
	close(fd);
	return 0;
}
