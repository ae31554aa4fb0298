/* SPDX-License-Identifier: BSD-3-Clause */
// The recording test switch and the fixture helpers (see test_switch.h).

#include "test_switch.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace dpsan_conf {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

const char* up_name(Up k) {
  switch (k) {
    case Up::CloseEvent: return "WPUCloseEvent";
    case Up::CloseSocketHandle: return "WPUCloseSocketHandle";
    case Up::CreateEvent: return "WPUCreateEvent";
    case Up::CreateSocketHandle: return "WPUCreateSocketHandle";
    case Up::FDIsSet: return "WPUFDIsSet";
    case Up::GetProviderPath: return "WPUGetProviderPath";
    case Up::ModifyIFSHandle: return "WPUModifyIFSHandle";
    case Up::PostMessage: return "WPUPostMessage";
    case Up::QueryBlockingCallback: return "WPUQueryBlockingCallback";
    case Up::QuerySocketHandleContext: return "WPUQuerySocketHandleContext";
    case Up::QueueApc: return "WPUQueueApc";
    case Up::ResetEvent: return "WPUResetEvent";
    case Up::SetEvent: return "WPUSetEvent";
    case Up::OpenCurrentThread: return "WPUOpenCurrentThread";
    case Up::CloseThread: return "WPUCloseThread";
    case Up::CompleteOverlappedRequest: return "WPUCompleteOverlappedRequest";
    default: return "?";
  }
}

