/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The uring back-end (uring_port.h says what it does). Per queue:
 *
 *   socket  <-- multishot recvmsg (buffer group 0) --  buffer ring: kGroBufs 64 KiB buffers
 *                                                       (GRO) or kBufs mbufs; bid = slot
 *           <-- sendmsg per TX slot (kSlots), GSO batch of up to kMaxSeg frames each
 *   CQ ----> reap_pc(): recv CQE -> frame(s) to the stash (copied out with GRO; in place, the
 *                                   headers written in front, without); buffer refilled
 *                       send CQE -> the slot's mbufs freed, slot free again
 *   rx_burst hands frames out of the stash.
 */
#include "uring_port.h"
#include "../tsan.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <liburing.h>
#include <memory>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "fastpath/wire/header.h"
#include "uring_frame.h"

namespace dpsan::fastpath {

namespace {

constexpr unsigned kSqEntries = 256;
constexpr unsigned kCqEntries = 2048;  // every send slot and every buffer can complete at once
constexpr unsigned kBufs = 512;        ///< receive buffers per queue (buffer ring entries)
constexpr unsigned kGroBufs = 64;      ///< with GRO: 64 KiB receive buffers per queue
constexpr uint32_t kGroBufLen = 65536 + 128;  ///< a coalesced datagram (< 64 KiB) and its metadata
constexpr uint32_t kCtrlLen = CMSG_SPACE(sizeof(int));  ///< the UDP_GRO segment size
constexpr unsigned kSlots = 128;       ///< sendmsg operations in flight per queue
constexpr unsigned kMaxSeg = 64;       ///< UDP_MAX_SEGMENTS of older kernels
constexpr unsigned kGsoMaxBytes = 65000;  ///< payload of one GSO send (IPv4 total length <= 65535)
constexpr unsigned kStash = 2048;      ///< received frames waiting for rx_burst
constexpr uint64_t kRecvTag = 1ull << 63;
constexpr uint16_t kMaxMtu = kMtuMax;
static_assert((kBufs & (kBufs - 1)) == 0 && (kStash & (kStash - 1)) == 0, "powers of two");
static_assert(kBufs <= 32768, "buffer ids are 16 bits and the ring size at most 32768");
static_assert((kGroBufs & (kGroBufs - 1)) == 0 && kGroBufs <= kBufs, "a power of two, <= kBufs");

// Receive buffer layout inside an mbuf (controllen 0, namelen = sizeof(sockaddr_in)):
//   buf_addr + kFrameOff: [Ethernet|IPv4|UDP written here (42)] [payload]
//   buf_addr + kKernOff:          [recvmsg_out 16][sockaddr_in 16][payload]
// so the kernel puts the payload exactly behind the headers we write, and the headers
// overwrite only recvmsg_out and the name, which are read first.
constexpr uint32_t kFrameOff = RTE_PKTMBUF_HEADROOM;
constexpr uint32_t kMetaLen = sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_in);
constexpr uint32_t kKernOff = kFrameOff + uring::kL2L4Len - kMetaLen;
static_assert(uring::kL2L4Len >= kMetaLen, "the headers must cover the recvmsg metadata");

/** A counter with one writer (the owning core) that other threads may read (STYLE 1.7). */
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t n) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

struct QueueStats {
  Counter tx_frames, tx_sends, tx_gso_sends, tx_errors, tx_dropped;
  Counter rx_frames, rx_datagrams, rx_dropped, rx_rearms, rx_no_mbuf;
};

/** One sendmsg in flight: its message, and the frames whose payloads it points into. */
struct TxSlot {
  msghdr mh;
  sockaddr_in to;
  iovec iov[kMaxSeg];
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(uint16_t))];
  rte_mbuf* m[kMaxSeg];
  uint16_t nm;
  bool gso;
};

