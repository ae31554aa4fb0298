/* SPDX-License-Identifier: BSD-3-Clause */
/** @file WSPIoctl, WSPGetSockOpt, WSPSetSockOpt, WSPGetQOSByName, WSPDuplicateSocket. */
#include <cstring>
#include <iterator>

#include <dpsan/dpsan_stats.h>

#include "control/provider.h"
#include "fastpath/poll_core.h"
#include "fastpath/port/port.h"
#include "socket_table.h"
#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

void fill_stats(control::Instance* inst, DPSAN_STATS* out) {
  fastpath::Engine& e = inst->engine();
  DPSAN_STATS st{};
  st.ops_in_flight = e.requests_in_use();
  st.sockets_open = SocketTable::get().open_count();
  st.registrations = e.mrs.live();
  st.mbufs_in_use = rte_mempool_in_use_count(e.mbuf_pool());
  st.pending_upcalls = e.notify.count();
  st.poll_cores = e.core_count();
  for (unsigned i = 0; i < e.core_count(); i++) {
    const fastpath::CoreStats& c = e.core(i).stats();
    st.connections += c.conns.get();
    st.packets_tx += c.packets_tx.get();
    st.packets_rx += c.packets_rx.get();
    st.bytes_tx += c.bytes_tx.get();
    st.bytes_rx += c.bytes_rx.get();
    for (size_t k = 0; k < std::size(c.drops); k++) {
      st.drops_bad_packet += c.drops[k].get();
      if (k < std::size(st.drops_by_reason)) st.drops_by_reason[k] += c.drops[k].get();
    }
    st.drops_not_ours += c.drops_not_ours.get();
    st.arp_rx += c.arp_rx.get();
    st.arp_tx += c.arp_tx.get();
    st.handoffs += c.handoffs.get();
    st.drops_no_conn += c.drops_no_conn.get();
    st.credit_stalls += c.credit_stalls.get();
    st.retransmits += c.retransmits.get();
    st.drops_duplicate += c.drops_duplicate.get();
    st.rdma_registrations += c.rdma_regions.get();
    st.rdma_denied += c.rdma_denied.get();
    st.zerocopy_frames += c.zerocopy_frames.get();
  }
  st.neighbours = e.neighbours.size();
  st.ports = e.port_count();
  for (unsigned i = 0; i < e.port_count(); i++) st.faults_injected += e.port(i)->faults_injected();
  fastpath::RegCache::Stats cs = e.reg_cache.stats();
  st.cache_entries = cs.entries;
  st.cache_hits = cs.hits;
  st.cache_misses = cs.misses;
  st.zerocopy_waiting = e.zc_waiting.load(std::memory_order_relaxed);
  *out = st;
}

int query_stats(LPVOID out, DWORD cb, LPDWORD returned, LPINT lpErrno) {
  if (returned) *returned = sizeof(DPSAN_STATS);
  if (out == nullptr || cb < sizeof(DPSAN_STATS)) return fail(lpErrno, WSAEFAULT);
  DPSAN_STATS st{};
  control::CallGuard guard;
  if (control::Instance* inst = guard.instance()) {
    fill_stats(inst, &st);
  } else if (control::Instance* dying = control::Provider::get().pin_teardown()) {
    // During the final cleanup (e.g. inside an abort upcall) the instance is still whole.
    fill_stats(dying, &st);
    control::Provider::get().unpin_teardown();
  } else {
    return fail(lpErrno, no_instance_code(guard, WSANOTINITIALISED));
  }
  std::memcpy(out, &st, sizeof st);
  return 0;
}

int address_list(control::Instance* inst, LPVOID out, DWORD cb, LPDWORD returned, LPINT lpErrno) {
  // SOCKET_ADDRESS_LIST with one entry per served address, then the sockaddr_in they point to,
  // all in the caller's buffer (R53).
  const auto& ports = inst->config().ports;
  size_t n = ports.size();
  size_t list_len = offsetof(SOCKET_ADDRESS_LIST, Address) + n * sizeof(SOCKET_ADDRESS);
  size_t need = list_len + n * sizeof(sockaddr_in);
  if (returned) *returned = static_cast<DWORD>(need);
  if (out == nullptr || cb < need) return fail(lpErrno, WSAEFAULT);
  auto* list = static_cast<SOCKET_ADDRESS_LIST*>(out);
  auto* sins = reinterpret_cast<sockaddr_in*>(static_cast<char*>(out) + list_len);
  list->iAddressCount = static_cast<INT>(n);
  for (size_t i = 0; i < n; i++) {
    sins[i] = sockaddr_in{};
    sins[i].sin_family = AF_INET;
    sins[i].sin_addr.s_addr = ports[i].ipv4;
    list->Address[i].lpSockaddr = reinterpret_cast<struct sockaddr*>(&sins[i]);
    list->Address[i].iSockaddrLength = sizeof(sockaddr_in);
  }
  return 0;
}

}  // namespace