std::string wsa_name(int err) {
  switch (err) {
    case 0: return "0";
    case WSA_INVALID_HANDLE: return "WSA_INVALID_HANDLE(6)";
    case WSA_OPERATION_ABORTED: return "WSA_OPERATION_ABORTED(995)";
    case WSA_IO_INCOMPLETE: return "WSA_IO_INCOMPLETE(996)";
    case WSA_IO_PENDING: return "WSA_IO_PENDING(997)";
    case WSAEACCES: return "WSAEACCES";
    case WSAEFAULT: return "WSAEFAULT";
    case WSAEINVAL: return "WSAEINVAL";
    case WSAEMFILE: return "WSAEMFILE";
    case WSAEWOULDBLOCK: return "WSAEWOULDBLOCK";
    case WSAEINPROGRESS: return "WSAEINPROGRESS";
    case WSAENOTSOCK: return "WSAENOTSOCK";
    case WSAEMSGSIZE: return "WSAEMSGSIZE";
    case WSAEPROTOTYPE: return "WSAEPROTOTYPE";
    case WSAENOPROTOOPT: return "WSAENOPROTOOPT";
    case WSAEPROTONOSUPPORT: return "WSAEPROTONOSUPPORT";
    case WSAESOCKTNOSUPPORT: return "WSAESOCKTNOSUPPORT";
    case WSAEOPNOTSUPP: return "WSAEOPNOTSUPP";
    case WSAEAFNOSUPPORT: return "WSAEAFNOSUPPORT";
    case WSAEADDRINUSE: return "WSAEADDRINUSE";
    case WSAEADDRNOTAVAIL: return "WSAEADDRNOTAVAIL";
    case WSAENETDOWN: return "WSAENETDOWN";
    case WSAENETRESET: return "WSAENETRESET";
    case WSAECONNABORTED: return "WSAECONNABORTED";
    case WSAECONNRESET: return "WSAECONNRESET";
    case WSAENOBUFS: return "WSAENOBUFS";
    case WSAEISCONN: return "WSAEISCONN";
    case WSAENOTCONN: return "WSAENOTCONN";
    case WSAETIMEDOUT: return "WSAETIMEDOUT";
    case WSAECONNREFUSED: return "WSAECONNREFUSED";
    case WSAEHOSTUNREACH: return "WSAEHOSTUNREACH";
    case WSAEPROCLIM: return "WSAEPROCLIM";
    case WSASYSNOTREADY: return "WSASYSNOTREADY";
    case WSAVERNOTSUPPORTED: return "WSAVERNOTSUPPORTED";
    case WSANOTINITIALISED: return "WSANOTINITIALISED";
    case WSAEDISCON: return "WSAEDISCON";
    case WSAEPROVIDERFAILEDINIT: return "WSAEPROVIDERFAILEDINIT";
    case WSATRY_AGAIN: return "WSATRY_AGAIN";
    default: return "error " + std::to_string(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Upcall trampolines: one set per table, so that R9 can tell which table the provider used.
// ---------------------------------------------------------------------------------------------
namespace {

inline void set_err(LPINT e, int v) {
  if (e != nullptr) *e = v;
}

template <int T>
struct Tramp {
  static BOOL WSPAPI close_event(WSAEVENT, LPINT err) {
    sw().up_unexpected(T, Up::CloseEvent,
                       "Decision 5: events belong to the switch; dpsan never closes one");
    set_err(err, WSA_INVALID_HANDLE);
    return FALSE;
  }
  static int WSPAPI close_socket_handle(SOCKET s, LPINT err) {
    return sw().up_close_socket_handle(T, s, err);
  }
  static WSAEVENT WSPAPI create_event(LPINT err) {
    sw().up_unexpected(T, Up::CreateEvent,
                       "Decision 5: events belong to the switch; dpsan never creates one");
    set_err(err, WSA_NOT_ENOUGH_MEMORY);
    return nullptr;
  }
  static SOCKET WSPAPI create_socket_handle(DWORD cat, DWORD_PTR ctx, LPINT err) {
    return sw().up_create_socket_handle(T, cat, ctx, err);
  }
  static int WSPAPI fd_is_set(SOCKET, void*) {
    sw().up_unexpected(T, Up::FDIsSet, "WPUFDIsSet: WSPSelect is not used by SAN providers");
    return 0;
  }
  static int WSPAPI get_provider_path(GUID*, WCHAR*, LPINT, LPINT err) {
    sw().up_unexpected(T, Up::GetProviderPath, "WPUGetProviderPath: dpsan does not call it");
    set_err(err, WSAEINVAL);
    return SOCKET_ERROR;
  }
  static SOCKET WSPAPI modify_ifs_handle(DWORD, SOCKET, LPINT err) {
    sw().up_unexpected(T, Up::ModifyIFSHandle,
                       "WPUModifyIFSHandle: SAN providers use WPUCreateSocketHandle (R23)");
    set_err(err, WSAEINVAL);
    return INVALID_SOCKET;
  }
  static BOOL WSPAPI post_message(HANDLE, unsigned int, uintptr_t, intptr_t) {
    sw().up_unexpected(T, Up::PostMessage, "WPUPostMessage: WSPAsyncSelect is not used");
    return FALSE;
  }
  static int WSPAPI query_blocking_callback(DWORD, LPBLOCKINGCALLBACK* cb, PDWORD_PTR ctx,
                                            LPINT) {
    // Allowed but of no use (spec 3.2): record it and answer "no callback".
    sw().up_unexpected(T, Up::QueryBlockingCallback, nullptr);
    if (cb != nullptr) *cb = nullptr;
    if (ctx != nullptr) *ctx = 0;
    return 0;
  }
  static int WSPAPI query_context(SOCKET s, PDWORD_PTR ctx, LPINT err) {
    return sw().up_query_context(T, s, ctx, err);
  }
  static int WSPAPI queue_apc(LPWSATHREADID, LPWSAUSERAPC, DWORD_PTR, LPINT err) {
    sw().up_unexpected(T, Up::QueueApc, "R32: completion routines are NULL, no APC is queued");
    set_err(err, WSAEOPNOTSUPP);
    return SOCKET_ERROR;
  }
  static BOOL WSPAPI reset_event(WSAEVENT ev, LPINT err) {
    return sw().up_reset_event(T, ev, err);
  }
  static BOOL WSPAPI set_event(WSAEVENT ev, LPINT err) { return sw().up_set_event(T, ev, err); }
  static int WSPAPI open_current_thread(LPWSATHREADID, LPINT err) {
    sw().up_unexpected(T, Up::OpenCurrentThread, "R32: thread ids are NULL, no APC is queued");
    set_err(err, WSAEOPNOTSUPP);
    return SOCKET_ERROR;
  }
  static int WSPAPI close_thread(LPWSATHREADID, LPINT err) {
    sw().up_unexpected(T, Up::CloseThread, "R32: thread ids are NULL, no APC is queued");
    set_err(err, WSAEOPNOTSUPP);
    return SOCKET_ERROR;
  }
  static int WSPAPI complete(SOCKET s, LPWSAOVERLAPPED ov, DWORD error, DWORD bytes, LPINT err) {
    return sw().up_complete(T, s, ov, error, bytes, err);
  }

  static WSPUPCALLTABLEEX make() {
    WSPUPCALLTABLEEX t{};
    t.lpWPUCloseEvent = close_event;
    t.lpWPUCloseSocketHandle = close_socket_handle;
    t.lpWPUCreateEvent = create_event;
    t.lpWPUCreateSocketHandle = create_socket_handle;
    t.lpWPUFDIsSet = fd_is_set;
    t.lpWPUGetProviderPath = get_provider_path;
    t.lpWPUModifyIFSHandle = modify_ifs_handle;
    t.lpWPUPostMessage = post_message;
    t.lpWPUQueryBlockingCallback = query_blocking_callback;
    t.lpWPUQuerySocketHandleContext = query_context;
    t.lpWPUQueueApc = queue_apc;
    t.lpWPUResetEvent = reset_event;
    t.lpWPUSetEvent = set_event;
    t.lpWPUOpenCurrentThread = open_current_thread;
    t.lpWPUCloseThread = close_thread;
    t.lpWPUCompleteOverlappedRequest = complete;
    return t;
  }
};

std::string hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TestSwitch
// ---------------------------------------------------------------------------------------------

TestSwitch& TestSwitch::get() {
  static TestSwitch* s = new TestSwitch();  // never destroyed: provider threads may outlive main
  return *s;
}

TestSwitch::TestSwitch() {
  tables_[0] = Tramp<0>::make();
  tables_[1] = Tramp<1>::make();
  arena_ = std::make_unique<Arena>();

  // The Microsoft TCP/IP provider's WSAPROTOCOL_INFOW, which the switch passes to
  // WSPStartupEx (R7): ProviderId {E70F1AA0-AB8B-11CF-8CA3-00805F48A192}, a TCP/IP catalog id.
  WSAPROTOCOL_INFOW& p = tcp_info_;
  p.dwServiceFlags1 = 0x00020066;  // XP1_GUARANTEED_DELIVERY|ORDER|GRACEFUL_CLOSE|EXPEDITED|IFS
  p.dwProviderFlags = 0x8;         // PFL_MATCHES_PROTOCOL_ZERO
  p.ProviderId = GUID{0xE70F1AA0, 0xAB8B, 0x11CF, {0x8C, 0xA3, 0x00, 0x80, 0x5F, 0x48, 0xA1, 0x92}};
  p.dwCatalogEntryId = 1001;
  p.ProtocolChain.ChainLen = 1;
  p.iVersion = 2;
  p.iAddressFamily = AF_INET;
  p.iMaxSockAddr = sizeof(sockaddr_in);
  p.iMinSockAddr = sizeof(sockaddr_in);
  p.iSocketType = SOCK_STREAM;
  p.iProtocol = IPPROTO_TCP;
  p.iNetworkByteOrder = 0;  // BIGENDIAN
  p.dwMessageSize = 0;      // stream
  const char16_t name[] = u"MSAFD Tcpip [TCP/IP]";
  std::memcpy(p.szProtocol, name, sizeof(name));
}

TestSwitch::Arena::~Arena() {
  for (auto& b : bufs) std::free(b.first);
}

void TestSwitch::reset() {
  std::lock_guard<std::mutex> lk(mu_);
  records_.clear();
  violations_.clear();
  reported_ = 0;
  handles_.clear();  // handle numbering goes on: a late upcall with an old handle is unknown
  ovs_.clear();
  ov_completions_.clear();
  events_.clear();
  poisoned_ = false;
  hook_.reset();
  old_arena_ = std::move(arena_);  // kept one more test, in case a late writer still holds it
  arena_ = std::make_unique<Arena>();
}

WSPUPCALLTABLEEX* TestSwitch::table(int which) { return &tables_[which == 0 ? 0 : 1]; }

WSAPROTOCOL_INFOW* TestSwitch::tcp_protocol_info() { return &tcp_info_; }

int TestSwitch::startup(WORD version, int table, WSPDATA* data_out, WSPPROC_TABLE* proc_out) {
  WSPDATA data{};
  WSPPROC_TABLE proc{};
  int rc = startup_ex(version, &data, &tcp_info_, this->table(table), &proc);
  if (data_out != nullptr) *data_out = data;
  if (proc_out != nullptr) *proc_out = proc;
  return rc;
}

int TestSwitch::startup_ex(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
                           LPWSPUPCALLTABLEEX table, LPWSPPROC_TABLE proc) {
  int rc = WSPStartupEx(version, data, info, table, proc);
  if (rc == 0) {
    std::lock_guard<std::mutex> lk(mu_);
    if (proc != nullptr && proc->lpWSPCleanup != nullptr) {
      proc_ = *proc;
      have_proc_ = true;
    }
    outstanding_.fetch_add(1);
  }
  return rc;
}

int TestSwitch::cleanup(int* err_out) {
  int err = 0;
  WSPPROC_TABLE p = proc();
  if (p.lpWSPCleanup == nullptr) {
    if (err_out != nullptr) *err_out = WSANOTINITIALISED;
    return SOCKET_ERROR;
  }
  int rc = p.lpWSPCleanup(&err);
  if (err_out != nullptr) *err_out = err;
  if (rc == 0) {
    int cur = outstanding_.load();
    while (cur > 0 && !outstanding_.compare_exchange_weak(cur, cur - 1)) {
    }
  }
  return rc;
}

int TestSwitch::drain() {
  if (!have_proc()) return 0;
  int n = 0;
  for (int i = 0; i < 64; ++i) {
    int err = 0;
    if (proc().lpWSPCleanup(&err) != 0) break;
    ++n;
  }
  outstanding_.store(0);
  return n;
}

bool TestSwitch::have_proc() const {
  std::lock_guard<std::mutex> lk(mu_);
  return have_proc_;
}

WSPPROC_TABLE TestSwitch::proc() const {
  std::lock_guard<std::mutex> lk(mu_);
  return proc_;
}

void TestSwitch::set_poisoned(bool on) {
  std::lock_guard<std::mutex> lk(mu_);
  poisoned_ = on;
}

void TestSwitch::set_complete_hook(CompleteHook hook) {
  std::lock_guard<std::mutex> lk(mu_);
  if (hook)
    hook_ = std::make_shared<CompleteHook>(std::move(hook));
  else
    hook_.reset();
}

WSAOVERLAPPED* TestSwitch::new_ov(Mode m) {
  auto ov = std::make_unique<WSAOVERLAPPED>();
  std::memset(ov.get(), 0, sizeof(WSAOVERLAPPED));
  ov->hEvent = m == Mode::Poll ? reinterpret_cast<WSAEVENT>(uintptr_t{1}) : nullptr;
  WSAOVERLAPPED* p = ov.get();
  std::lock_guard<std::mutex> lk(mu_);
  arena_->ovs.push_back(std::move(ov));
  ovs_.insert(p);
  return p;
}

char* TestSwitch::new_buf(size_t len, int fill) {
  size_t sz = (std::max<size_t>(len, 1) + 4095) & ~size_t{4095};
  char* b = static_cast<char*>(std::aligned_alloc(4096, sz));
  if (b == nullptr) return nullptr;
  std::memset(b, fill, sz);
  std::lock_guard<std::mutex> lk(mu_);
  arena_->bufs.emplace_back(b, sz);
  return b;
}

Event* TestSwitch::new_event() {
  auto ev = std::make_unique<Event>();
  Event* p = ev.get();
  std::lock_guard<std::mutex> lk(mu_);
  arena_->events.push_back(std::move(ev));
  events_.insert(p);
  return p;
}

CondCtx* TestSwitch::new_cond(int verdict) {
  auto c = std::make_unique<CondCtx>();
  c->verdict = verdict;
  CondCtx* p = c.get();
  std::lock_guard<std::mutex> lk(mu_);
  arena_->conds.push_back(std::move(c));
  return p;
}

// ---- recording ------------------------------------------------------------------------------

Record& TestSwitch::push_locked(Up k, int t) {
  Record r;
  r.kind = k;
  r.table = t;
  r.tid = std::this_thread::get_id();
  r.seq = ++seq_;
  r.poisoned = poisoned_;
  records_.push_back(r);
  if (poisoned_) {
    violation_locked(std::string("R19: ") + up_name(k) +
                     " upcall after the final WSPCleanup had returned");
  }
  return records_.back();
}

void TestSwitch::violation_locked(std::string what) {
  violations_.push_back(Violation{seq_, std::move(what)});
}

SOCKET TestSwitch::up_create_socket_handle(int t, DWORD, DWORD_PTR ctx, LPINT) {
  SOCKET h;
  {
    std::lock_guard<std::mutex> lk(mu_);
    h = next_handle_++;
    Record& r = push_locked(Up::CreateSocketHandle, t);
    r.handle = h;
    r.context = ctx;
    handles_[h] = HandleInfo{ctx, true, 0};
  }
  cv_.notify_all();
  return h;
}

int TestSwitch::up_close_socket_handle(int t, SOCKET s, LPINT err) {
  int rc = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Record& r = push_locked(Up::CloseSocketHandle, t);
    r.handle = s;
    uint64_t seq = r.seq;
    auto it = handles_.find(s);
    if (it == handles_.end()) {
      violation_locked("WPUCloseSocketHandle(" + hex(s) +
                       "): not a switch handle (a provider descriptor? R23)");
      set_err(err, WSAENOTSOCK);
      rc = SOCKET_ERROR;
    } else if (!it->second.live) {
      violation_locked("R26: WPUCloseSocketHandle(" + hex(s) + ") a second time");
      set_err(err, WSAENOTSOCK);
      rc = SOCKET_ERROR;
    } else {
      it->second.live = false;
      it->second.close_seq = seq;
    }
  }
  cv_.notify_all();
  return rc;
}

int TestSwitch::up_query_context(int t, SOCKET s, PDWORD_PTR ctx, LPINT err) {
  int rc = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Record& r = push_locked(Up::QuerySocketHandleContext, t);
    r.handle = s;
    auto it = handles_.find(s);
    if (it == handles_.end()) {
      violation_locked("WPUQuerySocketHandleContext(" + hex(s) + "): not a switch handle (R23)");
      set_err(err, WSAENOTSOCK);
      rc = SOCKET_ERROR;
    } else if (!it->second.live) {
      violation_locked("R26: WPUQuerySocketHandleContext(" + hex(s) +
                       ") after its WPUCloseSocketHandle");
      set_err(err, WSAENOTSOCK);
      rc = SOCKET_ERROR;
    } else if (ctx != nullptr) {
      *ctx = it->second.context;
    }
  }
  cv_.notify_all();
  return rc;
}

int TestSwitch::up_complete(int t, SOCKET s, LPWSAOVERLAPPED ov, DWORD error, DWORD bytes,
                            LPINT err) {
  bool known_ov = false;
  bool handle_ok = true;
  Record copy;
  std::shared_ptr<CompleteHook> hook;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Record& r = push_locked(Up::CompleteOverlappedRequest, t);
    r.handle = s;
    r.ov = ov;
    r.error = error;
    r.bytes = bytes;
    auto it = handles_.find(s);
    if (it == handles_.end()) {
      handle_ok = false;
      violation_locked("WPUCompleteOverlappedRequest(" + hex(s) +
                       "): not a switch handle (R23/R35: the provider must pass the handle "
                       "from WPUCreateSocketHandle)");
    } else if (!it->second.live) {
      handle_ok = false;
      violation_locked("R26: WPUCompleteOverlappedRequest(" + hex(s) +
                       ") after its WPUCloseSocketHandle");
    }
    known_ov = ov != nullptr && ovs_.count(ov) != 0;
    if (!known_ov) {
      violation_locked("WPUCompleteOverlappedRequest with an overlapped " +
                       hex(reinterpret_cast<uintptr_t>(ov)) +
                       " this test never posted (stale or foreign; R19)");
    } else {
      r.ov_offset_high =
          std::atomic_ref<DWORD>(ov->OffsetHigh).load(std::memory_order_acquire);
      if ((reinterpret_cast<uintptr_t>(ov->hEvent) & 1u) != 0) {
        violation_locked("R34: WPUCompleteOverlappedRequest for a poll-mode overlapped " +
                         hex(reinterpret_cast<uintptr_t>(ov)));
      }
      if (++ov_completions_[ov] > 1) {
        violation_locked("R35/R12: overlapped " + hex(reinterpret_cast<uintptr_t>(ov)) +
                         " completed more than once (error " + wsa_name(error) + ")");
      }
    }
    copy = r;
    hook = hook_;
  }
  if (hook) (*hook)(copy);
  if (known_ov) {
    // What the real switch does (spec section 4): InternalHigh, then Internal with release.
    std::atomic_ref<ULONG_PTR>(ov->InternalHigh).store(bytes, std::memory_order_relaxed);
    std::atomic_ref<ULONG_PTR>(ov->Internal).store(0, std::memory_order_release);
  }
  cv_.notify_all();
  if (!handle_ok) {
    set_err(err, WSAEINVAL);
    return SOCKET_ERROR;
  }
  return 0;
}

Event* TestSwitch::event_upcall(Up k, int t, WSAEVENT ev, const char* name) {
  Event* e = nullptr;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Record& r = push_locked(k, t);
    r.event = ev;
    if (events_.count(ev) == 0) {
      violation_locked(std::string(name) + "(" + hex(reinterpret_cast<uintptr_t>(ev)) +
                       "): not an event of this test");
    } else {
      e = static_cast<Event*>(ev);
    }
  }
  cv_.notify_all();
  return e;
}

