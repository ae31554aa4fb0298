/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan's own introspection ioctl, beside the pinned Windows headers.
 *
 * WSPIoctl(s, SIO_DPSAN_GET_STATS, NULL, 0, &stats, sizeof stats, &returned, NULL, NULL, NULL,
 * &err) fills a DPSAN_STATS snapshot of the running instance. `s` is not dereferenced (as with
 * SIO_GET_EXTENSION_FUNCTION_POINTER), so any value may be passed. It answers WSAEFAULT for a
 * short buffer (with the size needed in *returned) and WSANOTINITIALISED with no instance.
 * Tests use it to check that resources are released (R13) and return to baseline.
 */
#ifndef DPSAN_DPSAN_STATS_H
#define DPSAN_DPSAN_STATS_H

#include <dpsan/ws2spi.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIO_DPSAN_GET_STATS 0x88000D50u

typedef struct DPSAN_STATS {
  uint64_t ops_in_flight;      /* request descriptors taken and not yet returned to the pool */
  uint64_t sockets_open;       /* provider sockets not yet closed */
  uint64_t connections;        /* fast-path connections alive on all poll cores */
  uint64_t registrations;      /* live local memory registrations */
  uint64_t mbufs_in_use;       /* packet buffers out of the mempool */
  uint64_t pending_upcalls;    /* notifier records queued and not yet delivered */
  uint64_t packets_tx;
  uint64_t packets_rx;
  uint64_t bytes_tx;
  uint64_t bytes_rx;
  uint64_t drops_bad_packet;   /* failed header, length or checksum checks */
  uint64_t drops_no_conn;      /* addressed to no live connection */
  uint64_t credit_stalls;      /* times a send waited for a peer credit */
  uint64_t poll_cores;
  uint64_t retransmits;        /* reliable frames sent again */
  uint64_t drops_duplicate;    /* reliable frames received twice (or beyond the window) */
  uint64_t rdma_registrations; /* live RDMA registrations (regions a peer may reach) */
  uint64_t rdma_denied;        /* remote RDMA accesses refused (each aborted its connection) */
  uint64_t cache_entries;      /* registration cache: ranges cached, in use or not */
  uint64_t cache_hits;         /* registrations served from the cache */
  uint64_t cache_misses;       /* registrations that had to pin a new range */
} DPSAN_STATS;

#ifdef __cplusplus
}
#endif

#endif /* DPSAN_DPSAN_STATS_H */