struct Queue {
  io_uring ring{};
  bool ring_ok = false;
  int fd = -1;
  io_uring_buf_ring* br = nullptr;
  size_t br_bytes = 0;
  unsigned nbufs = kBufs;          ///< buffer ring entries (kGroBufs with GRO)
  bool gro = false;                ///< GRO mode: big buffers of our own, segments copied out
  uint8_t* gro_mem = nullptr;      ///< GRO mode: kGroBufs buffers of kGroBufLen (rte_malloc)
  rte_mbuf* bufs[kBufs] = {};      ///< bid -> the mbuf the kernel may fill (nullptr: a hole)
  uint16_t holes[kBufs];           ///< bids waiting for an mbuf
  unsigned nholes = 0;
  msghdr rx_mh{};                  ///< the multishot template: name length, no control
  bool started = false, armed = false, gso = false;
  TxSlot slots[kSlots];
  uint16_t free_slots[kSlots];
  unsigned nfree = 0;
  Queue() {
    for (unsigned i = 0; i < kSlots; i++) free_slots[i] = static_cast<uint16_t>(kSlots - 1 - i);
    nfree = kSlots;
  }
  rte_mbuf* stash[kStash];
  uint32_t stash_head = 0, stash_tail = 0;  ///< free-running; tail - head frames waiting
  QueueStats st;
};

std::string errno_text(int e) { return std::string(std::strerror(e)); }

/** The IP MTU of the interface whose subnet holds `ip`; 0 when none does. */
uint16_t interface_mtu(uint32_t ip) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return 0;
  uint16_t mtu = 0;
  for (ifaddrs* a = list; a && mtu == 0; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask) continue;
    uint32_t addr = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr;
    uint32_t mask = reinterpret_cast<sockaddr_in*>(a->ifa_netmask)->sin_addr.s_addr;
    if ((addr & mask) != (ip & mask)) continue;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) break;
    ifreq r{};
    std::snprintf(r.ifr_name, sizeof r.ifr_name, "%s", a->ifa_name);
    if (ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0) mtu = static_cast<uint16_t>(std::min(r.ifr_mtu, 65535));
    ::close(s);
  }
  freeifaddrs(list);
  return mtu;
}

std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "?";
}

class UringPort final : public Port {
 public:
  UringPort(const UringPortConfig& cfg, rte_mempool* pool, uint16_t mtu)
      : cfg_(cfg), pool_(pool), mtu_(mtu), q_(new Queue[cfg.queues]) {}
  ~UringPort() override { close(); }

  bool open(std::string* err);
  uint16_t rx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override;
  uint16_t tx_burst(uint16_t q, rte_mbuf** pkts, uint16_t n) override;
  void close() override;
  uint16_t mtu() const override { return mtu_; }
  /** The kernel routes and resolves neighbours: frames leave with MACs zero. */
  bool needs_arp() const override { return false; }
  void stats(UringPortStats* out) const;

 private:
  bool open_socket(Queue& q, std::string* err);
  bool open_ring(Queue& q, std::string* err);
  bool start_pc(Queue& q);
  void arm_pc(Queue& q);
  void refill_pc(Queue& q, uint16_t bid, unsigned* added);
  void reap_pc(Queue& q);
  void on_recv_pc(Queue& q, const io_uring_cqe* cqe, unsigned* added);
  void on_recv_gro_pc(Queue& q, const io_uring_cqe* cqe, uint16_t bid);
  bool stash_frame_pc(Queue& q, const sockaddr_in& from, const uint8_t* payload, uint16_t len);
  void on_send_pc(Queue& q, const io_uring_cqe* cqe);
  unsigned batch_pc(Queue& q, rte_mbuf** pkts, unsigned n, const uring::Datagram& first,
                    TxSlot& s);

  UringPortConfig cfg_;
  rte_mempool* pool_;
  uint16_t mtu_;
  std::unique_ptr<Queue[]> q_;
  bool closed_ = false;
};

