/* SPDX-License-Identifier: BSD-3-Clause */
#include "tsan.h"

#if DPSAN_TSAN
#include <rte_mempool.h>
#endif

namespace dpsan::fastpath {

#if DPSAN_TSAN
namespace {

// The drivers' own functions, by ops index (rte_mempool::ops_index).
rte_mempool_enqueue_t g_enqueue[RTE_MEMPOOL_MAX_OPS_IDX];
rte_mempool_dequeue_t g_dequeue[RTE_MEMPOOL_MAX_OPS_IDX];

int enqueue_annotated(rte_mempool* mp, void* const* objs, unsigned n) {
  for (unsigned i = 0; i < n; i++) tsan_release(objs[i]);
  return g_enqueue[mp->ops_index](mp, objs, n);
}

int dequeue_annotated(rte_mempool* mp, void** objs, unsigned n) {
  int rc = g_dequeue[mp->ops_index](mp, objs, n);
  if (rc == 0)
    for (unsigned i = 0; i < n; i++) tsan_acquire(objs[i]);
  return rc;
}

}  // namespace

void tsan_annotate_mempools() {
  // Called from control's EAL bring-up, once per process, before any pool exists.
  for (uint32_t i = 0; i < rte_mempool_ops_table.num_ops; i++) {
    rte_mempool_ops& ops = rte_mempool_ops_table.ops[i];
    if (ops.enqueue == enqueue_annotated) continue;
    g_enqueue[i] = ops.enqueue;
    g_dequeue[i] = ops.dequeue;
    ops.enqueue = enqueue_annotated;
    ops.dequeue = dequeue_annotated;
  }
}
#else
void tsan_annotate_mempools() {}
#endif

}  // namespace dpsan::fastpath
