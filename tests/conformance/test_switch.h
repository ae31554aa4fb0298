/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The recording test switch of the conformance suite, and the fixture helpers that build the
 * real switch's call sequences (spec sections 1.4-1.7).
 *
 * Callers: test threads. The upcalls are called by provider threads (the notifier) and by the
 * test thread inside WSPSocket/WSPAccept/WSPEnumNetworkEvents/WSPCloseSocket/WSPCleanup.
 *
 * The switch calls WSPStartupEx directly (linked); it loads nothing dynamically. It supplies
 * two WSPUPCALLTABLEEX tables (0 and 1, for R9) whose upcalls record every call (kind, switch
 * handle, overlapped, error, bytes, thread, monotonic sequence number) under one mutex and check
 * the rules an upcall can break (R19, R23, R26, R34, R35, Decision 5) as *violations*.
 *
 * Memory safety against a provider that breaks R19: every WSAOVERLAPPED, buffer, event and
 * condition-function context a test uses comes from the switch's arena. The arena lives until the
 * test after next starts, and an upcall is checked against the live sets before the switch
 * touches anything, so a late upcall is recorded as a violation instead of corrupting memory.
 *
 * Only the public headers <dpsan/ws2spi.h>, <dpsan/ws2san.h> and <dpsan/dpsan_stats.h> are used.
 */
#pragma once

#include <dpsan/dpsan_stats.h>
#include <dpsan/ws2san.h>
#include <dpsan/ws2spi.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dpsan_conf {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

/** Default bound of every wait in the suite: a wait that runs out fails the test. */
inline constexpr Ms kWait{5000};
/** First value of the switch's own handle name space (never mixed with provider descriptors). */
inline constexpr SOCKET kHandleBase = 0x5000;

/** How an overlapped operation reports completion (spec section 4). */
enum class Mode { Upcall, Poll };

/** The 16 upcalls, in WSPUPCALLTABLEEX order. */
enum class Up : int {
  CloseEvent,
  CloseSocketHandle,
  CreateEvent,
  CreateSocketHandle,
  FDIsSet,
  GetProviderPath,
  ModifyIFSHandle,
  PostMessage,
  QueryBlockingCallback,
  QuerySocketHandleContext,
  QueueApc,
  ResetEvent,
  SetEvent,
  OpenCurrentThread,
  CloseThread,
  CompleteOverlappedRequest,
  kCount
};
const char* up_name(Up k);

/** One recorded upcall. */
struct Record {
  Up kind = Up::kCount;
  int table = -1;                      ///< which upcall table (0 or 1) was used
  SOCKET handle = INVALID_SOCKET;      ///< switch handle (created, closed, completed, queried)
  WSAOVERLAPPED* ov = nullptr;         ///< CompleteOverlappedRequest
  WSAEVENT event = nullptr;            ///< SetEvent / ResetEvent / CloseEvent
  DWORD error = 0;                     ///< CompleteOverlappedRequest dwError
  DWORD bytes = 0;                     ///< CompleteOverlappedRequest cbTransferred
  DWORD ov_offset_high = 0;            ///< ov->OffsetHigh as seen at upcall time
  DWORD_PTR context = 0;               ///< CreateSocketHandle dwContext
  std::thread::id tid;                 ///< calling thread
  uint64_t seq = 0;                    ///< monotonic, 1-based, across all upcalls
  bool poisoned = false;               ///< arrived while the switch was poisoned (R19)
};

struct Violation {
  uint64_t seq;
  std::string what;
};

/** A switch-owned event: what a WSAEVENT points at. Signalled only via WPUSetEvent. */
struct Event {
  std::mutex m;
  std::condition_variable cv;
  bool signalled = false;
  uint64_t sets = 0;
  uint64_t resets = 0;
};

