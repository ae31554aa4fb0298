/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * One dpsan endpoint in its own process, for the multi-process integration tests
 * (uring_test.cpp). The process brings the provider up from DPSAN_CONFIG, makes one connection
 * (listening or connecting), and exchanges messages both ways at once through the public SPI
 * (the minimal switch of bench/dpsan_perf): N messages of 1 B to 64 KiB each way, up to 8 in
 * flight, each checked to arrive once, intact and in order (R40); then RDMA: the listener
 * registers a 1 MiB region and sends its descriptor, the connector writes 1 B to 1 MiB into it
 * and reads each back (R42-R44), the listener checks the region. Exit status 0 means all of it
 * worked; anything else is said on stderr.
 *
 *   integration_peer listen  IP PORT N READY_FD   (writes one byte to READY_FD once listening)
 *   integration_peer connect IP PORT N BIND_IP
 */
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include <dpsan/dpsan_stats.h>

#include "mini_switch.h"

using dpsan::perf::Event;
using dpsan::perf::MiniSwitch;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kSlots = 8;
constexpr uint32_t kMaxMsg = 64 * 1024;
const WSAEVENT kPoll = reinterpret_cast<WSAEVENT>(uintptr_t{1});

uint32_t msg_size(unsigned seq) {
  static const uint32_t sizes[] = {1, 7, 64, 256, 257, 1000, 1400, 4096, 9000, 20000, kMaxMsg};
  return sizes[seq % 11];
}
uint8_t msg_byte(unsigned tag, unsigned seq, uint32_t i) {
  return static_cast<uint8_t>(tag * 101 + seq * 17 + i * 13);
}
bool done(WSAOVERLAPPED& ov) {
  return std::atomic_ref<ULONG_PTR>(ov.Internal).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "integration_peer %d: %s\n", getpid(), what.c_str());
  return 1;
}

