/* husk sandbox run's spec: the template filled from options, read back by
 * husk's own spec parser; io.husk.rootfs.overlay_mib; io.husk.sandbox.hold;
 * bad options. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/msg_container.h"
#include "host/spec/sandbox_spec.h"
#include "host/spec/spec.h"
#include "host/state/config.h"
#include "host/state/fsutil.h"
#include "tests/unit/unit.h"

static char dir[PATH_MAX], rootfs[PATH_MAX + 16], work[PATH_MAX + 16];

static void make_dirs(void)
{
	struct husk_err err = { 0 };
	snprintf(dir, sizeof dir, "/tmp/husk-unit-sandbox.%d", (int)getpid());
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	mkdir_p(rootfs, 0755, &err);
	mkdir_p(work, 0755, &err);
}

static const struct husk_mount *find_mount(const struct husk_spec *spec, const char *dest)
{
	for (uint32_t i = 0; spec->container && i < spec->container->n_mounts; i++)
		if (!strcmp(spec->container->mounts[i].destination, dest))
			return &spec->container->mounts[i];
	return NULL;
}

static int build_and_parse(const struct husk_sandbox_opts *o, struct husk_spec *spec, struct husk_err *err)
{
	char *text = NULL;
	int r = husk_sandbox_spec(o, &text, err);
	if (r < 0)
		return r;
	r = husk_spec_parse(spec, "", text, strlen(text), err); /* as create parses it */
	free(text);
	return r;
}

static enum test_result test_template(void)
{
	char *argv[] = { "/bin/sh", "-c", "make test" };
	char *env[] = { "CI=true", "A_1=x=y" };
	struct husk_sandbox_opts o = {
		.rootfs = rootfs,
		.work = work,
		.memory_mib = 512,
		.cpus = 2,
		.env = env,
		.n_env = 2,
		.argv = argv,
		.argc = 3,
	};
	struct husk_spec spec;
	struct husk_err err = { 0 };
	int r = build_and_parse(&o, &spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	CHECK_STR(spec.rootfs, rootfs);
	CHECK(!spec.readonly);
	CHECK_EQ_INT(spec.overlay_mib, 256);
	CHECK(husk_spec_rootfs_staged_ro(&spec));
	CHECK_STR(spec.process.cwd, "/work");
	CHECK_EQ_INT(spec.process.n_args, 3);
	CHECK_STR(spec.process.args[2], "make test");
	CHECK(!spec.process.terminal);
	CHECK_STR(spec.process.env[spec.process.n_env - 1], "A_1=x=y");
	/* no network namespace path: the VM gets no NIC */
	CHECK(spec.container && spec.container->netns_path == NULL);
	const struct husk_mount *m = find_mount(&spec, "/work");
	CHECK(m && m->bind && m->host_source && !strcmp(m->host_source, work));
	CHECK(m && !(m->flags & MS_RDONLY));
	CHECK(find_mount(&spec, "/tmp") == NULL);
	/* the VM's size comes through the annotations husk wrote */
	struct husk_config cfg;
	long mem;
	int vcpus;
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 512);
	CHECK_EQ_INT(vcpus, 2);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_read_only_no_work(void)
{
	char *argv[] = { "true" };
	struct husk_sandbox_opts o = {
		.rootfs = rootfs,
		.memory_mib = 300,
		.cpus = 1,
		.read_only = true,
		.terminal = true,
		.argv = argv,
		.argc = 1,
	};
	struct husk_spec spec;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(build_and_parse(&o, &spec, &err), 0);
	CHECK(spec.readonly);
	/* the mount points the rootfs lacks go in an overlay, not the rootfs */
	CHECK_EQ_INT(spec.overlay_mib, HUSK_SANDBOX_RO_OVERLAY_MIB);
	CHECK(spec.process.terminal);
	const struct husk_mount *m = find_mount(&spec, "/work");
	CHECK(m && !m->bind && !strcmp(m->type, "tmpfs"));
	m = find_mount(&spec, "/tmp");
	CHECK(m && !strcmp(m->type, "tmpfs"));
	husk_spec_free(&spec);
	CHECK_EQ_INT(husk_sandbox_overlay_mib(300), 150);
	return TEST_PASS;
}

static enum test_result test_bad_options(void)
{
	char *argv[] = { "true" };
	char *bad_env[] = { "=x" };
	struct husk_sandbox_opts base = { .rootfs = rootfs, .memory_mib = 512, .cpus = 1, .argv = argv, .argc = 1 };
	struct husk_sandbox_opts cases[6];
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		cases[i] = base;
	cases[0].argc = 0;
	cases[1].memory_mib = 64;
	cases[2].cpus = 65;
	cases[3].env = bad_env;
	cases[3].n_env = 1;
	cases[4].rootfs = "rel";
	cases[5].work = "rel";
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *text = NULL;
		struct husk_err err = { 0 };
		if (husk_sandbox_spec(&cases[i], &text, &err) >= 0) {
			printf("# case %zu accepted\n", i);
			free(text);
			return TEST_FAIL;
		}
		CHECK(err.msg[0] != '\0' && !strchr(err.msg, '\n'));
	}
	CHECK(husk_sandbox_env_valid("A=") && husk_sandbox_env_valid("_x=1"));
	CHECK(!husk_sandbox_env_valid("A") && !husk_sandbox_env_valid("1A=x") && !husk_sandbox_env_valid("A-B=x"));
	return TEST_PASS;
}