/** The condition function's context (dwCallbackData of WSPAccept). */
struct CondCtx {
  int verdict = CF_ACCEPT;
  std::atomic<int> calls{0};
  std::thread::id tid;
  bool caller_id_seen = false;
  sockaddr_in caller{};
};
/** The condition function handed to WSPAccept; records into the CondCtx. */
int WSPAPI condition_fn(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS, LPQOS lpGQOS,
                        LPWSABUF lpCalleeId, LPWSABUF lpCalleeData, GROUP* g,
                        DWORD_PTR dwCallbackData);

class TestSwitch {
 public:
  static TestSwitch& get();

  // ---- lifecycle -------------------------------------------------------------------------
  /** Forget every record, handle, event and violation; retire the arena. Test thread only,
   *  with the provider fully cleaned up. */
  void reset();
  /** The upcall table `which` (0 or 1). Stable address for the life of the process. */
  WSPUPCALLTABLEEX* table(int which);
  /** The TCP/IP provider's protocol info the switch passes to WSPStartupEx (R7). */
  WSAPROTOCOL_INFOW* tcp_protocol_info();
  /** WSPStartupEx with the given version and table. Returns its value; on success the proc
   *  table is kept (proc()) and the outstanding count rises. */
  int startup(WORD version = MAKEWORD(2, 2), int table = 0, WSPDATA* data_out = nullptr,
              WSPPROC_TABLE* proc_out = nullptr);
  /** WSPStartupEx with exactly these arguments (any may be NULL); bookkeeping as startup(). */
  int startup_ex(WORD version, LPWSPDATA data, LPWSAPROTOCOL_INFOW info,
                 LPWSPUPCALLTABLEEX table, LPWSPPROC_TABLE proc);
  /** proc().lpWSPCleanup; on success the outstanding count falls. Returns its value. */
  int cleanup(int* err_out = nullptr);
  /** Successful startups minus successful cleanups made through this switch. */
  int outstanding() const { return outstanding_.load(); }
  /** Clean up until the provider answers WSANOTINITIALISED (at most 64 calls). Returns the
   *  number of successful cleanups made. */
  int drain();
  bool have_proc() const;
  /** The proc table of the most recent successful startup (a copy). */
  WSPPROC_TABLE proc() const;

  // ---- checks ----------------------------------------------------------------------------
  /** After this, any upcall is a violation (R19). */
  void set_poisoned(bool on);
  using CompleteHook = std::function<void(const Record&)>;
  /** Called inside WPUCompleteOverlappedRequest, after recording and before the switch writes
   *  the overlapped (runs on the provider's notifier thread). nullptr removes it. */
  void set_complete_hook(CompleteHook hook);

  // ---- arena -----------------------------------------------------------------------------
  /** A zeroed overlapped; hEvent = NULL (upcall mode) or (WSAEVENT)1 (poll mode). */
  WSAOVERLAPPED* new_ov(Mode m);
  /** A zero-filled (or `fill`ed), 4 KiB aligned buffer of `len` bytes. */
  char* new_buf(size_t len, int fill = 0);
  /** A new switch-owned event (unsignalled). */
  Event* new_event();
  CondCtx* new_cond(int verdict = CF_ACCEPT);

  // ---- queries ---------------------------------------------------------------------------
  std::vector<Record> records() const;
  std::vector<Record> records_since(uint64_t seq) const;
  std::vector<Record> records_for(SOCKET handle) const;
  std::vector<Record> records_of(Up k) const;
  size_t count(Up k) const;
  size_t count(Up k, SOCKET handle) const;
  /** Number of WPUCompleteOverlappedRequest upcalls for `ov`. */
  size_t completions_of(const WSAOVERLAPPED* ov) const;
  std::optional<Record> completion_for(const WSAOVERLAPPED* ov) const;
  std::optional<Record> last_upcall_for(SOCKET handle) const;
  /** Sequence number of the last upcall recorded so far (0 if none). */
  uint64_t seq() const;
  /** Wait until a record with seq > `after` satisfies `pred`. */
  bool wait_for(const std::function<bool(const Record&)>& pred, Ms timeout, uint64_t after = 0);
  /** Wait until at least `n` upcalls of kind `k` have been recorded. */
  bool wait_count(Up k, size_t n, Ms timeout);
  /** Handles this thread got from WPUCreateSocketHandle after `seq`. */
  std::vector<SOCKET> created_by_this_thread_since(uint64_t seq) const;
  bool handle_known(SOCKET h) const;
  bool handle_live(SOCKET h) const;
  size_t handles_created() const;
  size_t handles_live() const;
  std::vector<SOCKET> all_handles() const;

