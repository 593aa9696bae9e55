/* A verb and the monitor: requests to it, and waiting for it in the
 * foreground. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/msg_session.h"
#include "host/cli/cli.h"
#include "host/monitor/ctl.h"
#include "host/state/fsutil.h"

/* Loads the state and checks the container is in one of the wanted states. */
int cli_load_in_status(struct husk_globals *g, const char *verb, int argc, char **argv, enum husk_status want,
		       int want2, char *dir, size_t dir_cap)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	if (argc != 2 || argv[1][0] == '-')
		return cli_failf("%s: expected exactly one container id (see husk %s --help)", verb, verb);
	if (cli_load_state(g, argv[1], dir, dir_cap, &st, &err) < 0)
		return cli_fail(&err);
	enum husk_status status = husk_state_status(&st);
	husk_state_free(&st);
	if (status != want && (want2 < 0 || status != (enum husk_status)want2))
		return cli_failf("container \"%s\" is %s, not %s", argv[1], husk_status_name(status),
				 husk_status_name(want));
	return 0;
}

int cli_empty_request(const char *dir, uint16_t type, uint8_t **reply, size_t *reply_len, struct husk_err *err)
{
	uint8_t buf[8];
	struct husk_cbor_enc e;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_empty(&e);
	return husk_ctl_call_reply(dir, type, e.buf, e.len, 30000, reply, reply_len, err);
}

int cli_wait_forwarding(pid_t pid, const sigset_t *blocked)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(blocked, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status;
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w != pid)
				continue;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (sig == SIGPIPE || sig == SIGURG || sig == SIGWINCH)
			continue;
		/* the monitor forwards what it receives to the process in the guest */
		kill(pid, sig);
	}
}

int cli_write_pid_file(const char *path, pid_t pid, struct husk_err *err)
{
	char buf[32], abs[PATH_MAX];
	int n = snprintf(buf, sizeof buf, "%d", (int)pid);
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd))
			return husk_err_sys(err, errno, "getcwd");
		snprintf(abs, sizeof abs, "%s/%s", cwd, path);
		path = abs;
	}
	return write_file_atomic(path, buf, (size_t)n, 0644, err);
}