/** A UDP socket bound to ip:port (DF set, large buffers). @return the fd, or -1 and *err. */
int bind_udp(uint32_t ip, uint16_t port, bool reuseport, std::string* err) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = "socket(AF_INET, SOCK_DGRAM): " + errno_text(errno);
    return -1;
  }
  int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  int pmtu = IP_PMTUDISC_DO;  // DF, as every dpsan frame
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  // Large socket buffers absorb bursts between two polls. FORCE needs CAP_NET_ADMIN; without it
  // the plain option is capped by net.core.[rw]mem_max.
  int bytes = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = ip;
  a.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &ip, text, sizeof text);
    *err = std::string("cannot bind UDP ") + text + ":" + std::to_string(port) + ": " + errno_text(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

bool UringPort::open_socket(Queue& q, std::string* err) {
  q.fd = bind_udp(cfg_.bind_ip, cfg_.bind_port, cfg_.queues > 1, err);
  if (q.fd < 0) return false;
  int one = 1;
  int seg = 0;
  socklen_t len = sizeof seg;
  q.gso = cfg_.gso && getsockopt(q.fd, SOL_UDP, UDP_SEGMENT, &seg, &len) == 0;
  q.gro = cfg_.gro && setsockopt(q.fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
  q.nbufs = q.gro ? kGroBufs : kBufs;
  return true;
}

bool UringPort::open_ring(Queue& q, std::string* err) {
  // Disabled until the poll core enables it: the enabling task becomes the single issuer.
  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED |
            IORING_SETUP_CQSIZE | IORING_SETUP_TASKRUN_FLAG;
  p.cq_entries = kCqEntries;
  int rc = io_uring_queue_init_params(kSqEntries, &q.ring, &p);
  if (rc < 0) {
    *err = uring_unavailable_message(-rc);
    return false;
  }
  q.ring_ok = true;
  // The buffer ring, by hand (liburing 2.3 has no io_uring_setup_buf_ring): page-aligned
  // memory shared with the kernel, registered as buffer group 0.
  q.br_bytes = q.nbufs * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, q.br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = "cannot map the buffer ring: " + errno_text(errno);
    return false;
  }
  q.br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(q.br);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(mem);
  reg.ring_entries = q.nbufs;
  reg.bgid = 0;
  rc = io_uring_register_buf_ring(&q.ring, &reg, 0);
  if (rc < 0) {
    *err = "io_uring_register_buf_ring: " + errno_text(-rc) + " (provided-buffer rings need Linux 5.19+; this kernel is " +
           kernel_release() + ")";
    return false;
  }
  if (q.gro) {
    // Coalesced datagrams do not fit an mbuf: GRO receives into 64 KiB buffers of hugepage
    // memory that never leave the port, and each segment is copied out into an mbuf.
    q.gro_mem = static_cast<uint8_t*>(rte_malloc("dpsan_uring_gro", size_t{kGroBufs} * kGroBufLen, 64));
    tsan_heap_allocated();
    if (q.gro_mem == nullptr) {
      *err = "cannot allocate the GRO receive buffers (" + std::to_string(kGroBufs * kGroBufLen >> 20) + " MiB)";
      return false;
    }
  }
  unsigned added = 0;
  for (unsigned b = 0; b < q.nbufs; b++) refill_pc(q, static_cast<uint16_t>(b), &added);
  io_uring_buf_ring_advance(q.br, static_cast<int>(added));
  if (q.nholes == q.nbufs) {
    *err = "the packet pool has no mbufs for the receive buffers";
    return false;
  }
  q.rx_mh.msg_namelen = sizeof(sockaddr_in);
  q.rx_mh.msg_controllen = q.gro ? kCtrlLen : 0;
  return true;
}

bool UringPort::open(std::string* err) {
  if (cfg_.queues > 1) {
    // SO_REUSEPORT would let this port join another process's group on the same address
    // (same user) and split its traffic silently: first make sure the address is free.
    int probe = bind_udp(cfg_.bind_ip, cfg_.bind_port, false, err);
    if (probe < 0) return false;
    ::close(probe);
  }
  // Every queue's socket is bound before the steering program is attached: the reuseport
  // group numbers its sockets in bind order, which is the queue order.
  for (unsigned i = 0; i < cfg_.queues; i++)
    if (!open_socket(q_[i], err)) return false;
  if (cfg_.queues > 1) {
    // Datagram -> queue of conn_id_core(dst_conn): the dpsan header's dst_conn is at UDP
    // payload offset 4 (where the program's loads start); bits 16..19 are the core.
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    if (setsockopt(q_[0].fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
      *err = "SO_ATTACH_REUSEPORT_CBPF: " + errno_text(errno);
      return false;
    }
  }
  for (unsigned i = 0; i < cfg_.queues; i++)
    if (!open_ring(q_[i], err)) return false;
  return true;
}

void UringPort::refill_pc(Queue& q, uint16_t bid, unsigned* added) {
  if (q.gro) {  // the same buffer goes back
    io_uring_buf_ring_add(q.br, q.gro_mem + size_t{bid} * kGroBufLen, kGroBufLen, bid,
                          io_uring_buf_ring_mask(q.nbufs), static_cast<int>(*added));
    ++*added;
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    q.st.rx_no_mbuf.add(1);
    q.holes[q.nholes++] = bid;
    return;
  }
  q.bufs[bid] = m;
  auto* base = static_cast<uint8_t*>(m->buf_addr);
  io_uring_buf_ring_add(q.br, base + kKernOff, m->buf_len - kKernOff, bid,
                        io_uring_buf_ring_mask(q.nbufs), static_cast<int>(*added));
  ++*added;
}

bool UringPort::start_pc(Queue& q) {
  // First call on this queue, on its owning thread: that thread becomes the single issuer.
  // (liburing 2.3 declares io_uring_enable_rings but does not export it.)
  if (io_uring_register(q.ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) < 0) return false;
  q.started = true;
  arm_pc(q);
  io_uring_submit(&q.ring);
  return true;
}

void UringPort::arm_pc(Queue& q) {
  io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);
  if (sqe == nullptr) return;  // full: the next pass arms it
  io_uring_prep_recvmsg_multishot(sqe, q.fd, &q.rx_mh, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  io_uring_sqe_set_data64(sqe, kRecvTag);
  q.armed = true;
}

void UringPort::on_recv_pc(Queue& q, const io_uring_cqe* cqe, unsigned* added) {
  // A completion without "more" ends the multishot receive (no buffer left, an error):
  // arm it again on this pass.
  if (!(cqe->flags & IORING_CQE_F_MORE)) q.armed = false;
  if (!(cqe->flags & IORING_CQE_F_BUFFER)) return;  // an error without data
  auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
  if (bid >= q.nbufs) return;  // not ours: cannot happen
  q.st.rx_datagrams.add(1);
  if (q.gro) {
    on_recv_gro_pc(q, cqe, bid);
    refill_pc(q, bid, added);
    return;
  }
  if (q.bufs[bid] == nullptr) return;  // not ours: cannot happen
  rte_mbuf* m = q.bufs[bid];
  q.bufs[bid] = nullptr;
  refill_pc(q, bid, added);

  auto* base = static_cast<uint8_t*>(m->buf_addr);
  // The metadata sits where the headers will go, 2-byte aligned: copied out, not cast.
  io_uring_recvmsg_out out;
  std::memcpy(&out, base + kKernOff, sizeof out);
  bool ok = cqe->res >= static_cast<int>(kMetaLen) && out.namelen == sizeof(sockaddr_in) &&
            !(out.flags & MSG_TRUNC) && out.controllen == 0 &&
            out.payloadlen <= static_cast<uint32_t>(cqe->res) - kMetaLen &&
            out.payloadlen <= 65535 - 28 && q.stash_tail - q.stash_head < kStash;
  if (!ok) {
    q.st.rx_dropped.add(1);
    rte_pktmbuf_free(m);
    return;
  }
  sockaddr_in from;
  std::memcpy(&from, base + kKernOff + sizeof(io_uring_recvmsg_out), sizeof from);
  auto len = static_cast<uint16_t>(out.payloadlen);
  // Overwrites the metadata and the name, read above.
  uring::write_headers(base + kFrameOff, from.sin_addr.s_addr, ntohs(from.sin_port), cfg_.bind_ip,
                       wire::kUdpPort, len);
  m->data_off = static_cast<uint16_t>(kFrameOff);
  m->data_len = static_cast<uint16_t>(uring::kL2L4Len + len);
  m->pkt_len = m->data_len;
  q.stash[q.stash_tail++ % kStash] = m;
  q.st.rx_frames.add(1);
}

/** A copy of one datagram as a whole frame, into a new mbuf, for rx_burst. */
bool UringPort::stash_frame_pc(Queue& q, const sockaddr_in& from, const uint8_t* payload, uint16_t len) {
  if (q.stash_tail - q.stash_head >= kStash ||
      uring::kL2L4Len + len + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(pool_)) {
    q.st.rx_dropped.add(1);
    return false;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    q.st.rx_no_mbuf.add(1);
    q.st.rx_dropped.add(1);
    return false;
  }
  uint8_t* f = rte_pktmbuf_mtod(m, uint8_t*);
  uring::write_headers(f, from.sin_addr.s_addr, ntohs(from.sin_port), cfg_.bind_ip, wire::kUdpPort, len);
  std::memcpy(f + uring::kL2L4Len, payload, len);
  m->data_len = static_cast<uint16_t>(uring::kL2L4Len + len);
  m->pkt_len = m->data_len;
  q.stash[q.stash_tail++ % kStash] = m;
  q.st.rx_frames.add(1);
  return true;
}

/**
 * GRO: one completion may hold several datagrams of one sender, `gso_size` bytes each (the last
 * may be shorter), coalesced by the kernel. Each becomes a frame of its own.
 */
void UringPort::on_recv_gro_pc(Queue& q, const io_uring_cqe* cqe, uint16_t bid) {
  uint8_t* buf = q.gro_mem + size_t{bid} * kGroBufLen;
  msghdr mh = q.rx_mh;
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe->res, &mh);
  if (out == nullptr || out->namelen != sizeof(sockaddr_in) || (out->flags & MSG_TRUNC) ||
      out->payloadlen > io_uring_recvmsg_payload_length(out, cqe->res, &mh)) {
    q.st.rx_dropped.add(1);
    return;
  }
  sockaddr_in from;
  std::memcpy(&from, io_uring_recvmsg_name(out), sizeof from);
  uint32_t seg = out->payloadlen;
  for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(out, &mh); c; c = io_uring_recvmsg_cmsg_nexthdr(out, &mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v;
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      if (v > 0) seg = static_cast<uint32_t>(v);
    }
  }
  auto* p = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &mh));
  for (uint32_t off = 0; off < out->payloadlen; off += seg) {
    auto len = static_cast<uint16_t>(std::min(seg, out->payloadlen - off));
    if (!stash_frame_pc(q, from, p + off, len)) break;
  }
}

