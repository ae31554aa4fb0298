/* SPDX-License-Identifier: BSD-3-Clause */
#include "perf_server.h"

#include <cstdio>
#include <poll.h>
#include <thread>
#include <unistd.h>

#include "ops.h"

namespace dpsan::perf {

namespace {

using Clock = std::chrono::steady_clock;

/** Echo `size`-byte messages until the connection ends. Slots 0, 1 receive; 2, 3 send. */
void echo(MiniSwitch& sw, Side& c, uint32_t size) {
  for (unsigned i = 0; i < 2; i++)
    if (post(sw, c, i, size, false)) return;
  for (uint64_t k = 0;; k++) {
    unsigned rx = k & 1, tx = 2 + rx;
    wait(c.ov[rx]);
    if (c.ov[rx].OffsetHigh) return;  // the client closed: the run is over
    if (c.ov[tx].hEvent) wait(c.ov[tx]);
    if (post(sw, c, tx, static_cast<uint32_t>(c.ov[rx].InternalHigh), true) ||
        post(sw, c, rx, size, false))
      return;
  }
}

/** Receive `size`-byte messages, `window` posted, until the connection ends. */
void sink(MiniSwitch& sw, Side& c, uint32_t size) {
  for (unsigned i = 0; i < c.slots; i++)
    if (post(sw, c, i, size, false)) return;
  for (;;)
    for (unsigned i = 0; i < c.slots; i++) {
      if (!done(c.ov[i])) continue;
      if (c.ov[i].OffsetHigh || post(sw, c, i, size, false)) return;
    }
}

/** Offer an RDMA region of window * size bytes, then wait for the connection to end. */
void rdma_target(MiniSwitch& sw, SOCKET s, const Hello& h) {
  std::unique_ptr<char[]> region(new char[static_cast<size_t>(h.size) * h.window]);
  std::string err;
  Side c(sw, s, sizeof(RdmaReply), 2, &err);
  Closer closer{sw, {&c}};
  auto* reply = reinterpret_cast<RdmaReply*>(c.slot(0));
  reply->desc_len = sizeof reply->desc;
  if (err.empty()) err = register_rdma(sw, s, region.get(), h.size * h.window, reply->desc, &reply->desc_len);
  if (!err.empty()) {
    std::fprintf(stderr, "dpsan-perf server: %s\n", err.c_str());
    return;
  }
  if (post(sw, c, 0, sizeof(RdmaReply), true) || post(sw, c, 1, sizeof(RdmaReply), false)) return;
  wait(c.ov[1]);  // completes (aborted) when the client closes
}

/** One connection: read its Hello, serve it. @return false on kQuit. */
bool serve_one(MiniSwitch& sw, SOCKET s) {
  std::string err;
  auto hello = std::make_unique<Side>(sw, s, sizeof(Hello), 1, &err);
  if (!err.empty() || post(sw, *hello, 0, sizeof(Hello), false) || !wait_for(hello->ov[0], 20) ||
      hello->ov[0].OffsetHigh != 0 || hello->ov[0].InternalHigh != sizeof(Hello)) {
    close_and_drain(sw, *hello);
    return true;
  }
  Hello h;
  std::memcpy(&h, hello->slot(0), sizeof h);
  // Valid Hellos only: the size and window bound the memory this process registers.
  bool ok = h.magic == Hello::kMagic && h.size >= 1 && h.size <= (1u << 20) && h.window >= 1 &&
            h.window <= 1024 && static_cast<uint64_t>(h.size) * h.window <= (64u << 20);
  if (!ok || h.mode == ServeMode::kQuit) {
    close_and_drain(sw, *hello);
    return !ok;
  }
  if (h.mode == ServeMode::kRdma) {
    hello.reset();  // the socket stays open: its registration is gone, the new side registers
    rdma_target(sw, s, h);
    return true;
  }
  unsigned slots = h.mode == ServeMode::kPingpong ? 4 : h.window;
  Side c(sw, s, h.size, slots, &err);
  Closer closer{sw, {&c}};
  hello.reset();
  if (!err.empty()) return true;
  if (h.mode == ServeMode::kPingpong) echo(sw, c, h.size);
  else sink(sw, c, h.size);
  return true;
}

}  // namespace

int serve(uint32_t ip, uint16_t port, int ready_fd, int sync_fd) {
  MiniSwitch sw;
  if (int rc = sw.startup()) {
    std::fprintf(stderr, "dpsan-perf server: WSPStartupEx failed: %d\n", rc);
    return 3;
  }
  Event ev;
  SOCKET l = INVALID_SOCKET;
  std::string why = sw.listen(ip, port, &ev, &l);
  if (!why.empty()) {
    std::fprintf(stderr, "dpsan-perf server: %s\n", why.c_str());
    return 3;
  }
  if (write(ready_fd, "ready\n", 6) != 6) return 3;
  close(ready_fd);
  // Bounded: at most 10,000 runs, and a client silent for 120 s is gone.
  for (int runs = 0; runs < 10000; runs++) {
    SOCKET s = INVALID_SOCKET;
    why = sw.accept(l, &ev, 120000, &s);
    if (!why.empty()) {
      std::fprintf(stderr, "dpsan-perf server: %s\n", why.c_str());
      break;
    }
    if (!serve_one(sw, s)) break;
  }
  int e = 0;
  sw.proc().lpWSPCloseSocket(l, &e);
  pollfd p{sync_fd, POLLIN, 0};
  char c;
  while (poll(&p, 1, 20000) == 1 && read(sync_fd, &c, 1) > 0) {
  }
  sw.cleanup();
  return 0;
}

std::string open_run(MiniSwitch& sw, uint32_t server_ip, uint16_t port, uint32_t client_ip,
                     const Hello& hello, SOCKET* s, RdmaReply* reply) {
  auto end = Clock::now() + std::chrono::seconds(20);
  int rc = 0;
  for (;;) {
    Event ev;
    rc = sw.connect_start(server_ip, port, client_ip, &ev, s);
    if (rc == 0) rc = sw.connect_finish(*s, &ev, 3000);
    if (rc == 0) break;
    if (Clock::now() > end) return "connect to the server failed: " + std::to_string(rc);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string err;
  Side c(sw, *s, sizeof(RdmaReply), 2, &err);
  if (!err.empty()) return err;
  std::memcpy(c.slot(0), &hello, sizeof hello);
  bool rdma = hello.mode == ServeMode::kRdma;
  if ((rdma && post(sw, c, 1, sizeof(RdmaReply), false)) || post(sw, c, 0, sizeof hello, true))
    return "cannot send the Hello";
  if (!wait_for(c.ov[0], 10) || c.ov[0].OffsetHigh) return "the Hello was not delivered";
  if (rdma) {
    if (!wait_for(c.ov[1], 10) || c.ov[1].OffsetHigh || c.ov[1].InternalHigh != sizeof(RdmaReply))
      return "no RDMA descriptor from the server";
    std::memcpy(reply, c.slot(1), sizeof *reply);
    if (reply->desc_len > sizeof reply->desc) return "bad RDMA descriptor length";
  }
  return "";
}

}  // namespace dpsan::perf
