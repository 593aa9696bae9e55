/* Unit tests of the split virtqueue of the vhost-user-vsock back-end, over
 * malloc'd "guest memory": address translation, ring mapping, chain
 * walking and its error cases, used ring and notification. */
#include "tests/unit/vsock_test_util.h"
#include "tests/unit/unit.h"

static enum test_result test_vq_mem_translate(void)
{
	vq_setup(16);
	CHECK(vq_mem_gpa(&mem, GPA_BASE, 1) == gmem);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 1, 1) == gmem + GMEM_SIZE - 1);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 16, 16) != NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE - 16, 17) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + GMEM_SIZE, 1) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE - 1, 2) == NULL);
	CHECK(vq_mem_gpa(&mem, UINT64_MAX - 4, 16) == NULL);
	CHECK(vq_mem_gpa(&mem, GPA_BASE + 8, UINT64_MAX) == NULL);
	CHECK(vq_mem_uva(&mem, UVA_BASE + 100, 10) == gmem + 100);
	CHECK(vq_mem_uva(&mem, GPA_BASE, 10) == NULL); /* the two spaces differ */
	return TEST_PASS;
}

static enum test_result test_vq_map_bounds(void)
{
	vq_setup(16);
	CHECK(vq.desc != NULL);
	vq.desc_uva = UVA_BASE + GMEM_SIZE - 8;          /* table would run past the region */
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL); /* misaligned first */
	vq.desc_uva = UVA_BASE + GMEM_SIZE - 16;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EFAULT);
	CHECK(vq.desc == NULL && !vq_ready(&vq));
	vq.desc_uva = UVA_BASE;
	vq.used_uva = UVA_BASE + USED_OFF + 2;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL);
	vq.used_uva = UVA_BASE + USED_OFF;
	vq.num = 12; /* not a power of two */
	CHECK_EQ_INT(vq_map(&vq, &mem, false), -EINVAL);
	vq.num = 16;
	CHECK_EQ_INT(vq_map(&vq, &mem, false), 0);
	CHECK(vq_ready(&vq));
	return TEST_PASS;
}

static enum test_result test_vq_pop_split_chain(void)
{
	struct vq_chain c;
	vq_setup(16);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	set_desc(3, GPA_BASE + BUF_OFF, 44, VQ_DESC_F_NEXT, 7);
	set_desc(7, GPA_BASE + BUF_OFF + 100, 1000, VQ_DESC_F_NEXT, 1);
	set_desc(1, GPA_BASE + BUF_OFF + 2000, 500, VQ_DESC_F_WRITE, 0);
	avail_add(3);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(c.head, 3);
	CHECK_EQ_INT(c.nout, 2);
	CHECK_EQ_INT(c.nin, 1);
	CHECK_EQ_INT(c.out_len, 1044);
	CHECK_EQ_INT(c.in_len, 500);
	CHECK(c.out[1].iov_base == gmem + BUF_OFF + 100);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	vq_push(&vq, c.head, 77);
	uint32_t id, len;
	used_elem(0, &id, &len);
	CHECK_EQ_INT(used_idx(), 1);
	CHECK_EQ_INT(id, 3);
	CHECK_EQ_INT(len, 77);
	return TEST_PASS;
}

/* a malformed chain is consumed and reported; the ring goes on */
static enum test_result expect_chain_error(int want)
{
	struct vq_chain c;
	int r = vq_pop(&vq, &mem, &c);
	CHECK_EQ_INT(r, want);
	CHECK(!vq.broken);
	CHECK_EQ_INT(c.head, 0);
	vq_push(&vq, c.head, 0);
	set_desc(5, GPA_BASE + BUF_OFF, 64, 0, 0);
	avail_add(5);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(c.head, 5);
	return TEST_PASS;
}

static enum test_result test_vq_addr_outside_memory(void)
{
	vq_setup(16);
	set_desc(0, 0x1000, 64, 0, 0);
	avail_add(0);
	return expect_chain_error(-EFAULT);
}

static enum test_result test_vq_addr_len_overflow(void)
{
	vq_setup(16);
	set_desc(0, UINT64_MAX - 15, 64, 0, 0);
	avail_add(0);
	if (expect_chain_error(-EFAULT) != TEST_PASS)
		return TEST_FAIL;
	vq_setup(16);
	set_desc(0, GPA_BASE + GMEM_SIZE - 32, 64, 0, 0); /* runs past the region end */
	avail_add(0);
	return expect_chain_error(-EFAULT);
}

static enum test_result test_vq_chain_loop(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 1);
	set_desc(1, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 2);
	set_desc(2, GPA_BASE + BUF_OFF, 16, VQ_DESC_F_NEXT, 0);
	avail_add(0);
	return expect_chain_error(-ELOOP);
}

