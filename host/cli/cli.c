#include "host/cli/cli.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "host/container/container.h"
#include "host/state/log.h"

int cli_fail(const struct husk_err *err)
{
	fprintf(stderr, "husk: %s\n", err->msg[0] ? err->msg : "unknown error");
	if (husk_log_fd() != 2)
		husk_log(HUSK_LOG_ERROR, "%s", err->msg);
	return 1;
}

int cli_failf(const char *fmt, ...)
{
	struct husk_err err = { 0 };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof err.msg, fmt, ap);
	va_end(ap);
	err.code = EINVAL;
	return cli_fail(&err);
}

void cli_print_usage(const struct husk_verb *v)
{
	printf("usage: husk %s\n\n%s\n", v->usage, v->summary);
}

bool cli_wants_help(const struct husk_verb *v, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_print_usage(v);
			return true;
		}
		/* exec's command arguments may contain -h: stop at the first
		 * positional argument after the id */
		if (argv[i][0] != '-' && !strcmp(v->name, "exec"))
			return false;
	}
	return false;
}

int cli_load_state(const struct husk_globals *g, const char *id, char *dir, size_t dir_cap, struct husk_state *st,
		   struct husk_err *err)
{
	return husk_container_load(g->root, id, dir, dir_cap, st, err);
}

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },       { "QUIT", SIGQUIT }, { "ILL", SIGILL },     { "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT }, { "IOT", SIGIOT },       { "BUS", SIGBUS },   { "FPE", SIGFPE },     { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },     { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },   { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU }, { "URG", SIGURG },     { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },
	{ "POLL", SIGPOLL }, { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

int cli_parse_signal(const char *s)
{
	char *end;
	if (*s >= '0' && *s <= '9') {
		long n = strtol(s, &end, 10);
		if (*end || n < 0 || n >= 65)
			return -EINVAL;
		return (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof signal_names / sizeof signal_names[0]; i++)
		if (!strcasecmp(s, signal_names[i].name))
			return signal_names[i].sig;
	if (!strncasecmp(s, "RTMIN", 5) || !strncasecmp(s, "RTMAX", 5)) {
		long off = 0;
		if (s[5] == '+' || s[5] == '-') {
			off = strtol(s + 5, &end, 10);
			if (*end)
				return -EINVAL;
		} else if (s[5]) {
			return -EINVAL;
		}
		int sig = (!strncasecmp(s, "RTMIN", 5) ? SIGRTMIN : SIGRTMAX) + (int)off;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -EINVAL;
	}
	return -EINVAL;
}
