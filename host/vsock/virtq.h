/* Split virtqueues over guest memory shared by QEMU (vhost-user).
 *
 * Guest memory is a small table of regions, each known by its guest-physical
 * address (what descriptors hold), QEMU's virtual address (what
 * SET_VRING_ADDR holds) and our own mapping. Every address the guest or QEMU
 * hands us is translated per region with overflow-safe bounds checks; a
 * buffer must lie inside one region. Unit tests build the table over plain
 * malloc'd memory (map_base NULL).
 *
 * The guest is hostile: every index and length read from the rings is
 * checked before use, and each shared field is read exactly once. */
#ifndef HUSK_HOST_VIRTQ_H
#define HUSK_HOST_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MEM_MAX_REGIONS 8
#define VQ_MAX_SIZE 32768u /* largest ring (power of two) */
#define VQ_MAX_CHAIN 64u   /* longest descriptor chain accepted */

#define VQ_DESC_F_NEXT 1u
#define VQ_DESC_F_WRITE 2u
#define VQ_DESC_F_INDIRECT 4u
#define VQ_AVAIL_F_NO_INTERRUPT 1u

struct vq_region {
	uint64_t gpa;   /* guest-physical start */
	uint64_t uva;   /* QEMU's virtual address of the start */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* our address of the start */
	void *map_base; /* owned mmap (munmap'd by vq_mem_clear), or NULL */
	size_t map_len;
};

struct vq_mem {
	unsigned n;
	struct vq_region r[VQ_MEM_MAX_REGIONS];
};

/* Host pointer for [addr, addr+len) inside one region, or NULL. */
void *vq_mem_gpa(const struct vq_mem *m, uint64_t gpa, uint64_t len);
void *vq_mem_uva(const struct vq_mem *m, uint64_t uva, uint64_t len);
/* Unmaps owned regions and empties the table. */
void vq_mem_clear(struct vq_mem *m);

struct virtq {
	unsigned num;        /* ring size, 0 = not set */
	uint16_t last_avail; /* next avail entry we will take */
	uint16_t used_idx;   /* our shadow of used->idx */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	uint8_t *desc, *avail, *used; /* translated rings, NULL when unmapped */
	int kick_fd, call_fd;
	bool started;     /* kick fd received, not stopped */
	bool enabled;     /* SET_VRING_ENABLE(1) */
	bool broken;      /* ring-level protocol violation: stop using it */
	bool need_notify; /* used entries pushed since the last vq_notify */
};

/* A popped descriptor chain: device-readable (out) then device-writable (in)
 * buffers, as host iovecs into guest memory. */
struct vq_chain {
	uint16_t head;
	unsigned nout, nin;
	size_t out_len, in_len;
	struct iovec out[VQ_MAX_CHAIN];
	struct iovec in[VQ_MAX_CHAIN];
};

void vq_init(struct virtq *q);

/* Translates the ring addresses for the current num; with read_used, also
 * takes used->idx from guest memory as the shadow (at SET_VRING_ADDR).
 * Returns 0, or -EFAULT / -EINVAL (ring left unmapped). */
int vq_map(struct virtq *q, const struct vq_mem *m, bool read_used);

/* The ring may be processed: mapped, started, enabled, not broken. */
bool vq_ready(const struct virtq *q);

/* Takes the next available chain.
 *   1         c filled
 *   0         ring empty
 *   -EPROTO   ring-level violation (avail idx jumped by more than num, head
 *             index out of range): q->broken is set, stop using the ring
 *   other <0  malformed chain, consumed: c->head is valid and the caller
 *             returns it with vq_push(q, c->head, 0). -EFAULT address outside
 *             guest memory or overflowing, -ELOOP chain loop, -E2BIG chain
 *             longer than VQ_MAX_CHAIN, -ENOTSUP indirect descriptor, -ERANGE
 *             next index out of range, -EINVAL readable after writable. */
int vq_pop(struct virtq *q, const struct vq_mem *m, struct vq_chain *c);

/* Gives back the chain just popped (nothing to put into it after all). */
void vq_unpop(struct virtq *q);

/* Publishes a used element (release barrier before used->idx). */
void vq_push(struct virtq *q, uint16_t head, uint32_t len);

/* Signals the call eventfd if entries were pushed and the guest did not
 * suppress interrupts (full barrier before reading avail->flags).
 * Returns 0 or -errno from write(). */
int vq_notify(struct virtq *q);

#endif
