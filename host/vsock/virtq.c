/* Split virtqueue over guest memory: address translation, pop with chain
 * validation, push, notify. See virtq.h. */
#include "host/vsock/virtq.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Offsets in the split ring layout (virtio 1.x, 2.7). */
#define DESC_SIZE 16u
#define AVAIL_RING_OFF 4u /* flags u16, idx u16, ring[num] u16 */
#define USED_RING_OFF 4u  /* flags u16, idx u16, ring[num] {u32 id, u32 len} */
#define USED_ELEM_SIZE 8u

/* Shared memory is read and written through volatile accesses so every
 * field the guest can change is fetched exactly once into a local. */
static inline uint16_t ld16(const uint8_t *p)
{
	return le16toh(*(const volatile uint16_t *)(const void *)p);
}

static inline uint32_t ld32(const uint8_t *p)
{
	return le32toh(*(const volatile uint32_t *)(const void *)p);
}

static inline uint64_t ld64(const uint8_t *p)
{
	return le64toh(*(const volatile uint64_t *)(const void *)p);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	*(volatile uint32_t *)(void *)p = htole32(v);
}

static void *mem_xlate(const struct vq_mem *m, uint64_t addr, uint64_t len, bool uva)
{
	unsigned n = m->n < VQ_MEM_MAX_REGIONS ? m->n : VQ_MEM_MAX_REGIONS;

	for (unsigned i = 0; i < n; i++) {
		const struct vq_region *r = &m->r[i];
		uint64_t base = uva ? r->uva : r->gpa;

		if (addr < base)
			continue;
		uint64_t off = addr - base;
		/* off < size and len <= size - off: no sum that can overflow */
		if (off >= r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	return mem_xlate(m, gpa, len, false);
}

void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len)
{
	return mem_xlate(m, uva, len, true);
}

void vq_mem_clear(struct vq_mem *m)
{
	for (unsigned i = 0; i < m->n && i < VQ_MEM_MAX_REGIONS; i++) {
		if (m->r[i].map_base)
			munmap(m->r[i].map_base, m->r[i].map_len);
	}
	memset(m, 0, sizeof *m);
}

void vq_init(struct virtq *q)
{
	memset(q, 0, sizeof *q);
	q->kick_fd = -1;
	q->call_fd = -1;
}

static bool aligned(const void *p, uintptr_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

int vq_map(struct virtq *q, const struct vq_mem *m, bool read_used)
{
	q->desc = q->avail = q->used = NULL;
	if (!q->addr_set || q->num == 0)
		return 0;
	if (q->num > VQ_MAX_SIZE || (q->num & (q->num - 1)) != 0)
		return -EINVAL;
	/* ring alignment (virtio 1.x 2.7.2): desc 16, avail 2, used 4 */
	if ((q->desc_uva & 15) || (q->avail_uva & 1) || (q->used_uva & 3))
		return -EINVAL;

	uint64_t num = q->num;
	uint8_t *desc = vq_mem_uva(m, q->desc_uva, DESC_SIZE * num);
	uint8_t *avail = vq_mem_uva(m, q->avail_uva, AVAIL_RING_OFF + 2 * num);
	uint8_t *used = vq_mem_uva(m, q->used_uva, USED_RING_OFF + USED_ELEM_SIZE * num);
	if (!desc || !avail || !used)
		return -EFAULT;
	if (!aligned(desc, 16) || !aligned(avail, 2) || !aligned(used, 4))
		return -EINVAL;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	if (read_used)
		q->used_idx = ld16(used + 2);
	return 0;
}

bool vq_ready(const struct virtq *q)
{
	return q->desc && q->started && q->enabled && !q->broken;
}

static int walk_chain(struct virtq *q, const struct vq_mem *m, struct vq_chain *c)
{
	uint16_t seen[VQ_MAX_CHAIN];
	unsigned count = 0;
	bool seen_write = false;
	uint16_t i = c->head;

	for (;;) {
		for (unsigned k = 0; k < count; k++) {
			if (seen[k] == i)
				return -ELOOP;
		}
		if (count == VQ_MAX_CHAIN)
			return -E2BIG;
		seen[count++] = i;

		const uint8_t *d = q->desc + (size_t)DESC_SIZE * i;
		uint64_t addr = ld64(d);
		uint32_t len = ld32(d + 8);
		uint16_t flags = ld16(d + 12);
		uint16_t next = ld16(d + 14);

		if (flags & VQ_DESC_F_INDIRECT)
			return -ENOTSUP; /* VIRTIO_F_INDIRECT_DESC not offered */
		if (flags & VQ_DESC_F_WRITE) {
			seen_write = true;
		} else if (seen_write) {
			return -EINVAL;
		}
		if (len > 0) {
			void *p = vq_mem_gpa(m, addr, len);
			if (!p)
				return -EFAULT;
			struct iovec iov = { .iov_base = p, .iov_len = len };
			if (flags & VQ_DESC_F_WRITE) {
				c->in[c->nin++] = iov;
				c->in_len += len;
			} else {
				c->out[c->nout++] = iov;
				c->out_len += len;
			}
		}
		if (!(flags & VQ_DESC_F_NEXT))
			return 1;
		if (next >= q->num)
			return -ERANGE;
		i = next;
	}
}

int vq_pop(struct virtq *q, const struct vq_mem *m, struct vq_chain *c)
{
	if (!q->desc || q->broken)
		return 0;

	uint16_t avail_idx = le16toh(__atomic_load_n((uint16_t *)(void *)(q->avail + 2), __ATOMIC_ACQUIRE));
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	if (pending > q->num) {
		q->broken = true;
		return -EPROTO;
	}
	uint16_t head = ld16(q->avail + AVAIL_RING_OFF + 2 * (size_t)(q->last_avail & (q->num - 1)));
	if (head >= q->num) {
		q->broken = true;
		return -EPROTO;
	}
	q->last_avail++;

	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	int r = walk_chain(q, m, c);
	if (r < 0) {
		c->nout = c->nin = 0;
		c->out_len = c->in_len = 0;
	}
	return r;
}

void vq_unpop(struct virtq *q)
{
	q->last_avail--;
}

void vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	if (!q->used)
		return;
	uint8_t *e = q->used + USED_RING_OFF + USED_ELEM_SIZE * (size_t)(q->used_idx & (q->num - 1));
	st32(e, head);
	st32(e + 4, len);
	q->used_idx++;
	/* the element must be visible before the new index */
	__atomic_store_n((uint16_t *)(void *)(q->used + 2), htole16(q->used_idx), __ATOMIC_RELEASE);
	q->need_notify = true;
}

int vq_notify(struct virtq *q)
{
	if (!q->need_notify || !q->avail)
		return 0;
	q->need_notify = false;
	/* used->idx must be globally visible before we read the guest's flags,
	 * or we may miss an interrupt it is about to ask for (a store-load
	 * ordering: needs a full barrier, even on x86) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ld16(q->avail) & VQ_AVAIL_F_NO_INTERRUPT)
		return 0;
	if (q->call_fd < 0)
		return 0;
	uint64_t one = 1;
	for (;;) {
		ssize_t n = write(q->call_fd, &one, sizeof one);
		if (n == (ssize_t)sizeof one)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		/* EAGAIN: the counter is saturated, the guest will see it anyway */
		if (n < 0 && errno == EAGAIN)
			return 0;
		return n < 0 ? -errno : -EIO;
	}
}
