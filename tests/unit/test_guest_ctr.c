/* The guest's container table rules (guest/ctr_table.c): each slot's paths,
 * which slot a request means (absent ctr: the session's, else 0; another
 * slot than the session's: EPERM), what a CREATE may take, joins, reuse of
 * a freed slot. */
#include <stdio.h>
#include <string.h>

#include "proto/msg_container.h"
#include "guest/guest.h"
#include "tests/unit/unit.h"

static struct gctr table[HUSK_POD_MAX];
static struct proc inits[HUSK_POD_MAX];
static struct husk_err err;

static void reset(void)
{
	memset(table, 0, sizeof table);
	memset(inits, 0, sizeof inits);
	husk_err_clear(&err);
}

/* slot i holds a container whose init runs */
static void occupy(uint32_t i)
{
	ctr_paths(&table[i], i, false);
	table[i].used = true;
	inits[i].pid = (pid_t)(100 + i);
	table[i].init = &inits[i];
}

#define CHECK_ERR(call, want)                                                                                          \
	do {                                                                                                           \
		husk_err_clear(&err);                                                                                  \
		CHECK_EQ_INT((call), -(want));                                                                         \
		CHECK_EQ_INT(err.code, (want));                                                                        \
		CHECK(err.msg[0] != '\0');                                                                             \
	} while (0)

static enum test_result test_paths(void)
{
	struct gctr g;
	ctr_paths(&g, 0, false);
	CHECK_STR(g.cgroup, "/sys/fs/cgroup/container");
	CHECK_STR(g.vfs, "/run/husk/vfs");
	CHECK_STR(g.rootfs, "/run/husk/vfs/rootfs");
	CHECK_EQ_INT(g.idx, 0);
	ctr_paths(&g, 15, false);
	CHECK_STR(g.cgroup, "/sys/fs/cgroup/container.15");
	CHECK_STR(g.vfs, "/run/husk/vfs/ctr/15");
	CHECK_STR(g.rootfs, "/run/husk/vfs/ctr/15/rootfs");
	CHECK_EQ_INT(g.idx, 15);
	/* a pooled VM's slot 0: its tree is ctr/0, its cgroup the first's */
	ctr_paths(&g, 0, true);
	CHECK_STR(g.cgroup, "/sys/fs/cgroup/container");
	CHECK_STR(g.vfs, "/run/husk/vfs/ctr/0");
	CHECK_STR(g.rootfs, "/run/husk/vfs/ctr/0/rootfs");
	ctr_paths(&g, 3, true);
	CHECK_STR(g.vfs, "/run/husk/vfs/ctr/3");
	return TEST_PASS;
}

static enum test_result test_resolve(void)
{
	uint32_t idx = 99;
	reset();
	occupy(0);
	occupy(3);
	/* absent: the session's container, else slot 0 */
	CHECK_EQ_INT(ctr_resolve(table, &table[3], false, 0, &idx, &err), 0);
	CHECK_EQ_INT(idx, 3);
	CHECK_EQ_INT(ctr_resolve(table, NULL, false, 0, &idx, &err), 0);
	CHECK_EQ_INT(idx, 0);
	CHECK_EQ_INT(ctr_resolve(table, &table[0], false, 0, &idx, &err), 0);
	CHECK_EQ_INT(idx, 0);
	/* explicit: the session's own, or any slot on an unbound session */
	CHECK_EQ_INT(ctr_resolve(table, &table[3], true, 3, &idx, &err), 0);
	CHECK_EQ_INT(idx, 3);
	CHECK_EQ_INT(ctr_resolve(table, NULL, true, 3, &idx, &err), 0);
	CHECK_EQ_INT(idx, 3);
	/* explicit and not the session's: EPERM, both ways */
	CHECK_ERR(ctr_resolve(table, &table[3], true, 0, &idx, &err), EPERM);
	CHECK_ERR(ctr_resolve(table, &table[0], true, 3, &idx, &err), EPERM);
	/* an empty or closing slot, out of range */
	CHECK_ERR(ctr_resolve(table, NULL, true, 4, &idx, &err), ESRCH);
	table[3].closing = true;
	CHECK_ERR(ctr_resolve(table, NULL, true, 3, &idx, &err), ESRCH);
	CHECK_ERR(ctr_resolve(table, NULL, true, HUSK_POD_MAX, &idx, &err), ERANGE);
	reset();
	CHECK_ERR(ctr_resolve(table, NULL, false, 0, &idx, &err), ESRCH);
	return TEST_PASS;
}