sockaddr_in addr_of(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

/** Send N messages tagged `tx_tag` and receive N tagged `rx_tag`, at once. */
std::string exchange(MiniSwitch& sw, SOCKET s, unsigned n, unsigned tx_tag, unsigned rx_tag) {
  std::unique_ptr<char[]> tbuf(new char[kSlots * kMaxMsg]), rbuf(new char[kSlots * kMaxMsg]);
  int e = 0;
  if (!sw.register_memory(s, tbuf.get(), kSlots * kMaxMsg, MEM_READWRITE, &e) ||
      !sw.register_memory(s, rbuf.get(), kSlots * kMaxMsg, MEM_READWRITE, &e))
    return "WSPRegisterMemory: " + std::to_string(e);
  WSAOVERLAPPED tov[kSlots]{}, rov[kSlots]{};
  bool tbusy[kSlots]{}, rbusy[kSlots]{};
  unsigned rseq[kSlots]{};
  unsigned sent = 0, posted = 0, received = 0, acked = 0;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while ((received < n || acked < n) && Clock::now() < deadline) {
    for (unsigned k = 0; k < kSlots; k++) {
      if (rbusy[k] && done(rov[k])) {
        rbusy[k] = false;
        if (rov[k].OffsetHigh != 0) return "receive failed: " + std::to_string(rov[k].OffsetHigh);
        uint32_t got = static_cast<uint32_t>(rov[k].InternalHigh);
        const char* b = rbuf.get() + k * kMaxMsg;
        // The k-th posted receive holds the k-th message: content proves order and once-only.
        if (got != msg_size(rseq[k])) return "message " + std::to_string(rseq[k]) + ": " + std::to_string(got) + " bytes";
        for (uint32_t i = 0; i < got; i++)
          if (static_cast<uint8_t>(b[i]) != msg_byte(rx_tag, rseq[k], i))
            return "message " + std::to_string(rseq[k]) + " damaged at byte " + std::to_string(i);
        received++;
      }
      if (!rbusy[k] && posted < n && posted - received < kSlots) {
        rov[k] = WSAOVERLAPPED{};
        rov[k].hEvent = kPoll;
        WSABUF wb{kMaxMsg, rbuf.get() + k * kMaxMsg};
        DWORD flags = 0;
        if (sw.proc().lpWSPRecv(s, &wb, 1, nullptr, &flags, &rov[k], nullptr, nullptr, &e) == SOCKET_ERROR &&
            e == WSA_IO_PENDING) {
          rbusy[k] = true;
          rseq[k] = posted++;
        } else {
          return "WSPRecv: " + std::to_string(e);
        }
      }
      if (tbusy[k] && done(tov[k])) {
        tbusy[k] = false;
        if (tov[k].OffsetHigh != 0) return "send failed: " + std::to_string(tov[k].OffsetHigh);
        acked++;
      }
      if (!tbusy[k] && sent < n) {
        uint32_t len = msg_size(sent);
        char* b = tbuf.get() + k * kMaxMsg;
        for (uint32_t i = 0; i < len; i++) b[i] = static_cast<char>(msg_byte(tx_tag, sent, i));
        tov[k] = WSAOVERLAPPED{};
        tov[k].hEvent = kPoll;
        WSABUF wb{len, b};
        if (sw.proc().lpWSPSend(s, &wb, 1, nullptr, 0, &tov[k], nullptr, nullptr, &e) == SOCKET_ERROR &&
            e == WSA_IO_PENDING) {
          tbusy[k] = true;
          sent++;
        } else {
          return "WSPSend: " + std::to_string(e);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  if (received < n || acked < n)
    return "within 60 s: " + std::to_string(received) + " of " + std::to_string(n) + " received, " +
           std::to_string(acked) + " sent";
  return "";
}

/** Post one operation and wait for it (up to 30 s). @return "" or what failed. */
std::string wait_op(WSAOVERLAPPED& ov, const char* what) {
  auto end = Clock::now() + std::chrono::seconds(30);
  while (!done(ov) && Clock::now() < end) std::this_thread::sleep_for(std::chrono::microseconds(50));
  if (!done(ov)) return std::string(what) + ": not complete within 30 s";
  if (ov.OffsetHigh != 0) return std::string(what) + ": failed with " + std::to_string(ov.OffsetHigh);
  return "";
}

/** One message of `n` bytes from `buf` (registered), sent and acknowledged. */
std::string send_one(MiniSwitch& sw, SOCKET s, char* buf, uint32_t n) {
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  WSABUF wb{n, buf};
  int e = 0;
  if (sw.proc().lpWSPSend(s, &wb, 1, nullptr, 0, &ov, nullptr, nullptr, &e) != SOCKET_ERROR || e != WSA_IO_PENDING)
    return "WSPSend: " + std::to_string(e);
  return wait_op(ov, "send");
}

/** One message into `buf` (registered, `cap` bytes). @return "" and its length in *n. */
std::string recv_one(MiniSwitch& sw, SOCKET s, char* buf, uint32_t cap, uint32_t* n) {
  WSAOVERLAPPED ov{};
  ov.hEvent = kPoll;
  WSABUF wb{cap, buf};
  DWORD flags = 0;
  int e = 0;
  if (sw.proc().lpWSPRecv(s, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e) != SOCKET_ERROR || e != WSA_IO_PENDING)
    return "WSPRecv: " + std::to_string(e);
  std::string err = wait_op(ov, "receive");
  *n = static_cast<uint32_t>(ov.InternalHigh);
  return err;
}

void* ext_fn(MiniSwitch& sw, GUID id) {
  void* fn = nullptr;
  DWORD got = 0;
  int e = 0;
  sw.proc().lpWSPIoctl(0, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id, &fn, sizeof fn, &got,
                       nullptr, nullptr, nullptr, &e);
  return fn;
}

constexpr uint32_t kRdmaRegion = 1u << 20;
const uint32_t kRdmaSizes[] = {1, 1431, 4097, 65537, kRdmaRegion};
uint8_t rdma_byte(uint32_t size, uint32_t i) { return static_cast<uint8_t>(size * 7 + i * 31 + 5); }

/**
 * RDMA, listener side: register a region for remote access, send its descriptor, and wait for
 * the connector's "done"; then the region must hold what the connector's last write put there.
 */
std::string rdma_target(MiniSwitch& sw, SOCKET s) {
  auto reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(ext_fn(sw, WSAID_REGISTERRDMAMEMORY));
  if (!reg_rdma) return "no WSPRegisterRdmaMemory";
  std::unique_ptr<char[]> region(new char[kRdmaRegion]());
  alignas(8) char msg[128] = {};
  DWORD len = 64;
  int e = 0;
  if (!sw.register_memory(s, msg, sizeof msg, MEM_READWRITE, &e)) return "register: " + std::to_string(e);
  if (reg_rdma(s, region.get(), kRdmaRegion, MEM_READWRITE, msg, &len, &e) != 0)
    return "WSPRegisterRdmaMemory: " + std::to_string(e);
  if (std::string err = send_one(sw, s, msg, len); !err.empty()) return "descriptor " + err;
  uint32_t n = 0;
  if (std::string err = recv_one(sw, s, msg, sizeof msg, &n); !err.empty()) return "done " + err;
  for (uint32_t i = 0; i < kRdmaRegion; i++)
    if (static_cast<uint8_t>(region[i]) != rdma_byte(kRdmaRegion, i))
      return "RDMA region differs at byte " + std::to_string(i);
  return "";
}

/** RDMA, connector side: write each size into the peer's region, read it back, compare; "done". */
std::string rdma_initiator(MiniSwitch& sw, SOCKET s) {
  auto write = reinterpret_cast<LPFN_WSPRDMAWRITE>(ext_fn(sw, WSAID_RDMAWRITE));
  auto read = reinterpret_cast<LPFN_WSPRDMAREAD>(ext_fn(sw, WSAID_RDMAREAD));
  if (!write || !read) return "no WSPRdmaWrite/WSPRdmaRead";
  std::unique_ptr<char[]> out(new char[kRdmaRegion]), back(new char[kRdmaRegion]);
  alignas(8) char desc[128] = {};
  int e = 0;
  HANDLE hout = sw.register_memory(s, out.get(), kRdmaRegion, MEM_READWRITE, &e);
  HANDLE hback = sw.register_memory(s, back.get(), kRdmaRegion, MEM_READWRITE, &e);
  if (!hout || !hback || !sw.register_memory(s, desc, sizeof desc, MEM_READWRITE, &e))
    return "register: " + std::to_string(e);
  uint32_t dlen = 0;
  if (std::string err = recv_one(sw, s, desc, sizeof desc, &dlen); !err.empty()) return "descriptor " + err;
  for (uint32_t n : kRdmaSizes) {
    for (uint32_t i = 0; i < n; i++) out[i] = static_cast<char>(rdma_byte(n, i));
    std::memset(back.get(), 0, n);
    for (int w = 1; w >= 0; w--) {
      WSAOVERLAPPED ov{};
      ov.hEvent = kPoll;
      WSABUFEX b{n, w ? out.get() : back.get(), w ? hout : hback};
      DWORD got = 0;
      auto fn = w ? write : read;
      if (fn(s, &b, 1, desc, dlen, 0, &got, 0, &ov, nullptr, nullptr, &e) != SOCKET_ERROR || e != WSA_IO_PENDING)
        return std::string(w ? "WSPRdmaWrite" : "WSPRdmaRead") + ": " + std::to_string(e);
      if (std::string err = wait_op(ov, w ? "RDMA write" : "RDMA read"); !err.empty())
        return err + " (" + std::to_string(n) + " bytes)";
    }
    if (std::memcmp(out.get(), back.get(), n) != 0) return "RDMA read back differs (" + std::to_string(n) + " bytes)";
  }
  desc[0] = 'D';
  return send_one(sw, s, desc, 1);
}

SOCKET accept_one(MiniSwitch& sw, const char* ip, uint16_t port, int ready_fd, std::string* err) {
  int e = 0;
  Event ev;
  SOCKET l = sw.proc().lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &e);
  sockaddr_in a = addr_of(ip, port);
  if (l == INVALID_SOCKET || sw.proc().lpWSPBind(l, reinterpret_cast<sockaddr*>(&a), sizeof a, &e) != 0 ||
      sw.proc().lpWSPListen(l, 4, &e) != 0 || sw.proc().lpWSPEventSelect(l, &ev, FD_ACCEPT, &e) != 0) {
    *err = "listen on " + std::string(ip) + ": " + std::to_string(e);
    return INVALID_SOCKET;
  }
  char r = 'R';
  if (write(ready_fd, &r, 1) != 1) {
    *err = "cannot report readiness";
    return INVALID_SOCKET;
  }
  ::close(ready_fd);
  if (!ev.wait(30000)) {
    *err = "no FD_ACCEPT within 30 s";
    return INVALID_SOCKET;
  }
  WSANETWORKEVENTS ne{};
  sw.proc().lpWSPEnumNetworkEvents(l, &ev, &ne, &e);
  sockaddr_in peer{};
  int len = sizeof peer;
  SOCKET s = sw.proc().lpWSPAccept(l, reinterpret_cast<sockaddr*>(&peer), &len, nullptr, 0, &e);
  if (s == INVALID_SOCKET) *err = "WSPAccept: " + std::to_string(e);
  sw.proc().lpWSPCloseSocket(l, &e);
  return s;
}

SOCKET connect_one(MiniSwitch& sw, const char* ip, uint16_t port, const char* bind_ip, std::string* err) {
  int e = 0;
  Event ev;
  SOCKET c = sw.proc().lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &e);
  sockaddr_in me = addr_of(bind_ip, 0), to = addr_of(ip, port);
  if (c == INVALID_SOCKET || sw.proc().lpWSPBind(c, reinterpret_cast<sockaddr*>(&me), sizeof me, &e) != 0 ||
      sw.proc().lpWSPEventSelect(c, &ev, FD_CONNECT, &e) != 0) {
    *err = "socket/bind: " + std::to_string(e);
    return INVALID_SOCKET;
  }
  if (sw.proc().lpWSPConnect(c, reinterpret_cast<sockaddr*>(&to), sizeof to, nullptr, nullptr, nullptr,
                             nullptr, &e) == 0 || e != WSAEWOULDBLOCK) {
    *err = "WSPConnect: " + std::to_string(e);
    return INVALID_SOCKET;
  }
  if (!ev.wait(30000)) {
    *err = "no FD_CONNECT within 30 s";
    return INVALID_SOCKET;
  }
  WSANETWORKEVENTS ne{};
  sw.proc().lpWSPEnumNetworkEvents(c, &ev, &ne, &e);
  if (!(ne.lNetworkEvents & FD_CONNECT) || ne.iErrorCode[FD_CONNECT_BIT] != 0) {
    *err = "connect failed: " + std::to_string(ne.iErrorCode[FD_CONNECT_BIT]);
    return INVALID_SOCKET;
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) return fail("usage: listen IP PORT N READY_FD | connect IP PORT N BIND_IP");
  std::string role = argv[1];
  const char* ip = argv[2];
  auto port = static_cast<uint16_t>(std::atoi(argv[3]));
  auto n = static_cast<unsigned>(std::atoi(argv[4]));
  bool listener = role == "listen";
  MiniSwitch sw;
  if (int rc = sw.startup(); rc != 0) return fail("WSPStartupEx: " + std::to_string(rc));
  std::string err;
  SOCKET s = listener ? accept_one(sw, ip, port, std::atoi(argv[5]), &err)
                      : connect_one(sw, ip, port, argv[5], &err);
  if (s == INVALID_SOCKET) return fail(err);
  err = exchange(sw, s, n, listener ? 2 : 1, listener ? 1 : 2);
  if (!err.empty()) return fail(err);
  // RDMA both ways of the wire: writes go to the listener, reads come back from it.
  err = listener ? rdma_target(sw, s) : rdma_initiator(sw, s);
  if (!err.empty()) return fail(err);
  int e = 0;
  if (listener) {
    // The connector closes first (its last sends are acked once we have them): wait for its
    // close to end one more receive, so that our reset cannot fail a send of the connector's.
    char b[16];
    WSAOVERLAPPED ov{};
    ov.hEvent = kPoll;
    WSABUF wb{sizeof b, b};
    DWORD flags = 0;
    sw.register_memory(s, b, sizeof b, MEM_READWRITE, &e);
    if (sw.proc().lpWSPRecv(s, &wb, 1, nullptr, &flags, &ov, nullptr, nullptr, &e) == SOCKET_ERROR &&
        e == WSA_IO_PENDING) {
      auto end = Clock::now() + std::chrono::seconds(10);
      while (!done(ov) && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  DPSAN_STATS st{};
  DWORD got = 0;
  sw.proc().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, &st, sizeof st, &got, nullptr, nullptr, nullptr, &e);
  std::printf("%s: %u messages each way and RDMA; frames tx %llu rx %llu, %llu retransmits, %llu duplicates "
              "and %llu bad frames dropped\n", role.c_str(), n, (unsigned long long)st.packets_tx,
              (unsigned long long)st.packets_rx, (unsigned long long)st.retransmits,
              (unsigned long long)st.drops_duplicate, (unsigned long long)st.drops_bad_packet);
  sw.proc().lpWSPCloseSocket(s, &e);
  if (int rc = sw.cleanup(); rc != 0) return fail("WSPCleanup: " + std::to_string(rc));
  return 0;
}