BOOL TestSwitch::up_set_event(int t, WSAEVENT ev, LPINT err) {
  Event* e = event_upcall(Up::SetEvent, t, ev, "WPUSetEvent");
  if (e == nullptr) {
    set_err(err, WSA_INVALID_HANDLE);
    return FALSE;
  }
  {
    std::lock_guard<std::mutex> lk(e->m);
    e->signalled = true;
    ++e->sets;
  }
  e->cv.notify_all();
  return TRUE;
}

BOOL TestSwitch::up_reset_event(int t, WSAEVENT ev, LPINT err) {
  Event* e = event_upcall(Up::ResetEvent, t, ev, "WPUResetEvent");
  if (e == nullptr) {
    set_err(err, WSA_INVALID_HANDLE);
    return FALSE;
  }
  std::lock_guard<std::mutex> lk(e->m);
  e->signalled = false;
  ++e->resets;
  return TRUE;
}

void TestSwitch::up_unexpected(int t, Up k, const char* why) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    push_locked(k, t);
    if (why != nullptr) violation_locked(why);
  }
  cv_.notify_all();
}

// ---- queries --------------------------------------------------------------------------------

std::vector<Record> TestSwitch::records() const {
  std::lock_guard<std::mutex> lk(mu_);
  return records_;
}