int WSPIoctl(SOCKET sock, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer,
             LPVOID lpvOutBuffer, DWORD cbOutBuffer, LPDWORD lpcbBytesReturned,
             LPWSAOVERLAPPED lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
             LPWSATHREADID lpThreadId, LPINT lpErrno) {
  (void)lpOverlapped;  // both codes complete at once
  (void)lpCompletionRoutine;
  (void)lpThreadId;
  if (dwIoControlCode == SIO_GET_EXTENSION_FUNCTION_POINTER) {
    // Served before the socket is looked at: the switch may pass one that is not valid yet.
    if (lpvInBuffer == nullptr || cbInBuffer < sizeof(GUID) || lpvOutBuffer == nullptr ||
        cbOutBuffer < sizeof(void*))
      return fail(lpErrno, WSAEFAULT);
    GUID id;
    std::memcpy(&id, lpvInBuffer, sizeof id);
    void* fn = nullptr;
    if (int rc = extension_function(id, &fn)) return fail(lpErrno, rc);  // R54
    std::memcpy(lpvOutBuffer, &fn, sizeof fn);
    if (lpcbBytesReturned) *lpcbBytesReturned = sizeof fn;
    return 0;
  }
  if (dwIoControlCode == SIO_DPSAN_GET_STATS)
    return query_stats(lpvOutBuffer, cbOutBuffer, lpcbBytesReturned, lpErrno);

  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  control::Instance* inst = guard.instance();
  if (inst == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (dwIoControlCode == SIO_ADDRESS_LIST_QUERY)
    return address_list(inst, lpvOutBuffer, cbOutBuffer, lpcbBytesReturned, lpErrno);
  return fail(lpErrno, WSAEINVAL);  // QoS and everything else: not supported here
}

int WSPGetSockOpt(SOCKET sock, int level, int optname, char* optval, LPINT optlen, LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  if (guard.instance() == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (level != SOL_SOCKET) return fail(lpErrno, WSAENOPROTOOPT);  // R56
  DWORD value;
  switch (optname) {
    case SO_MAX_MSG_SIZE: value = kMaxMsgSize; break;             // R42
    case SO_MAX_RDMA_SIZE: value = kMaxRdmaSize; break;
    case SO_RDMA_THRESHOLD_SIZE: value = kRdmaThreshold; break;   // R43
    case SO_DEBUG: {
      std::lock_guard<std::mutex> lk(s->mu);
      value = static_cast<DWORD>(s->so_debug);
      break;
    }
    default: return fail(lpErrno, WSAENOPROTOOPT);
  }
  if (optval == nullptr || optlen == nullptr || *optlen < static_cast<int>(sizeof value))
    return fail(lpErrno, WSAEFAULT);
  std::memcpy(optval, &value, sizeof value);
  *optlen = sizeof value;
  return 0;
}

int WSPSetSockOpt(SOCKET sock, int level, int optname, const char* optval, int optlen,
                  LPINT lpErrno) {
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  if (guard.instance() == nullptr) return fail(lpErrno, no_instance_code(guard, WSAENOTSOCK));
  if (level != SOL_SOCKET || optname != SO_DEBUG) return fail(lpErrno, WSAENOPROTOOPT);  // R56
  if (optval == nullptr || optlen < static_cast<int>(sizeof(int))) return fail(lpErrno, WSAEFAULT);
  int v;
  std::memcpy(&v, optval, sizeof v);
  std::lock_guard<std::mutex> lk(s->mu);
  s->so_debug = v != 0;
  return 0;
}

BOOL WSPGetQOSByName(SOCKET sock, LPWSABUF lpQOSName, LPQOS lpQOS, LPINT lpErrno) {
  (void)sock;
  (void)lpQOSName;
  (void)lpQOS;
  fail(lpErrno, WSAEOPNOTSUPP);  // R55: no QoS
  return FALSE;
}

int WSPDuplicateSocket(SOCKET sock, DWORD dwProcessId, LPWSAPROTOCOL_INFOW lpProtocolInfo,
                       LPINT lpErrno) {
  (void)dwProcessId;
  (void)lpProtocolInfo;
  control::CallGuard guard;
  SocketRef s(sock);
  if (!s) return fail(lpErrno, WSAENOTSOCK);
  return fail(lpErrno, WSAEOPNOTSUPP);  // not yet (README "Status")
}

}  // namespace dpsan::spi
