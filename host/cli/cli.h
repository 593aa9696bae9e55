/* The runc-compatible command line: global options, the verb table, and
 * helpers shared by the cmd_<verb>.c files. */
#ifndef HUSK_HOST_CLI_H
#define HUSK_HOST_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/state/state.h"

struct husk_globals {
	const char *root;
	const char *log_path;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
};

struct husk_verb {
	const char *name;
	const char *summary;
	const char *usage; /* printed by --help */
	int (*run)(struct husk_globals *g, int argc, char **argv);
};

/* Prints err as one line (and to the --log file), returns exit status 1. */
int cli_fail(const struct husk_err *err);
int cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Handles -h/--help for a verb; true if help was printed. */
bool cli_wants_help(const struct husk_verb *v, int argc, char **argv);
const struct husk_verb *cli_find_verb(const char *name);
void cli_print_usage(const struct husk_verb *v);

/* Loads <root>/<id>/state.json (host/container/container.h); a missing
 * container is ENOENT with "container "<id>" does not exist". */
int cli_load_state(const struct husk_globals *g, const char *id, char *dir, size_t dir_cap, struct husk_state *st,
		   struct husk_err *err);
/* Signal by number or name ("9", "KILL", "SIGKILL"; "0" checks liveness);
 * -EINVAL if unknown. */
int cli_parse_signal(const char *s);

/* Waits for the monitor child, forwarding the (blocked) signals the CLI
 * receives to it; returns its exit status. */
int cli_wait_forwarding(pid_t pid, const sigset_t *blocked);
/* The monitor logs to its state dir; run deletes that dir, so it shows the
 * monitor's errors (cmd_run.c) first. */
void cli_print_monitor_errors(const char *dir);
int cli_write_pid_file(const char *path, pid_t pid, struct husk_err *err);

/* create's and run's options (cmd_create.c) */
struct create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	bool detach;
	bool keep; /* run --keep: the stopped container stays for state/delete */
	const char *id;
};
int cli_parse_create_opts(int argc, char **argv, bool is_run, struct create_opts *o);
pid_t cli_create_container(struct husk_globals *g, const struct create_opts *o, bool is_run, char *dir, size_t dir_cap,
			   struct husk_err *err);

/* verbs */
int cmd_create(struct husk_globals *g, int argc, char **argv);
int cmd_run(struct husk_globals *g, int argc, char **argv);
int cmd_start(struct husk_globals *g, int argc, char **argv);
int cmd_state(struct husk_globals *g, int argc, char **argv);
int cmd_kill(struct husk_globals *g, int argc, char **argv);
int cmd_delete(struct husk_globals *g, int argc, char **argv);
int cmd_list(struct husk_globals *g, int argc, char **argv);
int cmd_config(struct husk_globals *g, int argc, char **argv);
int cmd_exec(struct husk_globals *g, int argc, char **argv);
int cmd_pause(struct husk_globals *g, int argc, char **argv);
int cmd_resume(struct husk_globals *g, int argc, char **argv);
int cmd_ps(struct husk_globals *g, int argc, char **argv);
int cmd_spec(struct husk_globals *g, int argc, char **argv);
int cmd_update(struct husk_globals *g, int argc, char **argv);
int cmd_events(struct husk_globals *g, int argc, char **argv);
int cmd_features(struct husk_globals *g, int argc, char **argv);
int cmd_not_yet(struct husk_globals *g, int argc, char **argv);
int cmd_pool(struct husk_globals *g, int argc, char **argv);
int cmd_sandbox(struct husk_globals *g, int argc, char **argv);

#endif