void UringPort::on_send_pc(Queue& q, const io_uring_cqe* cqe) {
  auto i = static_cast<uint16_t>(cqe->user_data);
  if (i >= kSlots) return;
  TxSlot& s = q.slots[i];
  if (cqe->res < 0) {
    q.st.tx_errors.add(s.nm);
    // A device without checksum offload refuses GSO (EIO): send frames one by one from now on.
    if (s.gso && (cqe->res == -EIO || cqe->res == -EINVAL)) q.gso = false;
  }
  rte_pktmbuf_free_bulk(s.m, s.nm);
  q.free_slots[q.nfree++] = i;
}

void UringPort::reap_pc(Queue& q) {
  // Deferred task work (receives, sends that waited for room) runs only inside
  // io_uring_enter on this thread; the kernel raises IORING_SQ_TASKRUN when there is some.
  if (IO_URING_READ_ONCE(*q.ring.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))
    io_uring_get_events(&q.ring);
  unsigned head, seen = 0, added = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&q.ring, head, cqe) {
    if (cqe->user_data & kRecvTag) on_recv_pc(q, cqe, &added);
    else on_send_pc(q, cqe);
    seen++;
  }
  if (seen) io_uring_cq_advance(&q.ring, seen);
  // Buffers that found the pool empty before: try again.
  while (q.nholes) {
    unsigned before = q.nholes;
    uint16_t bid = q.holes[--q.nholes];
    refill_pc(q, bid, &added);
    if (q.nholes == before) break;  // still empty
  }
  if (added) io_uring_buf_ring_advance(q.br, static_cast<int>(added));
  if (!q.armed && q.nholes < q.nbufs) {
    arm_pc(q);
    q.st.rx_rearms.add(1);
    io_uring_submit(&q.ring);
  }
}