  std::vector<Violation> violations() const;
  /** Violations not yet reported, as text (marks them reported). */
  std::string take_unreported_violations();

  // ---- the upcalls (called through the per-table trampolines) -----------------------------
  SOCKET up_create_socket_handle(int t, DWORD cat, DWORD_PTR ctx, LPINT err);
  int up_close_socket_handle(int t, SOCKET s, LPINT err);
  int up_query_context(int t, SOCKET s, PDWORD_PTR ctx, LPINT err);
  int up_complete(int t, SOCKET s, LPWSAOVERLAPPED ov, DWORD error, DWORD bytes, LPINT err);
  BOOL up_set_event(int t, WSAEVENT ev, LPINT err);
  BOOL up_reset_event(int t, WSAEVENT ev, LPINT err);
  /** Record a set/reset upcall; @return the test's event, or nullptr (a violation). */
  Event* event_upcall(Up k, int t, WSAEVENT ev, const char* name);
  /** Upcalls dpsan must never make (events, APCs, messages, select, IFS, paths). */
  void up_unexpected(int t, Up k, const char* why);

 private:
  TestSwitch();
  Record& push_locked(Up k, int t);
  void violation_locked(std::string what);

  struct HandleInfo {
    DWORD_PTR context = 0;
    bool live = true;
    uint64_t close_seq = 0;
  };
  struct Arena {
    std::vector<std::unique_ptr<WSAOVERLAPPED>> ovs;
    std::vector<std::unique_ptr<Event>> events;
    std::vector<std::unique_ptr<CondCtx>> conds;
    std::vector<std::pair<char*, size_t>> bufs;
    ~Arena();
  };

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Record> records_;
  std::vector<Violation> violations_;
  size_t reported_ = 0;
  uint64_t seq_ = 0;
  SOCKET next_handle_ = kHandleBase;
  std::map<SOCKET, HandleInfo> handles_;
  std::unordered_set<const WSAOVERLAPPED*> ovs_;
  std::unordered_map<const WSAOVERLAPPED*, size_t> ov_completions_;
  std::unordered_set<const void*> events_;
  bool poisoned_ = false;
  std::shared_ptr<CompleteHook> hook_;
  std::unique_ptr<Arena> arena_, old_arena_;

  WSPUPCALLTABLEEX tables_[2]{};
  WSAPROTOCOL_INFOW tcp_info_{};
  WSPPROC_TABLE proc_{};
  bool have_proc_ = false;
  std::atomic<int> outstanding_{0};
};

inline TestSwitch& sw() { return TestSwitch::get(); }
/** The proc table of the most recent successful startup. */
inline WSPPROC_TABLE P() { return sw().proc(); }

/**
 * Per-test guard: the constructor drains anything a previous test left and resets the switch;
 * the destructor drains any startup the test did not clean up (failing the test if it had not
 * failed already) and reports violations nobody checked.
 */
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

/** Reports (EXPECT) the switch's unreported violations. */
void expect_no_violations(const char* where = "");

// ---- small utilities ---------------------------------------------------------------------
/** A listen port unique in this process (20000, 20001, ...). */
uint16_t next_port();
sockaddr_in make_addr(const char* ip, uint16_t port);
std::string wsa_name(int err);
/** Event helpers (the switch's side; the provider only uses the upcalls). */
bool wait_event(Event* ev, Ms timeout);
bool event_signalled(Event* ev);
/** How many times WPUSetEvent signalled `ev`. */
uint64_t event_sets(Event* ev);
inline WSAEVENT as_wsaevent(Event* ev) { return reinterpret_cast<WSAEVENT>(ev); }

