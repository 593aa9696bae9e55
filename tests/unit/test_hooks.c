/* OCI hooks: parsing config.json's "hooks" and running them. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/spec/hooks.h"
#include "tests/unit/unit.h"

static char tmpdir[PATH_MAX];

static int parse(const char *text, struct husk_hooks *h, struct husk_err *err)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	if (!root) {
		fprintf(stdout, "# bad test JSON: %s\n", jerr.text);
		return -1000;
	}
	int r = husk_hooks_parse(root, h, err);
	json_decref(root);
	return r;
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static enum test_result test_parse_none(void)
{
	struct husk_hooks h;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse("{}", &h, &err), 0);
	for (int k = 0; k < HUSK_HOOK_KINDS; k++)
		CHECK(!husk_hooks_any(&h, (enum husk_hook_kind)k));
	husk_hooks_free(&h);
	CHECK_EQ_INT(parse("{\"hooks\":{\"prestart\":[],\"poststop\":null}}", &h, &err), 0);
	CHECK(!husk_hooks_any(&h, HUSK_HOOK_PRESTART));
	husk_hooks_free(&h);
	return TEST_PASS;
}

static enum test_result test_parse_all_kinds(void)
{
	struct husk_hooks h;
	struct husk_err err = { 0 };
	const char *doc = "{\"hooks\":{"
			  "\"prestart\":[{\"path\":\"/bin/a\"},{\"path\":\"/bin/b\",\"args\":[\"b\",\"-x\"]}],"
			  "\"createRuntime\":[{\"path\":\"/bin/c\",\"env\":[\"A=1\",\"B=\"],\"timeout\":5}],"
			  "\"createContainer\":[{\"path\":\"/bin/d\"}],"
			  "\"startContainer\":[{\"path\":\"/bin/e\"}],"
			  "\"poststart\":[{\"path\":\"/bin/f\"}],"
			  "\"poststop\":[{\"path\":\"/bin/g\"}],"
			  "\"someExtension\":42}}";
	CHECK_EQ_INT(parse(doc, &h, &err), 0);
	CHECK_EQ_INT(h.n[HUSK_HOOK_PRESTART], 2);
	CHECK_STR(h.list[HUSK_HOOK_PRESTART][0].path, "/bin/a");
	CHECK_STR(h.list[HUSK_HOOK_PRESTART][0].args[0], "/bin/a"); /* no args: the path is argv[0] */
	CHECK(h.list[HUSK_HOOK_PRESTART][0].args[1] == NULL);
	CHECK(h.list[HUSK_HOOK_PRESTART][0].env == NULL);
	CHECK_EQ_INT(h.list[HUSK_HOOK_PRESTART][0].timeout, 0);
	CHECK_STR(h.list[HUSK_HOOK_PRESTART][1].args[0], "b");
	CHECK_STR(h.list[HUSK_HOOK_PRESTART][1].args[1], "-x");
	CHECK_EQ_INT(h.n[HUSK_HOOK_CREATE_RUNTIME], 1);
	CHECK_STR(h.list[HUSK_HOOK_CREATE_RUNTIME][0].env[1], "B=");
	CHECK_EQ_INT(h.list[HUSK_HOOK_CREATE_RUNTIME][0].timeout, 5);
	for (int k = 0; k < HUSK_HOOK_KINDS; k++)
		CHECK(husk_hooks_any(&h, (enum husk_hook_kind)k));
	CHECK_STR(husk_hook_kind_name(HUSK_HOOK_START_CONTAINER), "startContainer");
	husk_hooks_free(&h);
	return TEST_PASS;
}