std::vector<Record> TestSwitch::records_since(uint64_t seq) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Record> out;
  for (const Record& r : records_)
    if (r.seq > seq) out.push_back(r);
  return out;
}

std::vector<Record> TestSwitch::records_for(SOCKET handle) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Record> out;
  for (const Record& r : records_)
    if (r.handle == handle) out.push_back(r);
  return out;
}

std::vector<Record> TestSwitch::records_of(Up k) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<Record> out;
  for (const Record& r : records_)
    if (r.kind == k) out.push_back(r);
  return out;
}

size_t TestSwitch::count(Up k) const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<size_t>(
      std::count_if(records_.begin(), records_.end(), [&](const Record& r) { return r.kind == k; }));
}

size_t TestSwitch::count(Up k, SOCKET handle) const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<size_t>(std::count_if(records_.begin(), records_.end(), [&](const Record& r) {
    return r.kind == k && r.handle == handle;
  }));
}

size_t TestSwitch::completions_of(const WSAOVERLAPPED* ov) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = ov_completions_.find(ov);
  return it == ov_completions_.end() ? 0 : it->second;
}

std::optional<Record> TestSwitch::completion_for(const WSAOVERLAPPED* ov) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const Record& r : records_)
    if (r.kind == Up::CompleteOverlappedRequest && r.ov == ov) return r;
  return std::nullopt;
}

std::optional<Record> TestSwitch::last_upcall_for(SOCKET handle) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto it = records_.rbegin(); it != records_.rend(); ++it)
    if (it->handle == handle) return *it;
  return std::nullopt;
}

uint64_t TestSwitch::seq() const {
  std::lock_guard<std::mutex> lk(mu_);
  return seq_;
}

bool TestSwitch::wait_for(const std::function<bool(const Record&)>& pred, Ms timeout,
                          uint64_t after) {
  std::unique_lock<std::mutex> lk(mu_);
  auto found = [&] {
    for (auto it = records_.rbegin(); it != records_.rend() && it->seq > after; ++it)
      if (pred(*it)) return true;
    return false;
  };
  return cv_.wait_for(lk, timeout, found);
}