uint16_t UringPort::rx_burst(uint16_t qi, rte_mbuf** pkts, uint16_t n) {
  Queue& q = q_[qi];
  if (!q.started && !start_pc(q)) return 0;
  if (q.stash_tail == q.stash_head) reap_pc(q);
  uint16_t k = 0;
  while (k < n && q.stash_head != q.stash_tail) pkts[k++] = q.stash[q.stash_head++ % kStash];
  return k;
}

/**
 * The poll core that owns the datagram's destination connection (conn_id_core of dst_conn, read
 * from the big-endian header). A GSO batch keeps to one: the receiver's socket lookup, and so the
 * reuseport steering, sees only the first segment of a batch.
 */
inline unsigned dst_core(const uring::Datagram& d) { return d.payload[offsetof(wire::Header, dst_conn) + 1] & 0xfu; }

/**
 * Fill slot `s` with pkts[0] (whose datagram is `first`) and the frames after it that GSO can
 * send in the same sendmsg: same destination, same size, only the last one may be shorter.
 * @return frames in the slot.
 */
unsigned UringPort::batch_pc(Queue& q, rte_mbuf** pkts, unsigned n, const uring::Datagram& first,
                             TxSlot& s) {
  s.iov[0] = {const_cast<uint8_t*>(first.payload), first.len};
  s.m[0] = pkts[0];
  unsigned k = 1, total = first.len;
  if (q.gso && first.len >= sizeof(wire::Header)) {
    for (; k < n && k < kMaxSeg; k++) {
      uring::Datagram d;
      if (!uring::datagram_of_frame(rte_pktmbuf_mtod(pkts[k], const uint8_t*),
                                    rte_pktmbuf_data_len(pkts[k]), wire::kUdpPort, &d) ||
          pkts[k]->nb_segs != 1 || d.dst_ip != first.dst_ip || d.len < sizeof(wire::Header) ||
          dst_core(d) != dst_core(first) ||
          d.len > first.len || total + d.len > kGsoMaxBytes)
        break;
      s.iov[k] = {const_cast<uint8_t*>(d.payload), d.len};
      s.m[k] = pkts[k];
      total += d.len;
      if (d.len < first.len) {  // a shorter segment ends a GSO batch
        k++;
        break;
      }
    }
  }
  s.nm = static_cast<uint16_t>(k);
  s.gso = k > 1;
  s.to = {};
  s.to.sin_family = AF_INET;
  s.to.sin_addr.s_addr = first.dst_ip;
  s.to.sin_port = htons(cfg_.bind_port);
  s.mh = {};
  s.mh.msg_name = &s.to;
  s.mh.msg_namelen = sizeof s.to;
  s.mh.msg_iov = s.iov;
  s.mh.msg_iovlen = k;
  if (s.gso) {
    s.mh.msg_control = s.ctrl;
    s.mh.msg_controllen = sizeof s.ctrl;
    cmsghdr* c = CMSG_FIRSTHDR(&s.mh);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = first.len;
    std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
  }
  return k;
}

