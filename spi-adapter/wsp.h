/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The provider's SPI functions, declared through the pinned typedefs so that a signature that
 * drifts from <dpsan/ws2spi.h> fails to compile or link. Reached only through WSPPROC_TABLE and
 * SIO_GET_EXTENSION_FUNCTION_POINTER (R1).
 */
#pragma once

#include <type_traits>

#include <dpsan/ws2san.h>

namespace dpsan::control {
class Instance;
}

namespace dpsan::spi {

#define DPSAN_DECLARE(name, type) std::remove_pointer_t<type> name
DPSAN_DECLARE(WSPAccept, LPWSPACCEPT);
DPSAN_DECLARE(WSPBind, LPWSPBIND);
DPSAN_DECLARE(WSPCleanup, LPWSPCLEANUP);
DPSAN_DECLARE(WSPCloseSocket, LPWSPCLOSESOCKET);
DPSAN_DECLARE(WSPConnect, LPWSPCONNECT);
DPSAN_DECLARE(WSPDuplicateSocket, LPWSPDUPLICATESOCKET);
DPSAN_DECLARE(WSPEnumNetworkEvents, LPWSPENUMNETWORKEVENTS);
DPSAN_DECLARE(WSPEventSelect, LPWSPEVENTSELECT);
DPSAN_DECLARE(WSPGetOverlappedResult, LPWSPGETOVERLAPPEDRESULT);
DPSAN_DECLARE(WSPGetPeerName, LPWSPGETPEERNAME);
DPSAN_DECLARE(WSPGetSockName, LPWSPGETSOCKNAME);
DPSAN_DECLARE(WSPGetSockOpt, LPWSPGETSOCKOPT);
DPSAN_DECLARE(WSPGetQOSByName, LPWSPGETQOSBYNAME);
DPSAN_DECLARE(WSPIoctl, LPWSPIOCTL);
DPSAN_DECLARE(WSPListen, LPWSPLISTEN);
DPSAN_DECLARE(WSPRecv, LPWSPRECV);
DPSAN_DECLARE(WSPSend, LPWSPSEND);
DPSAN_DECLARE(WSPSetSockOpt, LPWSPSETSOCKOPT);
DPSAN_DECLARE(WSPShutdown, LPWSPSHUTDOWN);
DPSAN_DECLARE(WSPSocket, LPWSPSOCKET);
DPSAN_DECLARE(WSPRegisterMemory, LPFN_WSPREGISTERMEMORY);
DPSAN_DECLARE(WSPDeregisterMemory, LPFN_WSPDEREGISTERMEMORY);
DPSAN_DECLARE(WSPRegisterRdmaMemory, LPFN_WSPREGISTERRDMAMEMORY);
DPSAN_DECLARE(WSPDeregisterRdmaMemory, LPFN_WSPDEREGISTERRDMAMEMORY);
DPSAN_DECLARE(WSPRdmaWrite, LPFN_WSPRDMAWRITE);
DPSAN_DECLARE(WSPRdmaRead, LPFN_WSPRDMAREAD);
DPSAN_DECLARE(WSPMemoryRegistrationCacheCallback, LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK);
#undef DPSAN_DECLARE

/** Fill the 30-entry table; the slots the switch never uses answer WSAEOPNOTSUPP (2.13). */
void fill_proc_table(WSPPROC_TABLE* t);

/** SIO_GET_EXTENSION_FUNCTION_POINTER. @return 0 or a WSA code. */
int extension_function(const GUID& id, void** fn);

/** Final cleanup steps 5 and 6 (control::TeardownHooks). */
void close_all_sockets(control::Instance* inst);
/** Install the notifier's close-handle step (a close made inside an upcall). */
void register_close_handler();
void drop_all_registrations(control::Instance* inst);

}  // namespace dpsan::spi