bool TestSwitch::wait_count(Up k, size_t n, Ms timeout) {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, timeout, [&] {
    size_t c = 0;
    for (const Record& r : records_)
      if (r.kind == k) ++c;
    return c >= n;
  });
}

std::vector<SOCKET> TestSwitch::created_by_this_thread_since(uint64_t seq) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<SOCKET> out;
  auto me = std::this_thread::get_id();
  for (const Record& r : records_)
    if (r.seq > seq && r.kind == Up::CreateSocketHandle && r.tid == me) out.push_back(r.handle);
  return out;
}

bool TestSwitch::handle_known(SOCKET h) const {
  std::lock_guard<std::mutex> lk(mu_);
  return handles_.count(h) != 0;
}

bool TestSwitch::handle_live(SOCKET h) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = handles_.find(h);
  return it != handles_.end() && it->second.live;
}

size_t TestSwitch::handles_created() const {
  std::lock_guard<std::mutex> lk(mu_);
  return handles_.size();
}

size_t TestSwitch::handles_live() const {
  std::lock_guard<std::mutex> lk(mu_);
  size_t n = 0;
  for (const auto& [h, info] : handles_)
    if (info.live) ++n;
  return n;
}

std::vector<SOCKET> TestSwitch::all_handles() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<SOCKET> out;
  for (const auto& [h, info] : handles_) out.push_back(h);
  return out;
}

std::vector<Violation> TestSwitch::violations() const {
  std::lock_guard<std::mutex> lk(mu_);
  return violations_;
}

std::string TestSwitch::take_unreported_violations() {
  std::lock_guard<std::mutex> lk(mu_);
  std::ostringstream os;
  size_t shown = 0;
  for (size_t i = reported_; i < violations_.size(); ++i) {
    if (shown++ < 20) os << "  [seq " << violations_[i].seq << "] " << violations_[i].what << "\n";
  }
  if (shown > 20) os << "  ... and " << (shown - 20) << " more\n";
  reported_ = violations_.size();
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// Session and utilities
// ---------------------------------------------------------------------------------------------

Session::Session() {
  sw().drain();
  sw().reset();
}

Session::~Session() {
  sw().set_complete_hook(nullptr);
  sw().set_poisoned(false);
  int n = sw().drain();
  if (n > 0 && !::testing::Test::HasFailure()) {
    ADD_FAILURE() << "the test left " << n << " WSPStartupEx without a matching WSPCleanup";
  }
  expect_no_violations("at the end of the test");
}

void expect_no_violations(const char* where) {
  std::string v = sw().take_unreported_violations();
  EXPECT_TRUE(v.empty()) << "test switch recorded contract violations " << where << ":\n" << v;
}

uint16_t next_port() {
  static std::atomic<uint16_t> port{20000};
  return port.fetch_add(1);
}

sockaddr_in make_addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

bool wait_event(Event* ev, Ms timeout) {
  std::unique_lock<std::mutex> lk(ev->m);
  return ev->cv.wait_for(lk, timeout, [&] { return ev->signalled; });
}

bool event_signalled(Event* ev) {
  std::lock_guard<std::mutex> lk(ev->m);
  return ev->signalled;
}

uint64_t event_sets(Event* ev) {
  std::lock_guard<std::mutex> lk(ev->m);
  return ev->sets;
}

bool run_with_timeout(std::function<void()> fn, Ms timeout) {
  struct State {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
  };
  auto st = std::make_shared<State>();
  std::thread t([st, fn = std::move(fn)] {
    fn();
    {
      std::lock_guard<std::mutex> lk(st->m);
      st->done = true;
    }
    st->cv.notify_all();
  });
  bool ok;
  {
    std::unique_lock<std::mutex> lk(st->m);
    ok = st->cv.wait_for(lk, timeout, [&] { return st->done; });
  }
  if (ok)
    t.join();
  else
    t.detach();
  return ok;
}

int WSPAPI condition_fn(LPWSABUF lpCallerId, LPWSABUF, LPQOS, LPQOS, LPWSABUF, LPWSABUF, GROUP*,
                        DWORD_PTR dwCallbackData) {
  auto* c = reinterpret_cast<CondCtx*>(dwCallbackData);
  if (c == nullptr) return CF_REJECT;
  c->tid = std::this_thread::get_id();
  if (lpCallerId != nullptr && lpCallerId->buf != nullptr &&
      lpCallerId->len >= sizeof(sockaddr_in)) {
    std::memcpy(&c->caller, lpCallerId->buf, sizeof(sockaddr_in));
    c->caller_id_seen = true;
  }
  c->calls.fetch_add(1);
  return c->verdict;
}

void fill_pattern(char* buf, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; ++i)
    buf[i] = static_cast<char>((seed * 131u + i * 7u + (i >> 8) * 13u) & 0xffu);
}

