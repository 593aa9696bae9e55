/* The guest's cgroup file parsing and the STATS reply it builds, run on the
 * host (guest/cgroup_parse.c through build/libguest-host.a). */
#include <stdio.h>
#include <stdlib.h>

#include "proto/msg_resources.h"
#include "guest/guest.h"
#include "tests/unit/unit.h"

static enum test_result test_keyed_and_single(void)
{
	const char *cpu = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n";
	CHECK_EQ_INT(cgroup_keyed(cpu, "usage_usec"), 1500);
	CHECK_EQ_INT(cgroup_keyed(cpu, "system_usec"), 500);
	CHECK_EQ_INT(cgroup_keyed(cpu, "usage"), 0); /* a prefix is not a key */
	CHECK_EQ_INT(cgroup_keyed(cpu, "missing"), 0);
	CHECK_EQ_INT(cgroup_keyed("", "x"), 0);
	CHECK_EQ_INT(cgroup_keyed("low 0\nhigh 0\nmax 2\noom 1\noom_kill 3\n", "oom_kill"), 3);
	bool is_max = true;
	CHECK_EQ_INT(cgroup_single("1048576\n", &is_max), 1048576);
	CHECK(!is_max);
	CHECK_EQ_INT(cgroup_single("max\n", &is_max), 0);
	CHECK(is_max);
	CHECK_EQ_INT(cgroup_single(NULL, &is_max), 0);
	CHECK(!is_max);
	CHECK_EQ_INT(cgroup_single("", NULL), 0);
	CHECK(cgroup_events_frozen("populated 1\nfrozen 1\n", true));
	CHECK(!cgroup_events_frozen("populated 1\nfrozen 1\n", false));
	CHECK(cgroup_events_frozen("populated 1\nfrozen 0\n", false));
	CHECK(!cgroup_events_frozen("populated 1\n", false));
	return TEST_PASS;
}

static enum test_result test_resource_text(void)
{
	char out[64];
	struct husk_resources r = { .has_cpu_quota = true, .cpu_quota = 50000 };
	cgroup_cpu_max_text(NULL, &r, out, sizeof out);
	CHECK_STR(out, "50000 100000");
	r = (struct husk_resources){ .has_cpu_period = true, .cpu_period = 20000 };
	cgroup_cpu_max_text("30000 100000\n", &r, out, sizeof out); /* the quota stays */
	CHECK_STR(out, "30000 20000");
	cgroup_cpu_max_text("max 100000\n", &r, out, sizeof out);
	CHECK_STR(out, "max 20000");
	r = (struct husk_resources){ .has_cpu_quota = true, .cpu_quota = -1 };
	cgroup_cpu_max_text("30000 50000\n", &r, out, sizeof out);
	CHECK_STR(out, "max 50000");
	/* runc's scale: 2 -> 1, 1024 -> 39, 262144 -> 10000 */
	CHECK_EQ_INT(cgroup_cpu_weight(2), 1);
	CHECK_EQ_INT(cgroup_cpu_weight(1024), 39);
	CHECK_EQ_INT(cgroup_cpu_weight(262144), 10000);

	struct husk_err err = { 0 };
	int64_t swap = 0;
	r = (struct husk_resources){
		.has_memory_limit = true, .memory_limit = 100, .has_memory_swap = true, .memory_swap = 300
	};
	CHECK_EQ_INT(cgroup_swap_max(&r, &swap, &err), 0);
	CHECK_EQ_INT(swap, 200);
	r.memory_swap = -1;
	CHECK_EQ_INT(cgroup_swap_max(&r, &swap, &err), 0);
	CHECK_EQ_INT(swap, -1);
	r.memory_swap = 50; /* below the memory limit */
	CHECK_EQ_INT(cgroup_swap_max(&r, &swap, &err), -EINVAL);
	husk_err_clear(&err);
	r = (struct husk_resources){ .has_memory_swap = true, .memory_swap = 300 }; /* no memory limit */
	CHECK_EQ_INT(cgroup_swap_max(&r, &swap, &err), -EINVAL);
	CHECK(err.msg[0]);
	return TEST_PASS;
}

