/* run: create, start, wait for the container and remove it. */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "host/cli/cli.h"
#include "host/container/container.h"

/* The message of a logrus text line (host/state/log.c), unquoted; false
 * if the line is not at level error. */
static bool error_msg(const char *line, char *out, size_t cap)
{
	/* the level right after the time: never a match inside a message */
	static const char level[] = "\" level=error msg=";
	const char *p = strncmp(line, "time=\"", 6) ? NULL : strchr(line + 6, '"');
	if (!p || cap == 0 || strncmp(p, level, strlen(level)))
		return false;
	p += strlen(level);
	size_t n = 0;
	if (*p != '"') {
		while (*p && *p != ' ' && *p != '\n' && n + 1 < cap)
			out[n++] = *p++;
	} else {
		/* \" and \\ back to themselves; \n and \xNN stay escaped (one line) */
		for (p++; *p && *p != '"' && n + 1 < cap; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	return true;
}

void cli_print_monitor_errors(const char *dir)
{
	char path[PATH_MAX], line[4400], msg[4400];
	snprintf(path, sizeof path, "%s/monitor.log", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f))
		if (error_msg(line, msg, sizeof msg))
			fprintf(stderr, "husk: %s\n", msg);
	fclose(f);
}

/* run: create, start, then wait for the monitor and exit with its status,
 * forwarding the signals the CLI receives to the container. */
int cmd_run(struct husk_globals *g, int argc, char **argv)
{
	struct create_opts o;
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (cli_parse_create_opts(argc, argv, true, &o) != 0)
		return 1;
	sigset_t set, old;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = cli_create_container(g, &o, true, dir, sizeof dir, &err);
	if (pid < 0)
		return cli_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return cli_fail(&err);
	}
	if (husk_container_start(g->root, o.id, &err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		husk_container_teardown(dir, o.id);
		return cli_fail(&err);
	}
	if (o.detach)
		return 0;
	int status = cli_wait_forwarding(pid, &set);
	if (status == 255)
		cli_print_monitor_errors(dir);
	if (!o.keep)
		husk_container_teardown(dir, o.id); /* run deletes what it created */
	return status;
}