bool check_pattern(const char* buf, size_t len, uint32_t seed) {
  for (size_t i = 0; i < len; ++i)
    if (buf[i] != static_cast<char>((seed * 131u + i * 7u + (i >> 8) * 13u) & 0xffu)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Fixture helpers
// ---------------------------------------------------------------------------------------------

AssertionResult new_socket(Sock* out) {
  uint64_t before = sw().seq();
  int err = 0;
  SOCKET s = P().lpWSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, sw().tcp_protocol_info(), 0,
                             WSA_FLAG_OVERLAPPED, &err);
  if (s == INVALID_SOCKET) return AssertionFailure() << "WSPSocket failed: " << wsa_name(err);
  auto hs = sw().created_by_this_thread_since(before);
  if (hs.size() != 1) {
    return AssertionFailure() << "WSPSocket made " << hs.size()
                              << " WPUCreateSocketHandle upcalls on the calling thread (R23: "
                                 "exactly one, inside WSPSocket)";
  }
  out->s = s;
  out->h = hs[0];
  return AssertionSuccess();
}

AssertionResult open_listener(Listener* out, uint16_t port, int backlog, const char* bind_ip) {
  if (port == 0) port = next_port();
  Sock s;
  AssertionResult r = new_socket(&s);
  if (!r) return r;
  int err = 0;
  sockaddr_in a = make_addr(bind_ip, port);
  if (P().lpWSPBind(s.s, reinterpret_cast<sockaddr*>(&a), sizeof a, &err) != 0)
    return AssertionFailure() << "WSPBind(" << bind_ip << ":" << port
                              << ") failed: " << wsa_name(err);
  if (P().lpWSPListen(s.s, backlog, &err) != 0)
    return AssertionFailure() << "WSPListen failed: " << wsa_name(err);
  Event* ev = sw().new_event();
  if (P().lpWSPEventSelect(s.s, as_wsaevent(ev), FD_ACCEPT, &err) != 0)
    return AssertionFailure() << "WSPEventSelect(FD_ACCEPT) failed: " << wsa_name(err);
  out->sock = s;
  out->ev = ev;
  out->port = port;
  return AssertionSuccess();
}

AssertionResult start_connect(Connector* out, uint16_t port, const char* ip) {
  Sock s;
  AssertionResult r = new_socket(&s);
  if (!r) return r;
  int err = 0;
  sockaddr_in local = make_addr("127.0.0.1", 0);
  if (P().lpWSPBind(s.s, reinterpret_cast<sockaddr*>(&local), sizeof local, &err) != 0)
    return AssertionFailure() << "WSPBind(127.0.0.1:0) failed: " << wsa_name(err);
  Event* ev = sw().new_event();
  if (P().lpWSPEventSelect(s.s, as_wsaevent(ev), FD_CONNECT, &err) != 0)
    return AssertionFailure() << "WSPEventSelect(FD_CONNECT) failed: " << wsa_name(err);
  sockaddr_in peer = make_addr(ip, port);
  err = 0;
  int rc = P().lpWSPConnect(s.s, reinterpret_cast<sockaddr*>(&peer), sizeof peer, nullptr,
                            nullptr, nullptr, nullptr, &err);
  out->sock = s;
  out->ev = ev;
  if (rc != SOCKET_ERROR || err != WSAEWOULDBLOCK)
    return AssertionFailure() << "WSPConnect(" << ip << ":" << port << ") returned " << rc
                              << " / " << wsa_name(err)
                              << ", expected SOCKET_ERROR / WSAEWOULDBLOCK (R45)";
  return AssertionSuccess();
}

AssertionResult wait_connect(Connector& c, int* fd_error, Ms timeout) {
  if (!wait_event(c.ev, timeout))
    return AssertionFailure() << "FD_CONNECT was not signalled within " << timeout.count()
                              << " ms";
  WSANETWORKEVENTS ne{};
  int err = 0;
  if (P().lpWSPEnumNetworkEvents(c.sock.s, as_wsaevent(c.ev), &ne, &err) != 0)
    return AssertionFailure() << "WSPEnumNetworkEvents failed: " << wsa_name(err);
  if ((ne.lNetworkEvents & FD_CONNECT) == 0)
    return AssertionFailure() << "event signalled but WSPEnumNetworkEvents reports 0x" << std::hex
                              << ne.lNetworkEvents << ", no FD_CONNECT";
  *fd_error = ne.iErrorCode[FD_CONNECT_BIT];
  return AssertionSuccess();
}

AssertionResult accept_one(Listener& l, Sock* out, sockaddr_in* peer, Ms timeout) {
  if (!wait_event(l.ev, timeout))
    return AssertionFailure() << "FD_ACCEPT was not signalled within " << timeout.count()
                              << " ms (R48)";
  WSANETWORKEVENTS ne{};
  int err = 0;
  if (P().lpWSPEnumNetworkEvents(l.sock.s, as_wsaevent(l.ev), &ne, &err) != 0)
    return AssertionFailure() << "WSPEnumNetworkEvents failed: " << wsa_name(err);
  if ((ne.lNetworkEvents & FD_ACCEPT) == 0)
    return AssertionFailure() << "event signalled but WSPEnumNetworkEvents reports 0x" << std::hex
                              << ne.lNetworkEvents << ", no FD_ACCEPT (R48)";
  if (ne.iErrorCode[FD_ACCEPT_BIT] != 0)
    return AssertionFailure() << "FD_ACCEPT error " << wsa_name(ne.iErrorCode[FD_ACCEPT_BIT]);
  CondCtx* cond = sw().new_cond(CF_ACCEPT);
  sockaddr_in a{};
  int alen = sizeof a;
  uint64_t before = sw().seq();
  SOCKET s = P().lpWSPAccept(l.sock.s, reinterpret_cast<sockaddr*>(&a), &alen, condition_fn,
                             reinterpret_cast<DWORD_PTR>(cond), &err);
  if (s == INVALID_SOCKET) return AssertionFailure() << "WSPAccept failed: " << wsa_name(err);
  if (cond->calls.load() != 1)
    return AssertionFailure() << "the condition function ran " << cond->calls.load()
                              << " times (R49: exactly once)";
  auto hs = sw().created_by_this_thread_since(before);
  if (hs.size() != 1)
    return AssertionFailure() << "WSPAccept made " << hs.size()
                              << " WPUCreateSocketHandle upcalls on the calling thread (R49)";
  out->s = s;
  out->h = hs[0];
  if (peer != nullptr) *peer = a;
  return AssertionSuccess();
}

AssertionResult connect_pair(Listener& l, Pair* out) {
  AssertionResult r = start_connect(&out->c, l.port);
  if (!r) return r;
  r = accept_one(l, &out->a);
  if (!r) return r;
  int fd_err = -1;
  r = wait_connect(out->c, &fd_err);
  if (!r) return r;
  if (fd_err != 0)
    return AssertionFailure() << "connect completed with " << wsa_name(fd_err) << ", expected 0";
  return AssertionSuccess();
}

AssertionResult close_socket(SOCKET s) {
  int err = 0;
  if (P().lpWSPCloseSocket(s, &err) != 0)
    return AssertionFailure() << "WSPCloseSocket failed: " << wsa_name(err);
  return AssertionSuccess();
}

int get_ext_fn(SOCKET s, const GUID& g, void** fn, int* err, DWORD* returned) {
  GUID guid = g;
  void* out = nullptr;
  DWORD ret = 0;
  int e = 0;
  int rc = P().lpWSPIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &out,
                          sizeof(void*), &ret, nullptr, nullptr, nullptr, &e);
  if (fn != nullptr) *fn = rc == 0 ? out : nullptr;
  if (err != nullptr) *err = e;
  if (returned != nullptr) *returned = ret;
  return rc;
}