/* the annotation any spec may carry: a number from 1 to 65536, also with
 * root.readonly (the overlay then takes only mount points) */
#define OVERLAY_SPEC                                                                                                   \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":%s},"                                    \
	"\"process\":{\"args\":[\"a\"],\"cwd\":\"/\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]},\"annotations\":{\"io.husk.rootfs.overlay_mib\":\"%s\"}}"
static enum test_result test_overlay_annotation(void)
{
	static const char *const bad[] = { "0", "65537", "-1", "12x", "", " 5" };
	char text[1024];
	struct husk_spec spec;
	struct husk_err err = { 0 };
	snprintf(text, sizeof text, OVERLAY_SPEC, "false", "64");
	CHECK_EQ_INT(husk_spec_parse(&spec, dir, text, strlen(text), &err), 0);
	CHECK_EQ_INT(spec.overlay_mib, 64);
	husk_spec_free(&spec);
	snprintf(text, sizeof text, OVERLAY_SPEC, "true", "1");
	CHECK_EQ_INT(husk_spec_parse(&spec, dir, text, strlen(text), &err), 0);
	CHECK(spec.readonly);
	CHECK_EQ_INT(spec.overlay_mib, 1);
	husk_spec_free(&spec);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		snprintf(text, sizeof text, OVERLAY_SPEC, "false", bad[i]);
		if (husk_spec_parse(&spec, dir, text, strlen(text), &err) >= 0) {
			printf("# accepted \"%s\"\n", bad[i]);
			return TEST_FAIL;
		}
		CHECK(strstr(err.msg, "overlay_mib") != NULL);
		husk_spec_free(&spec);
	}
	return TEST_PASS;
}

/* sandbox start's spec: io.husk.sandbox.hold "true", process.args kept;
 * run's has no such annotation; only the text "true" is taken */
#define HOLD_SPEC                                                                                                      \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"/\"},"       \
	"\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]},\"annotations\":{\"io.husk.sandbox.hold\":%s}}"
static enum test_result test_hold_annotation(void)
{
	static const char *const bad[] = { "\"false\"", "\"1\"", "\"\"", "\"TRUE\"", "true", "1", "null" };
	char *argv[] = { "husk-hold" };
	struct husk_sandbox_opts o = { .rootfs = rootfs, .memory_mib = 512, .cpus = 1, .argv = argv, .argc = 1 };
	struct husk_spec spec;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(build_and_parse(&o, &spec, &err), 0);
	CHECK(!spec.hold);
	husk_spec_free(&spec);
	o.hold = true;
	CHECK_EQ_INT(build_and_parse(&o, &spec, &err), 0);
	CHECK(spec.hold);
	CHECK_EQ_INT(spec.overlay_mib, 256); /* the rest is run's spec */
	CHECK_EQ_INT(spec.process.n_args, 1);
	CHECK_STR(spec.process.args[0], "husk-hold");
	husk_spec_free(&spec);
	char text[1024];
	snprintf(text, sizeof text, HOLD_SPEC, "\"true\"");
	CHECK_EQ_INT(husk_spec_parse(&spec, dir, text, strlen(text), &err), 0);
	CHECK(spec.hold);
	husk_spec_free(&spec);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		snprintf(text, sizeof text, HOLD_SPEC, bad[i]);
		if (husk_spec_parse(&spec, dir, text, strlen(text), &err) >= 0) {
			printf("# accepted %s\n", bad[i]);
			return TEST_FAIL;
		}
		CHECK_STR(err.msg, "annotation io.husk.sandbox.hold must be \"true\"");
		husk_spec_free(&spec);
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "the sandbox spec as husk's parser reads it", test_template },
		{ "--read-only and no --work", test_read_only_no_work },
		{ "bad sandbox options are one-line errors", test_bad_options },
		{ "annotation io.husk.rootfs.overlay_mib", test_overlay_annotation },
		{ "annotation io.husk.sandbox.hold (sandbox start)", test_hold_annotation },
	};
	make_dirs();
	int r = unit_run(tests, ARRAY_SIZE(tests));
	struct husk_err err = { 0 };
	remove_tree(dir, &err);
	return r;
}