static enum test_result test_stats_parse_encode(void)
{
	char cpu[] = "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\n";
	char cur[] = "8192\n", max[] = "max\n", swap[] = "0\n", pids[] = "3\n", pids_max[] = "100\n";
	char io[] = "254:0 rbytes=1000 wbytes=2000 rios=3 wios=4 dbytes=0 dios=0\n"
		    "254:16 rbytes=10 wbytes=20 rios=1 wios=2\n";
	char events[] = "low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\n";
	char mem[] = "anon 4096\nfile 8192\nbroken\nkernel_stack 16384\n";
	static struct cgroup_stat_files f;
	f = (struct cgroup_stat_files){ .cpu_stat = cpu,
					.memory_current = cur,
					.memory_max = max,
					.swap_current = swap,
					.pids_current = pids,
					.pids_max = pids_max,
					.io_stat = io,
					.memory_events = events,
					.memory_stat = mem };
	struct husk_stats_msg m, d;
	cgroup_stats_parse(&f, &m);
	CHECK_EQ_INT(m.cpu_usage_ns, 2000000);
	CHECK_EQ_INT(m.cpu_user_ns, 1500000);
	CHECK_EQ_INT(m.cpu_system_ns, 500000);
	CHECK_EQ_INT(m.memory_usage, 8192);
	CHECK_EQ_INT(m.memory_limit, -1);
	CHECK_EQ_INT(m.pids_current, 3);
	CHECK_EQ_INT(m.pids_limit, 100);
	CHECK_EQ_INT(m.io_read_bytes, 1010);
	CHECK_EQ_INT(m.io_write_bytes, 2020);
	CHECK_EQ_INT(m.io_reads, 4);
	CHECK_EQ_INT(m.io_writes, 6);
	CHECK_EQ_INT(m.oom_kills, 2);
	CHECK_EQ_INT(m.n_memory_stat, 4);
	CHECK_STR(m.memory_stat[0].key, "anon");
	CHECK_EQ_INT(m.memory_stat[0].value, 4096);
	CHECK_STR(m.memory_stat[2].key, "?"); /* a line without a value */
	CHECK_EQ_INT(m.memory_stat[2].value, 0);
	CHECK_STR(m.memory_stat[3].key, "kernel_stack");

	/* what the guest sends is what the host reads back */
	static uint8_t buf[16384], arena_buf[64 * 1024];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_stats(&e, &m);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	CHECK_EQ_INT(husk_msg_decode_stats(root, &a, &d, &err), 0);
	CHECK_EQ_INT(d.io_write_bytes, 2020);
	CHECK_EQ_INT(d.memory_limit, -1);
	CHECK_EQ_INT(d.n_memory_stat, 4);
	CHECK_STR(d.memory_stat[3].key, "kernel_stack");
	CHECK_EQ_INT(d.memory_stat[3].value, 16384);

	/* unreadable files read as zero; memory.stat is capped */
	static char many[HUSK_STATS_MEMORY_MAX * 2 * 16];
	size_t at = 0;
	for (unsigned i = 0; i < HUSK_STATS_MEMORY_MAX * 2; i++)
		at += (size_t)snprintf(many + at, sizeof many - at, "k%u %u\n", i, i);
	f = (struct cgroup_stat_files){ .memory_stat = many };
	cgroup_stats_parse(&f, &m);
	CHECK_EQ_INT(m.cpu_usage_ns, 0);
	CHECK_EQ_INT(m.memory_limit, 0);
	CHECK_EQ_INT(m.oom_kills, 0);
	CHECK_EQ_INT(m.n_memory_stat, HUSK_STATS_MEMORY_MAX);
	CHECK_STR(m.memory_stat[HUSK_STATS_MEMORY_MAX - 1].key, "k63");
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "cgroup files: keyed, single values, cgroup.events", test_keyed_and_single },
		{ "cpu.max, cpu.weight and memory.swap.max from the resources", test_resource_text },
		{ "STATS: parsed from the cgroup files, encoded, read back", test_stats_parse_encode },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