/** Run `fn` on a helper thread and wait at most `timeout` for it; false if it did not return
 *  in time (the helper is then abandoned, detached). */
bool run_with_timeout(std::function<void()> fn, Ms timeout);

// ---- fixture helpers: the switch's call sequences ------------------------------------------
struct Sock {
  SOCKET s = INVALID_SOCKET;  ///< provider descriptor
  SOCKET h = INVALID_SOCKET;  ///< switch handle made for it
};
struct Listener {
  Sock sock;
  Event* ev = nullptr;
  uint16_t port = 0;
};
struct Connector {
  Sock sock;
  Event* ev = nullptr;
};
struct Pair {
  Connector c;  ///< connecting side
  Sock a;       ///< accepted side
};
struct Ext {
  LPFN_WSPREGISTERMEMORY reg = nullptr;
  LPFN_WSPDEREGISTERMEMORY dereg = nullptr;
  LPFN_WSPREGISTERRDMAMEMORY reg_rdma = nullptr;      ///< optional in this milestone
  LPFN_WSPDEREGISTERRDMAMEMORY dereg_rdma = nullptr;  ///< optional in this milestone
  LPFN_WSPRDMAWRITE rdma_write = nullptr;             ///< optional in this milestone
  LPFN_WSPRDMAREAD rdma_read = nullptr;               ///< optional
  LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK cache_cb = nullptr;  ///< optional
};
struct Region {
  char* buf = nullptr;
  size_t len = 0;
  HANDLE h = nullptr;
};
struct OvResult {
  BOOL ok = FALSE;
  DWORD bytes = 0xFFFFFFFFu;
  DWORD flags = 0xFFFFFFFFu;
  int err = 0;
};

/** WSPSocket(AF_INET, SOCK_STREAM, IPPROTO_TCP, WSA_FLAG_OVERLAPPED) and the handle it made. */
::testing::AssertionResult new_socket(Sock* out);
/** WSPSocket, WSPBind(ip:port), WSPListen(backlog), WSPEventSelect(FD_ACCEPT). port 0 picks
 *  next_port(). */
::testing::AssertionResult open_listener(Listener* out, uint16_t port = 0,
                                         int backlog = SOMAXCONN,
                                         const char* bind_ip = "127.0.0.1");
/** WSPSocket, WSPBind(127.0.0.1:0), WSPEventSelect(FD_CONNECT), WSPConnect(ip:port), which
 *  must return SOCKET_ERROR / WSAEWOULDBLOCK. */
::testing::AssertionResult start_connect(Connector* out, uint16_t port,
                                         const char* ip = "127.0.0.1");
/** Wait for the FD_CONNECT signal, WSPEnumNetworkEvents, report iErrorCode[FD_CONNECT_BIT]. */
::testing::AssertionResult wait_connect(Connector& c, int* fd_error, Ms timeout = kWait);
/** Wait for the FD_ACCEPT signal, WSPEnumNetworkEvents (must report FD_ACCEPT), WSPAccept with
 *  a CF_ACCEPT condition function. */
::testing::AssertionResult accept_one(Listener& l, Sock* out, sockaddr_in* peer = nullptr,
                                      Ms timeout = kWait);
/** start_connect + accept_one + wait_connect (result 0). */
::testing::AssertionResult connect_pair(Listener& l, Pair* out);
/** WSPCloseSocket must return 0. */
::testing::AssertionResult close_socket(SOCKET s);

/** WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) for one GUID. Returns the ioctl's value. */
int get_ext_fn(SOCKET s, const GUID& g, void** fn, int* err, DWORD* returned = nullptr);
/** The extension functions; RegisterMemory and DeregisterMemory are required. */
::testing::AssertionResult load_ext(SOCKET s, Ext* out);
/** Register `len` bytes of a new buffer on `s` (flags MEM_*). */
::testing::AssertionResult make_region(SOCKET s, size_t len, Region* out,
                                       DWORD flags = MEM_READWRITE, int fill = 0);

