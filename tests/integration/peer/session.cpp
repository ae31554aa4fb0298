/* SPDX-License-Identifier: BSD-3-Clause */
#include "session.h"

#include <arpa/inet.h>

#include <cstdlib>

namespace dpsan::itest {

namespace {

sockaddr* sa(sockaddr_in* a) { return reinterpret_cast<sockaddr*>(a); }

/** Connect errors that mean "no listener yet" or "no answer yet": worth another try. */
bool retryable(int err) {
  return err == WSAECONNREFUSED || err == WSAECONNRESET || err == WSAETIMEDOUT ||
         err == WSAEHOSTUNREACH || err == WSAENETUNREACH;
}

}  // namespace

bool parse_endpoint(const std::string& s, sockaddr_in* out) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a.sin_addr) != 1) return false;
  char* end = nullptr;
  unsigned long port = std::strtoul(s.c_str() + colon + 1, &end, 10);
  if (end == s.c_str() + colon + 1 || *end != '\0' || port == 0 || port > 65535) return false;
  a.sin_port = htons(static_cast<uint16_t>(port));
  *out = a;
  return true;
}

// --- Acceptor --------------------------------------------------------------------------------

Acceptor::~Acceptor() { close(); }

std::string Acceptor::listen(const sockaddr_in& at, int backlog) {
  int err = 0;
  ev_ = std::make_unique<perf::Event>();
  l_ = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  if (l_ == INVALID_SOCKET) return "WSPSocket (listener): error " + std::to_string(err);
  sockaddr_in a = at;
  if (proc_.lpWSPBind(l_, sa(&a), sizeof a, &err) != 0) return "WSPBind: error " + std::to_string(err);
  if (proc_.lpWSPListen(l_, backlog, &err) != 0) return "WSPListen: error " + std::to_string(err);
  if (proc_.lpWSPEventSelect(l_, ev_.get(), FD_ACCEPT, &err) != 0)
    return "WSPEventSelect(FD_ACCEPT): error " + std::to_string(err);
  return "";
}

std::string Acceptor::step() {
  if (l_ == INVALID_SOCKET || !ev_->set.load(std::memory_order_acquire)) return "";
  int err = 0;
  WSANETWORKEVENTS ne{};
  // Resets the event first (R50), so a request queued after the accepts below signals again.
  if (proc_.lpWSPEnumNetworkEvents(l_, ev_.get(), &ne, &err) != 0)
    return "WSPEnumNetworkEvents: error " + std::to_string(err);
  for (int i = 0; i < 1024; i++) {
    sockaddr_in peer{};
    int len = sizeof peer;
    SOCKET s = proc_.lpWSPAccept(l_, sa(&peer), &len, nullptr, 0, &err);
    if (s == INVALID_SOCKET) {
      if (err == WSAEWOULDBLOCK) break;
      return "WSPAccept: error " + std::to_string(err);
    }
    accepted_.push_back(s);
  }
  return "";
}

void Acceptor::close() {
  if (l_ == INVALID_SOCKET) return;
  int err = 0;
  proc_.lpWSPCloseSocket(l_, &err);
  l_ = INVALID_SOCKET;
}

// --- Dialer ----------------------------------------------------------------------------------

struct Dialer::Slot {
  SOCKET s = INVALID_SOCKET;
  perf::Event ev;
  enum { kIdle, kPending, kConnected, kTaken } state = kIdle;
  Clock::time_point not_before{};
};

Dialer::Dialer(const WSPPROC_TABLE& proc, const sockaddr_in& to, const sockaddr_in& from,
               unsigned n, unsigned parallel)
    : proc_(proc), to_(to), from_(from), parallel_(parallel ? parallel : 1) {
  for (unsigned i = 0; i < n; i++) slots_.push_back(std::make_unique<Slot>());
}

Dialer::~Dialer() {
  // Sockets that never connected are ours to close; connected ones were handed out.
  for (auto& s : slots_) {
    if (s->state == Slot::kPending) {
      int err = 0;
      proc_.lpWSPCloseSocket(s->s, &err);
    }
  }
}

std::vector<std::pair<unsigned, SOCKET>> Dialer::take_connected() {
  std::vector<std::pair<unsigned, SOCKET>> out;
  for (unsigned i = 0; i < slots_.size(); i++) {
    if (slots_[i]->state != Slot::kConnected) continue;
    slots_[i]->state = Slot::kTaken;
    out.emplace_back(i, slots_[i]->s);
  }
  return out;
}

std::string Dialer::start(Slot& s) {
  int err = 0;
  s.ev.set.store(false);
  s.s = proc_.lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, nullptr, 0, WSA_FLAG_OVERLAPPED, &err);
  if (s.s == INVALID_SOCKET) return "WSPSocket: error " + std::to_string(err);
  if (from_.sin_addr.s_addr != 0) {
    sockaddr_in a = from_;
    a.sin_port = 0;
    if (proc_.lpWSPBind(s.s, sa(&a), sizeof a, &err) != 0) return "WSPBind: error " + std::to_string(err);
  }
  if (proc_.lpWSPEventSelect(s.s, &s.ev, FD_CONNECT, &err) != 0)
    return "WSPEventSelect(FD_CONNECT): error " + std::to_string(err);
  sockaddr_in to = to_;
  if (proc_.lpWSPConnect(s.s, sa(&to), sizeof to, nullptr, nullptr, nullptr, nullptr, &err) == 0 ||
      err != WSAEWOULDBLOCK)
    return "WSPConnect: error " + std::to_string(err) + " (expected WSAEWOULDBLOCK, R45)";
  s.state = Slot::kPending;
  return "";
}

std::string Dialer::step(Clock::time_point now) {
  unsigned pending = 0;
  for (auto& s : slots_) pending += s->state == Slot::kPending;
  for (auto& sp : slots_) {
    Slot& s = *sp;
    if (s.state == Slot::kIdle && pending < parallel_ && now >= s.not_before) {
      std::string e = start(s);
      if (!e.empty()) return e;
      pending++;
    } else if (s.state == Slot::kPending && s.ev.set.load(std::memory_order_acquire)) {
      int err = 0;
      WSANETWORKEVENTS ne{};
      if (proc_.lpWSPEnumNetworkEvents(s.s, &s.ev, &ne, &err) != 0)
        return "WSPEnumNetworkEvents: error " + std::to_string(err);
      if (!(ne.lNetworkEvents & FD_CONNECT)) continue;
      int code = ne.iErrorCode[FD_CONNECT_BIT];
      if (code == 0) {
        s.state = Slot::kConnected;
        connected_++;
        pending--;
        continue;
      }
      if (!retryable(code)) return "connect failed: error " + std::to_string(code);
      proc_.lpWSPCloseSocket(s.s, &err);
      s.s = INVALID_SOCKET;
      s.state = Slot::kIdle;
      s.not_before = now + std::chrono::milliseconds(100);
      pending--;
      retries_++;
    }
  }
  return "";
}

}  // namespace dpsan::itest
