/* Fuzzes config.json parsing on the host (host/spec*.c): the whole bundle
 * spec as `create` reads it, a process object as `exec --process` reads it
 * and a resources object as `update --resources` reads it. A spec that parses
 * must also encode into a CREATE message the guest can decode. None may
 * crash, leak or read out of bounds, whatever the bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/spec/spec.h"
#include "proto/cbor.h"
#include "proto/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* root.path in the inputs is relative to this bundle, which has a rootfs/ */
static char bundle[64];

static void make_bundle(void)
{
	if (bundle[0])
		return;
	snprintf(bundle, sizeof bundle, "/tmp/husk-fuzz-spec.XXXXXX");
	if (!mkdtemp(bundle))
		abort();
	char rootfs[96];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	if (mkdir(rootfs, 0755) < 0)
		abort();
}

static void create_round_trip(struct husk_spec *spec)
{
	static uint8_t out[1u << 20];
	static uint8_t arena_buf[4u << 20];
	struct husk_create_msg m = {
		.id = "fuzz",
		.rootfs_tag = "vfs",
		.readonly = spec->readonly,
		.hostname = (char *)spec->hostname,
		.process = spec->process,
		.container = spec->container,
		.resources = spec->resources,
	};
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	husk_cbor_enc_init(&e, out, sizeof out);
	husk_msg_encode_create(&e, &m);
	if (husk_cbor_enc_finish(&e, &err) < 0)
		return; /* too large for one message: create refuses it too */
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	struct husk_create_msg back;
	if (husk_msg_parse(e.buf, e.len, &a, &root, &err) < 0 || husk_msg_decode_create(root, &a, &back, &err) < 0) {
		fprintf(stderr, "a parsed spec encoded to a CREATE the guest refuses: %s\n", err.msg);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct husk_err err = { 0 };
	make_bundle();

	struct husk_spec spec;
	if (husk_spec_parse(&spec, bundle, (const char *)data, size, &err) == 0)
		create_round_trip(&spec);
	else if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "spec: %s\n", err.msg);
	husk_spec_free(&spec);

	json_error_t jerr;
	json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return 0;
	struct husk_process_spec proc;
	memset(&proc, 0, sizeof proc);
	husk_err_clear(&err);
	if (husk_spec_parse_process(obj, &proc, &err) == 0) {
		husk_err_clear(&err);
		husk_spec_parse_security(obj, NULL, &proc, &err);
	}
	husk_spec_free_security(&proc);
	free(proc.args);
	free(proc.env);
	free(proc.gids);

	struct husk_resources *res = NULL;
	husk_err_clear(&err);
	husk_resources_from_json(obj, &res, &err);
	husk_resources_free(res);
	json_decref(obj);
	return 0;
}