uint16_t UringPort::tx_burst(uint16_t qi, rte_mbuf** pkts, uint16_t n) {
  Queue& q = q_[qi];
  if (!q.started && !start_pc(q)) return 0;
  if (q.nfree == 0) reap_pc(q);
  unsigned i = 0, sends = 0;
  while (i < n) {
    uring::Datagram d;
    if (pkts[i]->nb_segs != 1 ||
        !uring::datagram_of_frame(rte_pktmbuf_mtod(pkts[i], const uint8_t*),
                                  rte_pktmbuf_data_len(pkts[i]), wire::kUdpPort, &d)) {
      // Taken and dropped, as a receiver would drop it.
      q.st.tx_dropped.add(1);
      rte_pktmbuf_free(pkts[i++]);
      continue;
    }
    if (q.nfree == 0) break;  // the rest stay the caller's
    io_uring_sqe* sqe = io_uring_get_sqe(&q.ring);
    if (sqe == nullptr) break;
    uint16_t si = q.free_slots[--q.nfree];
    TxSlot& s = q.slots[si];
    unsigned k = batch_pc(q, pkts + i, n - i, d, s);
    io_uring_prep_sendmsg(sqe, q.fd, &s.mh, 0);
    io_uring_sqe_set_data64(sqe, si);
    q.st.tx_frames.add(k);
    q.st.tx_sends.add(1);
    if (s.gso) q.st.tx_gso_sends.add(1);
    i += k;
    sends++;
  }
  // One system call for the whole burst; sends that complete at once post their CQEs now, and
  // the same call runs deferred receive work, so the next rx_burst finds its CQEs without one.
  if (sends) io_uring_submit_and_get_events(&q.ring);
  return static_cast<uint16_t>(i);
}