AssertionResult load_ext(SOCKET s, Ext* out) {
  static const GUID kReg = WSAID_REGISTERMEMORY, kDereg = WSAID_DEREGISTERMEMORY,
                    kRegRdma = WSAID_REGISTERRDMAMEMORY, kDeregRdma = WSAID_DEREGISTERRDMAMEMORY,
                    kWrite = WSAID_RDMAWRITE, kRead = WSAID_RDMAREAD,
                    kCache = WSAID_MEMORYREGISTRATIONCACHECALLBACK;
  void* fn = nullptr;
  int err = 0;
  if (get_ext_fn(s, kReg, &fn, &err) != 0 || fn == nullptr)
    return AssertionFailure() << "no WSPRegisterMemory pointer: " << wsa_name(err);
  out->reg = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(fn);
  if (get_ext_fn(s, kDereg, &fn, &err) != 0 || fn == nullptr)
    return AssertionFailure() << "no WSPDeregisterMemory pointer: " << wsa_name(err);
  out->dereg = reinterpret_cast<LPFN_WSPDEREGISTERMEMORY>(fn);
  if (get_ext_fn(s, kRegRdma, &fn, &err) == 0)
    out->reg_rdma = reinterpret_cast<LPFN_WSPREGISTERRDMAMEMORY>(fn);
  if (get_ext_fn(s, kDeregRdma, &fn, &err) == 0)
    out->dereg_rdma = reinterpret_cast<LPFN_WSPDEREGISTERRDMAMEMORY>(fn);
  if (get_ext_fn(s, kWrite, &fn, &err) == 0)
    out->rdma_write = reinterpret_cast<LPFN_WSPRDMAWRITE>(fn);
  if (get_ext_fn(s, kRead, &fn, &err) == 0)
    out->rdma_read = reinterpret_cast<LPFN_WSPRDMAREAD>(fn);
  if (get_ext_fn(s, kCache, &fn, &err) == 0)
    out->cache_cb = reinterpret_cast<LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK>(fn);
  return AssertionSuccess();
}

AssertionResult make_region(SOCKET s, size_t len, Region* out, DWORD flags, int fill) {
  static const GUID kReg = WSAID_REGISTERMEMORY;
  void* fn = nullptr;
  int err = 0;
  if (get_ext_fn(s, kReg, &fn, &err) != 0 || fn == nullptr)
    return AssertionFailure() << "no WSPRegisterMemory pointer: " << wsa_name(err);
  char* buf = sw().new_buf(len, fill);
  if (buf == nullptr) return AssertionFailure() << "out of memory for a " << len << " byte buffer";
  err = 0;
  HANDLE h = reinterpret_cast<LPFN_WSPREGISTERMEMORY>(fn)(s, buf, static_cast<DWORD>(len), flags,
                                                          &err);
  if (h == nullptr)
    return AssertionFailure() << "WSPRegisterMemory(" << len << " bytes, flags " << flags
                              << ") failed: " << wsa_name(err);
  out->buf = buf;
  out->len = len;
  out->h = h;
  return AssertionSuccess();
}

namespace {
// Per-operation memory that must outlive the call: the WSABUF array of a send stays valid
// until the send completes (spec 2.9), and the count/flags words are the provider's to write.
struct OpMem {
  WSABUF bufs[16];
  DWORD bytes;
  DWORD flags;
};
std::mutex g_opmem_mu;
std::vector<std::unique_ptr<OpMem>> g_opmem;  // process lifetime (small)

OpMem* new_opmem() {
  auto m = std::make_unique<OpMem>();
  std::memset(m.get(), 0, sizeof(OpMem));
  OpMem* p = m.get();
  std::lock_guard<std::mutex> lk(g_opmem_mu);
  g_opmem.push_back(std::move(m));
  return p;
}
}  // namespace

int post_recv_v(SOCKET s, WSABUF* bufs, DWORD n, WSAOVERLAPPED* ov, int* err) {
  OpMem* m = new_opmem();
  for (DWORD i = 0; i < n && i < 16; ++i) m->bufs[i] = bufs[i];
  int e = 0;
  int rc = P().lpWSPRecv(s, m->bufs, n, &m->bytes, &m->flags, ov, nullptr, nullptr, &e);
  if (err != nullptr) *err = e;
  return rc;
}

int post_send_v(SOCKET s, WSABUF* bufs, DWORD n, WSAOVERLAPPED* ov, int* err, DWORD flags) {
  OpMem* m = new_opmem();
  for (DWORD i = 0; i < n && i < 16; ++i) m->bufs[i] = bufs[i];
  int e = 0;
  int rc = P().lpWSPSend(s, m->bufs, n, &m->bytes, flags, ov, nullptr, nullptr, &e);
  if (err != nullptr) *err = e;
  return rc;
}

int post_recv(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov, int* err) {
  WSABUF b{len, buf};
  return post_recv_v(s, &b, 1, ov, err);
}

int post_send(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov, int* err, DWORD flags) {
  WSABUF b{len, buf};
  return post_send_v(s, &b, 1, ov, err, flags);
}

AssertionResult recv_pending(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov) {
  int err = 0;
  int rc = post_recv(s, buf, len, ov, &err);
  if (rc != SOCKET_ERROR || err != WSA_IO_PENDING)
    return AssertionFailure() << "WSPRecv(" << len << ") returned " << rc << " / "
                              << wsa_name(err) << ", expected SOCKET_ERROR / WSA_IO_PENDING";
  return AssertionSuccess();
}

AssertionResult recvs_pending(SOCKET s, const Region& r, int n, std::vector<WSAOVERLAPPED*>* ovs) {
  for (int i = 0; i < n; ++i) {
    WSAOVERLAPPED* ov = sw().new_ov(i % 2 ? Mode::Poll : Mode::Upcall);
    if (AssertionResult posted = recv_pending(s, r.buf + i * 4096, 4096, ov); !posted)
      return posted << " (receive #" << i << ")";
    ovs->push_back(ov);
  }
  return AssertionSuccess();
}

AssertionResult send_pending(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov) {
  int err = 0;
  int rc = post_send(s, buf, len, ov, &err);
  if (rc != SOCKET_ERROR || err != WSA_IO_PENDING)
    return AssertionFailure() << "WSPSend(" << len << ") returned " << rc << " / "
                              << wsa_name(err) << ", expected SOCKET_ERROR / WSA_IO_PENDING";
  return AssertionSuccess();
}

