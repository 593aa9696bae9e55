/* Queue glue: tx chains into vc_tx_packet(), rx chains filled by
 * vc_rx_fill(). See vsock_queue.c. */
#ifndef HUSK_HOST_VSOCK_QUEUE_H
#define HUSK_HOST_VSOCK_QUEUE_H

#include "host/vsock/virtq.h"
#include "host/vsock/vsock_mux.h"

/* Move up to budget chains between a virtqueue and the state machine.
 * Return 1 when the budget ran out (call again), 0 when done, -EPROTO when
 * the guest broke the ring (q->broken). The caller signals with
 * vq_notify(). */
int vc_process_tx(struct vc_dev *d, struct virtq *q, const struct vq_mem *m, unsigned budget);
int vc_process_rx(struct vc_dev *d, struct virtq *q, const struct vq_mem *m, unsigned budget);

#endif