static enum test_result test_parse_rejects(void)
{
	static const struct {
		const char *doc, *want;
	} bad[] = {
		{ "{\"hooks\":[]}", "config.json: hooks must be an object" },
		{ "{\"hooks\":{\"prestart\":{}}}", "config.json: hooks.prestart must be an array" },
		{ "{\"hooks\":{\"prestart\":[\"/bin/x\"]}}", "config.json: hooks.prestart[0] must be an object" },
		{ "{\"hooks\":{\"poststop\":[{}]}}", "config.json: hooks.poststop[0].path is required" },
		{ "{\"hooks\":{\"poststart\":[{\"path\":\"/a\"},{\"path\":\"bin/x\"}]}}",
		  "config.json: hooks.poststart[1].path \"bin/x\" must be absolute" },
		{ "{\"hooks\":{\"createRuntime\":[{\"path\":\"/a\",\"timeout\":0}]}}",
		  "config.json: hooks.createRuntime[0].timeout must be a positive number of seconds" },
		{ "{\"hooks\":{\"createRuntime\":[{\"path\":\"/a\",\"timeout\":-3}]}}",
		  "config.json: hooks.createRuntime[0].timeout must be a positive number of seconds" },
		{ "{\"hooks\":{\"createRuntime\":[{\"path\":\"/a\",\"timeout\":\"5\"}]}}",
		  "config.json: hooks.createRuntime[0].timeout must be a positive number of seconds" },
		{ "{\"hooks\":{\"startContainer\":[{\"path\":\"/a\",\"args\":[\"a\",1]}]}}",
		  "config.json: hooks.startContainer[0].args[1] must be a string" },
		{ "{\"hooks\":{\"startContainer\":[{\"path\":\"/a\",\"args\":\"a\"}]}}",
		  "config.json: hooks.startContainer[0].args must be an array of strings" },
		{ "{\"hooks\":{\"createContainer\":[{\"path\":\"/a\",\"env\":[\"NOEQUALS\"]}]}}",
		  "config.json: hooks.createContainer[0].env[0] is not KEY=VALUE" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_hooks h;
		struct husk_err err = { 0 };
		int r = parse(bad[i].doc, &h, &err);
		husk_hooks_free(&h);
		CHECK(r < 0 && r != -1000);
		CHECK_STR(err.msg, bad[i].want);
	}
	return TEST_PASS;
}

/* a /bin/sh -c SCRIPT hook */
static struct husk_hook sh_hook(const char *script, int timeout)
{
	static char *args[4];
	args[0] = "sh";
	args[1] = "-c";
	args[2] = (char *)script;
	args[3] = NULL;
	return (struct husk_hook){ .path = "/bin/sh", .args = args, .timeout = timeout };
}

static enum test_result test_run_reads_state_on_stdin(void)
{
	struct husk_err err = { 0 };
	char script[PATH_MAX + 64], out[PATH_MAX];
	snprintf(out, sizeof out, "%s/stdin", tmpdir);
	snprintf(script, sizeof script, "cat > %s; echo \"$0 $PWD\" >> %s", out, out);
	struct husk_hook h = sh_hook(script, 5);
	const char *state = "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"created\",\"pid\":42}";
	CHECK_EQ_INT(husk_hook_run(&h, "test hook", tmpdir, state, &err), 0);
	char want[8192];
	snprintf(want, sizeof want, "%ssh %s\n", state, tmpdir);
	CHECK_STR(slurp(out), want);
	return TEST_PASS;
}

/* where each kind runs: runc's directories (tests/e2e/parity_spec.bats
 * compares them with runc's) */
static enum test_result test_cwd_per_kind(void)
{
	struct husk_hooks h = { .cwd = "/b", .rootfs = "/b/rootfs", .process_cwd = "/work" };
	const char *dir, *sub;
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) {
		husk_hooks_cwd(&h, (enum husk_hook_kind)k, &dir, &sub);
		if (k == HUSK_HOOK_CREATE_CONTAINER) {
			CHECK_STR(dir, "/b/rootfs");
			CHECK(sub == NULL);
		} else if (k == HUSK_HOOK_START_CONTAINER) {
			CHECK_STR(dir, "/b/rootfs");
			CHECK_STR(sub, "/work");
		} else {
			CHECK_STR(dir, "/b");
			CHECK(sub == NULL);
		}
	}
	/* poststop of a container whose monitor is gone knows the bundle only */
	h.rootfs = NULL;
	husk_hooks_cwd(&h, HUSK_HOOK_START_CONTAINER, &dir, &sub);
	CHECK_STR(dir, "/b");
	return TEST_PASS;
}

/* a directory inside the rootfs: found without leaving it; the rootfs
 * itself when it is not there */
static enum test_result test_run_in_root(void)
{
	struct husk_err err = { 0 };
	char root[PATH_MAX], path[PATH_MAX + 32], out[PATH_MAX + 16], script[3 * PATH_MAX];
	snprintf(root, sizeof root, "%s/rootfs", tmpdir);
	snprintf(path, sizeof path, "%s/rootfs/work", tmpdir);
	CHECK(mkdir(root, 0755) == 0 && mkdir(path, 0755) == 0);
	snprintf(path, sizeof path, "%s/rootfs/up", tmpdir);
	CHECK(symlink("../../..", path) == 0); /* in the root, ../../.. is / */
	snprintf(out, sizeof out, "%s/pwd", tmpdir);
	snprintf(script, sizeof script, "pwd -P > %s", out);
	struct husk_hook hk = sh_hook(script, 5);
	static const struct {
		const char *sub, *want;
	} cases[] = { { "/work", "/work" },       { "work/", "/work" },   { "/up/work", "/work" },
		      { "/../../work", "/work" }, { "/no/such/dir", "" }, { NULL, "" } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char want[PATH_MAX * 2];
		snprintf(want, sizeof want, "%s%s\n", root, cases[i].want);
		CHECK_EQ_INT(husk_hook_run_in(&hk, "in-root hook", root, cases[i].sub, "{}", &err), 0);
		CHECK_STR(slurp(out), want);
	}
	return TEST_PASS;
}

static enum test_result test_run_env(void)
{
	struct husk_err err = { 0 };
	char script[PATH_MAX + 64], out[PATH_MAX];
	snprintf(out, sizeof out, "%s/env", tmpdir);
	snprintf(script, sizeof script, "echo \"$HOOKVAR ${HOME:-nohome}\" > %s", out);
	struct husk_hook h = sh_hook(script, 0);
	char *env[] = { "HOOKVAR=yes", NULL };
	h.env = env;
	CHECK_EQ_INT(husk_hook_run(&h, "env hook", NULL, "{}", &err), 0);
	CHECK_STR(slurp(out), "yes nohome\n"); /* exactly the given environment */
	return TEST_PASS;
}