void UringPort::close() {
  if (closed_) return;
  closed_ = true;
  for (unsigned i = 0; i < cfg_.queues; i++) {
    Queue& q = q_[i];
    // No more datagrams in; then the ring goes (its exit cancels what is still pending, and
    // cancelled work never touches a buffer), then every mbuf the port held goes back.
    if (q.fd >= 0) shutdown(q.fd, SHUT_RDWR);
    if (q.ring_ok) io_uring_queue_exit(&q.ring);
    if (q.fd >= 0) ::close(q.fd);
    if (q.br) munmap(q.br, q.br_bytes);
    rte_free(q.gro_mem);
    tsan_heap_freed();
    q.gro_mem = nullptr;
    for (rte_mbuf*& m : q.bufs)
      if (m) rte_pktmbuf_free(m), m = nullptr;
    for (unsigned s = 0; s < kSlots; s++) {
      bool in_flight = true;
      for (unsigned f = 0; f < q.nfree; f++) in_flight = in_flight && q.free_slots[f] != s;
      if (in_flight) rte_pktmbuf_free_bulk(q.slots[s].m, q.slots[s].nm);
    }
    while (q.stash_head != q.stash_tail) rte_pktmbuf_free(q.stash[q.stash_head++ % kStash]);
    q.ring_ok = false;
    q.fd = -1;
    q.br = nullptr;
  }
}

void UringPort::stats(UringPortStats* o) const {
  *o = {};
  for (unsigned i = 0; i < cfg_.queues; i++) {
    const QueueStats& s = q_[i].st;
    o->tx_frames += s.tx_frames.get();
    o->tx_sends += s.tx_sends.get();
    o->tx_gso_sends += s.tx_gso_sends.get();
    o->tx_errors += s.tx_errors.get();
    o->tx_dropped += s.tx_dropped.get();
    o->rx_frames += s.rx_frames.get();
    o->rx_datagrams += s.rx_datagrams.get();
    o->rx_dropped += s.rx_dropped.get();
    o->rx_rearms += s.rx_rearms.get();
    o->rx_no_mbuf += s.rx_no_mbuf.get();
  }
}

}  // namespace

std::string uring_unavailable_message(int err) {
  std::string k = "kernel " + kernel_release();
  int disabled = 0;
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  if (!(f >> disabled)) disabled = 0;
  std::string head = "io_uring is not available (" + errno_text(err) + "): ";
  if (err == ENOSYS) return head + k + " was built without io_uring; use an ethdev port";
  if ((err == EPERM || err == EACCES) && disabled != 0)
    return head + "kernel.io_uring_disabled = " + std::to_string(disabled) +
           " on this host (0 allows it; 1 allows members of kernel.io_uring_group); use an ethdev port";
  if (err == EPERM || err == EACCES)
    return head + "this process may not create rings (seccomp or a container policy?); use an ethdev port";
  if (err == EINVAL)
    return head + "the uring back-end needs Linux 6.1+ (IORING_SETUP_SINGLE_ISSUER, "
                  "IORING_SETUP_DEFER_TASKRUN, multishot recvmsg); " + k;
  if (err == ENOMEM)
    return head + "cannot lock the ring memory (RLIMIT_MEMLOCK?)";
  return head + k;
}

Port* uring_port_open(const UringPortConfig& cfg, rte_mempool* pool, std::string* err) {
  if (cfg.bind_ip == 0 || cfg.queues == 0 || cfg.queues > 16) {
    *err = "uring port: a specific bind address and 1..16 queues are needed";
    return nullptr;
  }
  uint16_t mtu = cfg.mtu ? cfg.mtu : interface_mtu(cfg.bind_ip);
  if (mtu == 0) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &cfg.bind_ip, ip, sizeof ip);
    *err = std::string("uring port: no interface has an address in the subnet of ") + ip;
    return nullptr;
  }
  mtu = std::min(mtu, kMaxMtu);
  // Frames must fit the receive buffers: the mbuf data room behind the recvmsg metadata.
  if (rte_pktmbuf_data_room_size(pool) < kFrameOff + 14u + mtu) {
    *err = "uring port: the packet pool's buffers are smaller than the MTU";
    return nullptr;
  }
  auto* p = new UringPort(cfg, pool, mtu);
  if (!p->open(err)) {
    delete p;
    return nullptr;
  }
  return p;
}

bool uring_port_stats(const Port* p, UringPortStats* out) {
  auto* u = dynamic_cast<const UringPort*>(p);
  if (u == nullptr) return false;
  u->stats(out);
  return true;
}

}  // namespace dpsan::fastpath
