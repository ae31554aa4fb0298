/* SPDX-License-Identifier: BSD-3-Clause */
/** @file The WSPPROC_TABLE, and the SAN extension functions by GUID. */
#include <cstring>

#include "validate.h"
#include "wsp.h"

namespace dpsan::spi {

namespace {

// The slots the switch never calls (spec 2.13). They are filled rather than NULL so that a
// direct user gets an error instead of a crash; callers must not rely on either.
int WSPAPI not_supported_int(LPINT lpErrno) { return fail(lpErrno, WSAEOPNOTSUPP); }

INT WSPAPI AddressToString(struct sockaddr*, DWORD, LPWSAPROTOCOL_INFOW, WCHAR*, LPDWORD, LPINT e) {
  return not_supported_int(e);
}
int WSPAPI AsyncSelect(SOCKET, HANDLE, unsigned int, LONG, LPINT e) { return not_supported_int(e); }
int WSPAPI CancelBlockingCall(LPINT e) { return not_supported_int(e); }
SOCKET WSPAPI JoinLeaf(SOCKET, const struct sockaddr*, int, LPWSABUF, LPWSABUF, LPQOS, LPQOS,
                       DWORD, LPINT e) {
  return fail_socket(e, WSAEOPNOTSUPP);
}
int WSPAPI RecvDisconnect(SOCKET, LPWSABUF, LPINT e) { return not_supported_int(e); }
int WSPAPI RecvFrom(SOCKET, LPWSABUF, DWORD, LPDWORD, LPDWORD, struct sockaddr*, LPINT,
                    LPWSAOVERLAPPED, LPWSAOVERLAPPED_COMPLETION_ROUTINE, LPWSATHREADID, LPINT e) {
  return not_supported_int(e);
}
int WSPAPI Select(int, void*, void*, void*, const struct timeval*, LPINT e) {
  return not_supported_int(e);
}
int WSPAPI SendDisconnect(SOCKET, LPWSABUF, LPINT e) { return not_supported_int(e); }
int WSPAPI SendTo(SOCKET, LPWSABUF, DWORD, LPDWORD, DWORD, const struct sockaddr*, int,
                  LPWSAOVERLAPPED, LPWSAOVERLAPPED_COMPLETION_ROUTINE, LPWSATHREADID, LPINT e) {
  return not_supported_int(e);
}
INT WSPAPI StringToAddress(WCHAR*, INT, LPWSAPROTOCOL_INFOW, struct sockaddr*, LPINT, LPINT e) {
  return not_supported_int(e);
}

bool same(const GUID& a, const GUID& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

void fill_proc_table(WSPPROC_TABLE* t) {
  *t = WSPPROC_TABLE{};
  t->lpWSPAccept = WSPAccept;
  t->lpWSPAddressToString = AddressToString;
  t->lpWSPAsyncSelect = AsyncSelect;
  t->lpWSPBind = WSPBind;
  t->lpWSPCancelBlockingCall = CancelBlockingCall;
  t->lpWSPCleanup = WSPCleanup;
  t->lpWSPCloseSocket = WSPCloseSocket;
  t->lpWSPConnect = WSPConnect;
  t->lpWSPDuplicateSocket = WSPDuplicateSocket;
  t->lpWSPEnumNetworkEvents = WSPEnumNetworkEvents;
  t->lpWSPEventSelect = WSPEventSelect;
  t->lpWSPGetOverlappedResult = WSPGetOverlappedResult;
  t->lpWSPGetPeerName = WSPGetPeerName;
  t->lpWSPGetSockName = WSPGetSockName;
  t->lpWSPGetSockOpt = WSPGetSockOpt;
  t->lpWSPGetQOSByName = WSPGetQOSByName;
  t->lpWSPIoctl = WSPIoctl;
  t->lpWSPJoinLeaf = JoinLeaf;
  t->lpWSPListen = WSPListen;
  t->lpWSPRecv = WSPRecv;
  t->lpWSPRecvDisconnect = RecvDisconnect;
  t->lpWSPRecvFrom = RecvFrom;
  t->lpWSPSelect = Select;
  t->lpWSPSend = WSPSend;
  t->lpWSPSendDisconnect = SendDisconnect;
  t->lpWSPSendTo = SendTo;
  t->lpWSPSetSockOpt = WSPSetSockOpt;
  t->lpWSPShutdown = WSPShutdown;
  t->lpWSPSocket = WSPSocket;
  t->lpWSPStringToAddress = StringToAddress;
}

int extension_function(const GUID& id, void** fn) {
  static const GUID reg = WSAID_REGISTERMEMORY, dereg = WSAID_DEREGISTERMEMORY,
                    reg_rdma = WSAID_REGISTERRDMAMEMORY, dereg_rdma = WSAID_DEREGISTERRDMAMEMORY,
                    rdma_write = WSAID_RDMAWRITE, rdma_read = WSAID_RDMAREAD,
                    cache_cb = WSAID_MEMORYREGISTRATIONCACHECALLBACK;
  if (same(id, reg)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPREGISTERMEMORY>(WSPRegisterMemory));
    return 0;
  }
  if (same(id, dereg)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPDEREGISTERMEMORY>(WSPDeregisterMemory));
    return 0;
  }
  if (same(id, reg_rdma)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPREGISTERRDMAMEMORY>(WSPRegisterRdmaMemory));
    return 0;
  }
  if (same(id, dereg_rdma)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPDEREGISTERRDMAMEMORY>(WSPDeregisterRdmaMemory));
    return 0;
  }
  if (same(id, rdma_write)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPRDMAWRITE>(WSPRdmaWrite));
    return 0;
  }
  if (same(id, rdma_read)) {
    *fn = reinterpret_cast<void*>(static_cast<LPFN_WSPRDMAREAD>(WSPRdmaRead));
    return 0;
  }
  if (same(id, cache_cb)) {
    *fn = reinterpret_cast<void*>(
        static_cast<LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK>(WSPMemoryRegistrationCacheCallback));
    return 0;
  }
  return WSAEINVAL;
}

}  // namespace dpsan::spi