static enum test_result test_create_rules(void)
{
	struct husk_ns_join none = { 0 };
	reset();
	/* the first container: slot 0 */
	CHECK_ERR(ctr_check_create(table, NULL, 1, &none, &err), ENOENT);
	CHECK_EQ_INT(ctr_check_create(table, NULL, 0, &none, &err), 0);
	occupy(0);
	/* today's message for a second one */
	CHECK_ERR(ctr_check_create(table, NULL, 0, &none, &err), EEXIST);
	CHECK_STR(err.msg, "this VM already holds a container");
	CHECK_EQ_INT(ctr_check_create(table, NULL, 1, &none, &err), 0);
	occupy(1);
	CHECK_ERR(ctr_check_create(table, NULL, 1, &none, &err), EEXIST);
	/* a session already bound to a container creates no other */
	CHECK_ERR(ctr_check_create(table, &table[1], 2, &none, &err), EEXIST);
	CHECK_ERR(ctr_check_create(table, NULL, HUSK_POD_MAX, &none, &err), ERANGE);
	/* members need a running slot 0 */
	inits[0].exited = true;
	CHECK_ERR(ctr_check_create(table, NULL, 2, &none, &err), ENOENT);
	return TEST_PASS;
}

static enum test_result test_join_rules(void)
{
	reset();
	occupy(0);
	occupy(2);
	struct husk_ns_join j = { .mask = HUSK_NS_PID | HUSK_NS_IPC,
				  .slot = { [HUSK_JOIN_PID] = 0, [HUSK_JOIN_IPC] = 2 } };
	CHECK_EQ_INT(ctr_check_create(table, NULL, 5, &j, &err), 0);
	/* a joined slot must hold a running container */
	j.slot[HUSK_JOIN_IPC] = 4;
	CHECK_ERR(ctr_check_create(table, NULL, 5, &j, &err), ESRCH);
	j.slot[HUSK_JOIN_IPC] = 2;
	inits[2].exited = true;
	CHECK_ERR(ctr_check_create(table, NULL, 5, &j, &err), ESRCH);
	inits[2].exited = false;
	table[2].closing = true;
	CHECK_ERR(ctr_check_create(table, NULL, 5, &j, &err), ESRCH);
	table[2].closing = false;
	/* not itself, not out of range */
	j.slot[HUSK_JOIN_IPC] = 5;
	CHECK_ERR(ctr_check_create(table, NULL, 5, &j, &err), EINVAL);
	j.slot[HUSK_JOIN_IPC] = HUSK_POD_MAX;
	CHECK_ERR(ctr_check_create(table, NULL, 5, &j, &err), EINVAL);
	/* a kind outside the mask is not looked at */
	j = (struct husk_ns_join){ .mask = HUSK_NS_UTS, .slot = { [HUSK_JOIN_PID] = 9, [HUSK_JOIN_UTS] = 0 } };
	CHECK_EQ_INT(ctr_check_create(table, NULL, 5, &j, &err), 0);
	return TEST_PASS;
}

/* a freed slot (zeroed, as container.c frees it) is taken again */
static enum test_result test_slot_reuse(void)
{
	struct husk_ns_join none = { 0 };
	uint32_t idx;
	reset();
	occupy(0);
	occupy(7);
	CHECK_ERR(ctr_check_create(table, NULL, 7, &none, &err), EEXIST);
	/* closing: still taken until its init is reaped and the slot freed */
	table[7].closing = true;
	CHECK_ERR(ctr_check_create(table, NULL, 7, &none, &err), EEXIST);
	CHECK_ERR(ctr_resolve(table, NULL, true, 7, &idx, &err), ESRCH);
	memset(&table[7], 0, sizeof table[7]);
	CHECK_EQ_INT(ctr_check_create(table, NULL, 7, &none, &err), 0);
	occupy(7);
	CHECK_STR(table[7].cgroup, "/sys/fs/cgroup/container.7");
	CHECK(ctr_alive(&table[7]));
	CHECK(!ctr_alive(&table[8]));
	CHECK(!ctr_alive(NULL));
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "slot 0 keeps today's paths; slot n: vfs/ctr/<n>, sibling cgroup container.<n>", test_paths },
		{ "ctr resolution: absent -> the session's else 0; another slot than the session's: EPERM",
		  test_resolve },
		{ "CREATE: slot 0 first (today's message for a second), members need a running slot 0",
		  test_create_rules },
		{ "joins: live slots only, not itself, in range", test_join_rules },
		{ "a slot is reused only once freed", test_slot_reuse },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