static enum test_result test_run_ignores_stdin(void)
{
	/* a hook that never reads a large stdin must not hang or kill us */
	struct husk_err err = { 0 };
	static char big[1 << 18];
	memset(big, 'x', sizeof big - 1);
	struct husk_hook h = sh_hook("exit 0", 5);
	CHECK_EQ_INT(husk_hook_run(&h, "quiet hook", NULL, big, &err), 0);
	return TEST_PASS;
}

static enum test_result test_run_failures(void)
{
	struct husk_err err = { 0 };
	struct husk_hook h = sh_hook("echo something broke >&2; exit 3", 5);
	CHECK(husk_hook_run(&h, "hooks.prestart[0] (/bin/sh)", NULL, "{}", &err) < 0);
	CHECK_STR(err.msg, "hooks.prestart[0] (/bin/sh): exited with status 3 (output: something broke)");

	husk_err_clear(&err);
	h = sh_hook("kill -9 $$", 5);
	CHECK(husk_hook_run(&h, "h", NULL, "{}", &err) < 0);
	CHECK_STR(err.msg, "h: killed by signal 9");

	husk_err_clear(&err);
	char *args[] = { "nope", NULL };
	struct husk_hook missing = { .path = "/nonexistent/hook", .args = args };
	CHECK(husk_hook_run(&missing, "m", NULL, "{}", &err) < 0);
	CHECK_STR(err.msg, "m: cannot run it: No such file or directory");
	return TEST_PASS;
}

static enum test_result test_run_timeout_kills(void)
{
	struct husk_err err = { 0 };
	char script[PATH_MAX + 64], pidfile[PATH_MAX];
	snprintf(pidfile, sizeof pidfile, "%s/sleeper", tmpdir);
	/* the sleep is a child of the shell: the whole group must die */
	snprintf(script, sizeof script, "sleep 30 & echo $! > %s; wait", pidfile);
	struct husk_hook h = sh_hook(script, 1);
	long t0 = now_ms();
	CHECK(husk_hook_run(&h, "slow hook", NULL, "{}", &err) < 0);
	long took = now_ms() - t0;
	CHECK_STR(err.msg, "slow hook: timed out after 1 s and was killed");
	CHECK(took >= 900 && took < 5000);
	char *pid = slurp(pidfile);
	CHECK(pid != NULL);
	usleep(100000);
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/%d/stat", atoi(pid));
	char *stat = slurp(proc);
	/* gone, or a zombie waiting for init to reap it */
	CHECK(stat == NULL || strstr(stat, ") Z ") != NULL);
	return TEST_PASS;
}

static enum test_result test_run_list_order_and_warn_only(void)
{
	struct husk_err err = { 0 };
	char log[PATH_MAX], doc[4 * PATH_MAX];
	snprintf(log, sizeof log, "%s/order", tmpdir);
	snprintf(doc, sizeof doc,
		 "{\"hooks\":{\"poststart\":["
		 "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"echo one >> %s\"]},"
		 "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"exit 1\"]},"
		 "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"echo three >> %s\"]}]}}",
		 log, log);
	struct husk_hooks h;
	CHECK_EQ_INT(parse(doc, &h, &err), 0);
	/* poststart: a failure warns, the rest run */
	CHECK_EQ_INT(husk_hooks_run(&h, HUSK_HOOK_POSTSTART, "{}", true, &err), 0);
	CHECK_STR(slurp(log), "one\nthree\n");
	/* otherwise the first failure stops the list, named by its place */
	unlink(log);
	CHECK(husk_hooks_run(&h, HUSK_HOOK_POSTSTART, "{}", false, &err) < 0);
	CHECK_STR(err.msg, "hooks.poststart[1] (/bin/sh): exited with status 1");
	CHECK_STR(slurp(log), "one\n");
	husk_hooks_free(&h);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "no hooks", test_parse_none },
		{ "every kind, args, env, timeout", test_parse_all_kinds },
		{ "bad hooks sections are one-line errors", test_parse_rejects },
		{ "a hook reads the state JSON on stdin, in its cwd", test_run_reads_state_on_stdin },
		{ "createContainer and startContainer run in the rootfs", test_cwd_per_kind },
		{ "a directory inside the rootfs stays inside it", test_run_in_root },
		{ "a hook's env is exactly the given one", test_run_env },
		{ "a hook that ignores stdin", test_run_ignores_stdin },
		{ "exit status, signal, missing binary fail", test_run_failures },
		{ "a hook past its timeout is killed with its children", test_run_timeout_kills },
		{ "hooks run in order; warn-only goes on", test_run_list_order_and_warn_only },
	};
	snprintf(tmpdir, sizeof tmpdir, "/tmp/husk-hooks-test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int r = unit_run(tests, ARRAY_SIZE(tests));
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