bool ov_done(const WSAOVERLAPPED* ov) {
  auto* p = const_cast<ULONG_PTR*>(&ov->Internal);
  return std::atomic_ref<ULONG_PTR>(*p).load(std::memory_order_acquire) !=
         WSS_OPERATION_IN_PROGRESS;
}

bool wait_done(const WSAOVERLAPPED* ov, Ms timeout) {
  auto deadline = Clock::now() + timeout;
  while (!ov_done(ov)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

OvResult get_result(SOCKET s, WSAOVERLAPPED* ov, BOOL wait) {
  OvResult r;
  r.ok = P().lpWSPGetOverlappedResult(s, ov, &r.bytes, wait, &r.flags, &r.err);
  return r;
}

AssertionResult wait_result(SOCKET s, WSAOVERLAPPED* ov, OvResult* r, Ms timeout) {
  if (!wait_done(ov, timeout))
    return AssertionFailure() << "operation did not complete within " << timeout.count()
                              << " ms (Internal still WSS_OPERATION_IN_PROGRESS)";
  *r = get_result(s, ov, FALSE);
  return AssertionSuccess();
}

int get_stats_raw(DPSAN_STATS* st, int* err) {
  DWORD ret = 0;
  int e = 0;
  int rc = P().lpWSPIoctl(0, SIO_DPSAN_GET_STATS, nullptr, 0, st, sizeof *st, &ret, nullptr,
                          nullptr, nullptr, &e);
  if (err != nullptr) *err = e;
  return rc;
}

AssertionResult get_stats(DPSAN_STATS* st) {
  int err = 0;
  if (get_stats_raw(st, &err) != 0)
    return AssertionFailure() << "WSPIoctl(SIO_DPSAN_GET_STATS) failed: " << wsa_name(err);
  return AssertionSuccess();
}

AssertionResult get_opt_dword(SOCKET s, int opt, DWORD* v) {
  DWORD val = 0;
  int len = sizeof val;
  int err = 0;
  if (P().lpWSPGetSockOpt(s, SOL_SOCKET, opt, reinterpret_cast<char*>(&val), &len, &err) != 0)
    return AssertionFailure() << "WSPGetSockOpt(" << opt << ") failed: " << wsa_name(err);
  *v = val;
  return AssertionSuccess();
}

AssertionResult check_all_aborted(const std::vector<PendingOp>& ops) {
  std::vector<Record> recs = sw().records();
  std::unordered_map<const WSAOVERLAPPED*, std::vector<size_t>> by_ov;
  std::unordered_map<SOCKET, uint64_t> close_seq;
  for (size_t i = 0; i < recs.size(); ++i) {
    const Record& r = recs[i];
    if (r.kind == Up::CompleteOverlappedRequest) by_ov[r.ov].push_back(i);
    if (r.kind == Up::CloseSocketHandle && close_seq.count(r.handle) == 0)
      close_seq[r.handle] = r.seq;
  }
  size_t bad = 0;
  std::ostringstream os;
  auto fail = [&](size_t i, const std::string& what) {
    if (bad++ < 12) os << "  op #" << i << ": " << what << "\n";
  };
  for (size_t i = 0; i < ops.size(); ++i) {
    const PendingOp& op = ops[i];
    auto it = by_ov.find(op.ov);
    size_t n = it == by_ov.end() ? 0 : it->second.size();
    if (op.mode == Mode::Upcall) {
      if (n != 1) {
        fail(i, "upcall mode, " + std::to_string(n) + " completion upcalls (expected exactly 1)");
        continue;
      }
      const Record& r = recs[it->second[0]];
      if (r.error != WSA_OPERATION_ABORTED)
        fail(i, "completed with " + wsa_name(static_cast<int>(r.error)) +
                    ", expected WSA_OPERATION_ABORTED");
      if (r.bytes != 0) fail(i, "abort reported " + std::to_string(r.bytes) + " bytes, expected 0");
      if (r.handle != op.h) fail(i, "abort upcall used handle " + std::to_string(r.handle) +
                                        ", not the socket's switch handle " + std::to_string(op.h));
      if (r.ov_offset_high != WSA_OPERATION_ABORTED)
        fail(i, "OffsetHigh was " + std::to_string(r.ov_offset_high) +
                    " at upcall time (spec 4: written before the upcall)");
      auto cs = close_seq.find(op.h);
      if (cs != close_seq.end() && r.seq > cs->second)
        fail(i, "abort upcall came after the socket's WPUCloseSocketHandle (R25/R26)");
    } else {
      if (n != 0) fail(i, "poll mode, got " + std::to_string(n) + " completion upcalls (R34)");
      if (!ov_done(op.ov)) {
        fail(i, "poll mode, not completed in place (Internal still in progress)");
        continue;
      }
      if (op.ov->OffsetHigh != WSA_OPERATION_ABORTED)
        fail(i, "poll mode, OffsetHigh " + std::to_string(op.ov->OffsetHigh) + ", expected 995");
      if (op.ov->InternalHigh != 0)
        fail(i, "poll mode, InternalHigh " + std::to_string(op.ov->InternalHigh) + ", expected 0");
    }
  }
  if (bad != 0)
    return AssertionFailure() << bad << " problem(s) over " << ops.size()
                              << " pending operations (Decisions 1/2):\n" << os.str();
  return AssertionSuccess();
}

AssertionResult check_closed_once(const std::vector<SOCKET>& handles) {
  size_t bad = 0;
  std::ostringstream os;
  for (SOCKET h : handles) {
    size_t n = sw().count(Up::CloseSocketHandle, h);
    auto last = sw().last_upcall_for(h);
    std::string what;
    if (n != 1)
      what = std::to_string(n) + " WPUCloseSocketHandle upcalls (expected exactly 1)";
    else if (!last || last->kind != Up::CloseSocketHandle)
      what = std::string("last upcall is ") + (last ? up_name(last->kind) : "none") +
             ", not WPUCloseSocketHandle (R26)";
    if (!what.empty() && bad++ < 12) os << "  handle " << hex(h) << ": " << what << "\n";
  }
  if (bad != 0)
    return AssertionFailure() << bad << " of " << handles.size() << " switch handles:\n" << os.str();
  return AssertionSuccess();
}

AssertionResult make_conn(Conn* out) {
  AssertionResult r = open_listener(&out->l);
  if (!r) return r;
  r = connect_pair(out->l, &out->p);
  if (!r) return r;
  return load_ext(out->c(), &out->ext);
}

}  // namespace dpsan_conf
