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
  /* Added with multi-port support (append only: older callers pass a shorter buffer and get
     WSAEFAULT with the size needed). */
  uint64_t drops_by_reason[16];/* drops_bad_packet split by check, see DPSAN_DROP_* */
  uint64_t drops_not_ours;     /* other protocols, or addresses no port serves */
  uint64_t arp_rx;             /* ARP packets received */
  uint64_t arp_tx;             /* ARP requests and replies sent */
  uint64_t neighbours;         /* entries in the neighbour table (learned and static) */
  uint64_t handoffs;           /* frames received by one poll core for another's connection */
  uint64_t ports;              /* ports in use */
  uint64_t faults_injected;    /* frames lost, duplicated, reordered or corrupted by [fault] */
  /* Added with RDMA (append only, as above). */
  uint64_t rdma_registrations; /* live RDMA registrations (regions a peer may reach) */
  uint64_t rdma_denied;        /* remote RDMA accesses refused (each aborted its connection) */
  uint64_t cache_entries;      /* registration cache: ranges cached, in use or not */
  uint64_t cache_hits;         /* registrations served from the cache */
  uint64_t cache_misses;       /* registrations that had to pin a new range */
  /* Added with zero-copy sends (append only, as above). */
  uint64_t zerocopy_frames;    /* frames sent with their payload attached to switch memory */
  uint64_t zerocopy_waiting;   /* operations ended, waiting for frames to release their buffer */
  /* Added with DMA-mapped registrations (append only, as above). */
  uint64_t dma_chunks;         /* page ranges registered with DPDK (rte_extmem_register) and
                                  mapped for the ports' devices, held now */
  uint64_t dma_map_failures;   /* registrations left unmapped for some device (their frames are
                                  copied to it): no memseg list left, mapping refused... */
  /* Added with per-check RDMA refusal counts (append only, as above). */
  uint64_t rdma_denied_by_reason[8]; /* rdma_denied split by check, see DPSAN_RDMA_DENY_* */
} DPSAN_STATS;

/* Index into DPSAN_STATS.drops_by_reason: which check a dropped frame failed. */
enum {
  DPSAN_DROP_TOO_SHORT = 1,     /* shorter than the headers it claims */
  DPSAN_DROP_NOT_IPV4 = 2,      /* ether type, IP version or header length not ours */
  DPSAN_DROP_IP_LENGTH = 3,     /* IP total length inconsistent with the frame */
  DPSAN_DROP_FRAGMENT = 4,
  DPSAN_DROP_NOT_UDP = 5,
  DPSAN_DROP_WRONG_PORT = 6,    /* not dpsan's UDP port */
  DPSAN_DROP_UDP_LENGTH = 7,
  DPSAN_DROP_VERSION = 8,       /* unknown dpsan version or header length */
  DPSAN_DROP_OPCODE = 9,        /* unknown opcode */
  DPSAN_DROP_PAYLOAD_LENGTH = 10,
  DPSAN_DROP_CHECKSUM = 11,     /* CRC32C mismatch */
  DPSAN_DROP_BAD_BODY = 12,     /* connect body missing, or segment fields inconsistent */
  DPSAN_DROP_IP_CHECKSUM = 13,
  DPSAN_DROP_TOO_LONG = 14      /* longer than the receiving port's MTU (README "Ports") */
};

/* Index into DPSAN_STATS.rdma_denied_by_reason: which check refused a peer's RDMA frame. */
enum {
  DPSAN_RDMA_DENY_CONN = 1,     /* a descriptor of another connection (R64) */
  DPSAN_RDMA_DENY_REGION = 2,   /* no such region slot */
  DPSAN_RDMA_DENY_REVOKED = 3,  /* slot free, or an older registration's generation (R63) */
  DPSAN_RDMA_DENY_KEY = 4,      /* wrong key */
  DPSAN_RDMA_DENY_BOUNDS = 5,   /* [offset, offset + length) not inside the region */
  DPSAN_RDMA_DENY_RIGHTS = 6,   /* write to a read-only region, read of a write-only one (R62) */
  DPSAN_RDMA_DENY_PROTOCOL = 7  /* malformed, unexpected or excess RDMA frame */
};

#ifdef __cplusplus
}
#endif

#endif /* DPSAN_DPSAN_STATS_H */