static enum test_result test_vq_chain_too_long(void)
{
	struct vq_chain c;
	vq_setup(256);
	for (unsigned i = 0; i < VQ_MAX_CHAIN; i++)
		set_desc(i, GPA_BASE + BUF_OFF + i, 1, i + 1 < VQ_MAX_CHAIN ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1); /* exactly the limit is fine */
	CHECK_EQ_INT(c.nout, VQ_MAX_CHAIN);
	for (unsigned i = 0; i <= VQ_MAX_CHAIN; i++)
		set_desc(i, GPA_BASE + BUF_OFF + i, 1, i < VQ_MAX_CHAIN ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -E2BIG);
	CHECK(!vq.broken);
	return TEST_PASS;
}

static enum test_result test_vq_indirect_rejected(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	return expect_chain_error(-ENOTSUP);
}

static enum test_result test_vq_next_out_of_range(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_NEXT, 16);
	avail_add(0);
	return expect_chain_error(-ERANGE);
}

static enum test_result test_vq_readable_after_writable(void)
{
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, 1);
	set_desc(1, GPA_BASE + BUF_OFF + 64, 32, 0, 0);
	avail_add(0);
	return expect_chain_error(-EINVAL);
}

static enum test_result test_vq_avail_idx_jump(void)
{
	struct vq_chain c;
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	set_avail_idx(17); /* 17 new entries in a ring of 16 */
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -EPROTO);
	CHECK(vq.broken);
	CHECK(!vq_ready(&vq));
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 0);
	/* exactly num pending is legal */
	vq_setup(16);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	set_avail_idx(16);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	/* and wrap-around of the 16-bit index is too */
	vq_setup(16);
	vq.last_avail = 0xfffe;
	set_avail_idx(0x0002);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	CHECK_EQ_INT(vq.last_avail, 0xffff);
	return TEST_PASS;
}

static enum test_result test_vq_head_out_of_range(void)
{
	struct vq_chain c;
	vq_setup(16);
	avail_add(40);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), -EPROTO);
	CHECK(vq.broken);
	return TEST_PASS;
}

static enum test_result test_vq_notify(void)
{
	struct vq_chain c;
	uint64_t v = 0;
	vq_setup(16);
	vq.call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(vq.call_fd >= 0);
	CHECK_EQ_INT(vq_notify(&vq), 0); /* nothing pushed: no signal */
	CHECK(read(vq.call_fd, &v, sizeof v) < 0 && errno == EAGAIN);
	set_desc(0, GPA_BASE + BUF_OFF, 32, 0, 0);
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	vq_push(&vq, c.head, 0);
	CHECK_EQ_INT(vq_notify(&vq), 0);
	CHECK(read(vq.call_fd, &v, sizeof v) == sizeof v && v == 1);
	/* the guest suppressed interrupts */
	uint16_t fl = VQ_AVAIL_F_NO_INTERRUPT;
	memcpy(gmem + AVAIL_OFF, &fl, 2);
	avail_add(0);
	CHECK_EQ_INT(vq_pop(&vq, &mem, &c), 1);
	vq_push(&vq, c.head, 0);
	CHECK_EQ_INT(vq_notify(&vq), 0);
	CHECK(read(vq.call_fd, &v, sizeof v) < 0 && errno == EAGAIN);
	CHECK_EQ_INT(used_idx(), 2);
	close(vq.call_fd);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "virtq: address translation bounds", test_vq_mem_translate },
		{ "virtq: ring addresses bounds and alignment", test_vq_map_bounds },
		{ "virtq: pop a split chain, push used", test_vq_pop_split_chain },
		{ "virtq: descriptor outside guest memory", test_vq_addr_outside_memory },
		{ "virtq: descriptor addr+len overflow", test_vq_addr_len_overflow },
		{ "virtq: descriptor chain loop", test_vq_chain_loop },
		{ "virtq: descriptor chain too long", test_vq_chain_too_long },
		{ "virtq: indirect descriptor rejected", test_vq_indirect_rejected },
		{ "virtq: next index out of range", test_vq_next_out_of_range },
		{ "virtq: readable after writable", test_vq_readable_after_writable },
		{ "virtq: avail idx jump breaks the ring", test_vq_avail_idx_jump },
		{ "virtq: head index out of range", test_vq_head_out_of_range },
		{ "virtq: notify via call eventfd", test_vq_notify },
	};
	signal(SIGPIPE, SIG_IGN);
	vc_log_set_sink(quiet_sink);
	int r = unit_run(tests, ARRAY_SIZE(tests));
	return vt_cleanup(r);
}
