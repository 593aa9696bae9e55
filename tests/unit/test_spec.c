/* config.json validation and conversion. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "host/spec/spec.h"
#include "tests/unit/unit.h"

static char bundle[PATH_MAX];

static void make_bundle(void)
{
	struct husk_err err = { 0 };
	snprintf(bundle, sizeof bundle, "/tmp/husk-unit-spec.%d", (int)getpid());
	char rootfs[PATH_MAX + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	mkdir_p(rootfs, 0755, &err);
}

static const char *good =
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h\","
	"\"process\":{\"args\":[\"/bin/sh\",\"-c\",\"x\"],\"env\":[\"A=1\"],\"cwd\":\"/tmp\","
	"\"user\":{\"uid\":5,\"gid\":6,\"additionalGids\":[7,8]},\"terminal\":false},"
	"\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"}]}}";

static int parse(const char *text, struct husk_spec *spec, struct husk_err *err)
{
	husk_err_clear(err);
	int r = husk_spec_parse(spec, bundle, text, strlen(text), err);
	return r;
}

static enum test_result test_good(void)
{
	struct husk_spec spec;
	struct husk_err err = { 0 };
	int r = parse(good, &spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof want, "%s/rootfs", bundle);
	CHECK_STR(spec.rootfs, want);
	CHECK(spec.readonly);
	CHECK_STR(spec.hostname, "h");
	CHECK_EQ_INT(spec.process.n_args, 3);
	CHECK_STR(spec.process.args[2], "x");
	CHECK(spec.process.args[3] == NULL);
	CHECK_EQ_INT(spec.process.n_env, 1);
	CHECK_STR(spec.process.cwd, "/tmp");
	CHECK_EQ_INT(spec.process.uid, 5);
	CHECK_EQ_INT(spec.process.gid, 6);
	CHECK_EQ_INT(spec.process.n_gids, 2);
	CHECK_EQ_INT(spec.process.gids[1], 8);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_rejections(void)
{
	static const struct {
		const char *json, *needle;
	} cases[] = {
		{ "{\"ociVersion\":", "line" },
		{ "[]", "object" },
		{ "{\"root\":{\"path\":\"rootfs\"},\"process\":{}}", "ociVersion" },
		{ "{\"ociVersion\":\"0.9\",\"root\":{\"path\":\"rootfs\"}}", "1.x" },
		{ "{\"ociVersion\":\"1.0.2\"}", "root" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"nope\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"/\"}}",
		  "rootfs" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}}", "process" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[],\"cwd\":\"/\"}}",
		  "args" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[1],\"cwd\":\"/\"}}",
		  "args[0]" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"rel\"}}",
		  "absolute" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"]}}", "cwd" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"/\","
		  "\"env\":[\"NOEQUALS\"]}}",
		  "env[0]" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"/\","
		  "\"user\":{\"uid\":-1}}}",
		  "uid" },
		{ "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"process\":{\"args\":[\"a\"],\"cwd\":\"/\","
		  "\"terminal\":\"yes\"}}",
		  "terminal" },
		{ "{\"ociVersion\":\"1.0.2\",\"ociVersion\":\"1.0.2\"}", "duplicate" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct husk_spec spec;
		struct husk_err err = { 0 };
		int r = parse(cases[i].json, &spec, &err);
		husk_spec_free(&spec);
		if (r >= 0 || !strstr(err.msg, cases[i].needle)) {
			printf("# case %zu: r=%d msg=\"%s\" (wanted \"%s\")\n", i, r, err.msg, cases[i].needle);
			return TEST_FAIL;
		}
		CHECK(strchr(err.msg, '\n') == NULL);
	}
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "a good config.json", test_good },
		{ "broken config.json files are one-line errors", test_rejections },
	};
	make_bundle();
	int r = unit_run(tests, ARRAY_SIZE(tests));
	struct husk_err err = { 0 };
	remove_tree(bundle, &err);
	return r;
}