/** WSPRecv / WSPSend of one buffer. Return the entry point's value; *err gets lpErrno. */
int post_recv(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov, int* err);
int post_send(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov, int* err, DWORD flags = 0);
int post_recv_v(SOCKET s, WSABUF* bufs, DWORD n, WSAOVERLAPPED* ov, int* err);
int post_send_v(SOCKET s, WSABUF* bufs, DWORD n, WSAOVERLAPPED* ov, int* err, DWORD flags = 0);
/** The same, expecting SOCKET_ERROR with WSA_IO_PENDING. */
::testing::AssertionResult recv_pending(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov);
::testing::AssertionResult send_pending(SOCKET s, char* buf, ULONG len, WSAOVERLAPPED* ov);

/** Acquire load of Internal != WSS_OPERATION_IN_PROGRESS. */
bool ov_done(const WSAOVERLAPPED* ov);
/** Poll ov_done until true or timeout. */
bool wait_done(const WSAOVERLAPPED* ov, Ms timeout = kWait);
/** WSPGetOverlappedResult with fWait. */
OvResult get_result(SOCKET s, WSAOVERLAPPED* ov, BOOL wait = FALSE);
/** wait_done, then WSPGetOverlappedResult(fWait = FALSE). */
::testing::AssertionResult wait_result(SOCKET s, WSAOVERLAPPED* ov, OvResult* r,
                                       Ms timeout = kWait);

/** WSPIoctl(SIO_DPSAN_GET_STATS). Returns the ioctl's value. */
int get_stats_raw(DPSAN_STATS* st, int* err);
::testing::AssertionResult get_stats(DPSAN_STATS* st);
/** WSPGetSockOpt(SOL_SOCKET, opt) of a DWORD. */
::testing::AssertionResult get_opt_dword(SOCKET s, int opt, DWORD* v);

/** A fully set-up connection: a listener, one connected pair, the extensions. */
struct Conn {
  Listener l;
  Pair p;
  Ext ext;
  SOCKET c() const { return p.c.sock.s; }
  SOCKET a() const { return p.a.s; }
  SOCKET ch() const { return p.c.sock.h; }
  SOCKET ah() const { return p.a.h; }
};
::testing::AssertionResult make_conn(Conn* out);
/** `n` receives of 4 KiB pending on `s`, into pages 0..n-1 of `r` (registered on `s`),
 *  alternately in upcall and poll mode (upcall first); their overlappeds appended in order. */
::testing::AssertionResult recvs_pending(SOCKET s, const Region& r, int n,
                                         std::vector<WSAOVERLAPPED*>* ovs);

/** An operation a test left pending, to be checked after a close or the final cleanup. */
struct PendingOp {
  WSAOVERLAPPED* ov = nullptr;
  SOCKET s = INVALID_SOCKET;  ///< provider descriptor it was posted on
  SOCKET h = INVALID_SOCKET;  ///< that socket's switch handle
  Mode mode = Mode::Upcall;
};
/** Every op was aborted exactly once (Decisions 1 and 2): upcall mode by exactly one
 *  WPUCompleteOverlappedRequest(h, ov, WSA_OPERATION_ABORTED, 0) with OffsetHigh already
 *  written and before h's WPUCloseSocketHandle; poll mode in place (OffsetHigh 995,
 *  InternalHigh 0, Internal done) with no upcall. */
::testing::AssertionResult check_all_aborted(const std::vector<PendingOp>& ops);
/** Each handle got exactly one WPUCloseSocketHandle, and it is the handle's last upcall. */
::testing::AssertionResult check_closed_once(const std::vector<SOCKET>& handles);
/** Sleep helper. */
inline void sleep_ms(int ms) { std::this_thread::sleep_for(Ms(ms)); }

/** Fill `buf` with a pattern derived from `seed`; check_pattern verifies it. */
void fill_pattern(char* buf, size_t len, uint32_t seed);
bool check_pattern(const char* buf, size_t len, uint32_t seed);

}  // namespace dpsan_conf
