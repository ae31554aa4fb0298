/*
 * <dpsan/ws2spi.h> - Winsock 2 service provider interface (SPI) types for dpsan.
 *
 * This is part of the pinned public interface of dpsan (see DESIGN.md, "The public
 * interface"; spec wsd-san-spi.md sections 2 and 7). Switches and tests outside this
 * repository build against it, so names, member order and layouts must not change.
 *
 * It defines, under their Windows names and with Windows layouts on 64-bit Linux:
 * the base types, WSABUF, WSAOVERLAPPED, WSATHREADID, WSPDATA, WSAPROTOCOL_INFOW,
 * WSANETWORKEVENTS, SOCKET_ADDRESS(_LIST), QOS, the LPWSP* entry-point typedefs,
 * WSPPROC_TABLE (30 entries, Windows order), the LPWPU* upcall typedefs, the WSA error
 * codes and the SPI constants. Members that are long/u_long on Windows are 32 bits here.
 * Socket address types, AF_*, SOCK_*, IPPROTO_* and SOL_SOCKET are the platform's own.
 *
 * Usable from C11 and C++17/20. Contains no DPDK type.
 */
#ifndef DPSAN_WS2SPI_H
#define DPSAN_WS2SPI_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#ifndef __cplusplus
#include <uchar.h>
#endif

#ifdef __cplusplus
#define DPSAN_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define DPSAN_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Calling-convention marker of the SPI; empty on Linux. */
#define WSPAPI

/* ------------------------------------------------------------------------ */
/* Base types (spec section 7, "Widths")                                    */
/* ------------------------------------------------------------------------ */

typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef int BOOL;
typedef int INT;
typedef int *LPINT;
typedef int32_t LONG;  /* Windows long: 32 bits */
typedef uint32_t ULONG; /* Windows u_long: 32 bits */
typedef uintptr_t ULONG_PTR;
typedef uintptr_t DWORD_PTR;
typedef size_t SIZE_T;
typedef void *HANDLE;
typedef void *PVOID;
typedef void *LPVOID;
typedef DWORD *LPDWORD;
typedef DWORD_PTR *PDWORD_PTR;
typedef char16_t WCHAR; /* UTF-16 code unit */
typedef uintptr_t SOCKET;
typedef unsigned int GROUP;
typedef HANDLE WSAEVENT;

typedef struct GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#ifndef MAKEWORD
#define MAKEWORD(low, high) ((WORD)(((uint8_t)(low)) | ((WORD)((uint8_t)(high))) << 8))
#endif
#ifndef LOBYTE
#define LOBYTE(w) ((uint8_t)((w) & 0xff))
#endif
#ifndef HIBYTE
#define HIBYTE(w) ((uint8_t)(((w) >> 8) & 0xff))
#endif

#define INVALID_SOCKET (~(SOCKET)0)
#define SOCKET_ERROR (-1)

/* ------------------------------------------------------------------------ */
/* Error codes (spec 2.0.1), Windows values                                 */
/* ------------------------------------------------------------------------ */

#define WSA_INVALID_HANDLE 6
#define WSA_NOT_ENOUGH_MEMORY 8
#define WSA_INVALID_PARAMETER 87
#define WSA_OPERATION_ABORTED 995
#define WSA_IO_INCOMPLETE 996
#define WSA_IO_PENDING 997

#define WSABASEERR 10000
#define WSAEINTR 10004
#define WSAEBADF 10009
#define WSAEACCES 10013
#define WSAEFAULT 10014
#define WSAEINVAL 10022
#define WSAEMFILE 10024
#define WSAEWOULDBLOCK 10035
#define WSAEINPROGRESS 10036
#define WSAEALREADY 10037
#define WSAENOTSOCK 10038
#define WSAEDESTADDRREQ 10039
#define WSAEMSGSIZE 10040
#define WSAEPROTOTYPE 10041
#define WSAENOPROTOOPT 10042
#define WSAEPROTONOSUPPORT 10043
#define WSAESOCKTNOSUPPORT 10044
#define WSAEOPNOTSUPP 10045
#define WSAEPFNOSUPPORT 10046
#define WSAEAFNOSUPPORT 10047
#define WSAEADDRINUSE 10048
#define WSAEADDRNOTAVAIL 10049
#define WSAENETDOWN 10050
#define WSAENETUNREACH 10051
#define WSAENETRESET 10052
#define WSAECONNABORTED 10053
#define WSAECONNRESET 10054
#define WSAENOBUFS 10055
#define WSAEISCONN 10056
#define WSAENOTCONN 10057
#define WSAESHUTDOWN 10058
#define WSAETOOMANYREFS 10059
#define WSAETIMEDOUT 10060
#define WSAECONNREFUSED 10061
#define WSAEHOSTDOWN 10064
#define WSAEHOSTUNREACH 10065
#define WSAEPROCLIM 10067
#define WSASYSNOTREADY 10091
#define WSAVERNOTSUPPORTED 10092
#define WSANOTINITIALISED 10093
#define WSAEDISCON 10101
#define WSAENOMORE 10102
#define WSAECANCELLED 10103
#define WSAEINVALIDPROCTABLE 10104
#define WSAEINVALIDPROVIDER 10105
#define WSAEPROVIDERFAILEDINIT 10106
#define WSATRY_AGAIN 11002

/* ------------------------------------------------------------------------ */
/* Other constants (spec 2.0.2)                                             */
/* ------------------------------------------------------------------------ */

/* WSAOVERLAPPED.Internal while an operation is pending (spec section 4). */
#define WSS_OPERATION_IN_PROGRESS 0x103

#define WSPDESCRIPTION_LEN 255
#define WSAPROTOCOL_LEN 255
#define MAX_PROTOCOL_CHAIN 7

/* Network events (WSPEventSelect / WSPEnumNetworkEvents). */
#define FD_READ_BIT 0
#define FD_READ (1 << FD_READ_BIT)
#define FD_WRITE_BIT 1
#define FD_WRITE (1 << FD_WRITE_BIT)
#define FD_OOB_BIT 2
#define FD_OOB (1 << FD_OOB_BIT)
#define FD_ACCEPT_BIT 3
#define FD_ACCEPT (1 << FD_ACCEPT_BIT)
#define FD_CONNECT_BIT 4
#define FD_CONNECT (1 << FD_CONNECT_BIT)
#define FD_CLOSE_BIT 5
#define FD_CLOSE (1 << FD_CLOSE_BIT)
#define FD_QOS_BIT 6
#define FD_QOS (1 << FD_QOS_BIT)
#define FD_GROUP_QOS_BIT 7
#define FD_GROUP_QOS (1 << FD_GROUP_QOS_BIT)
#define FD_ROUTING_INTERFACE_CHANGE_BIT 8
#define FD_ROUTING_INTERFACE_CHANGE (1 << FD_ROUTING_INTERFACE_CHANGE_BIT)
#define FD_ADDRESS_LIST_CHANGE_BIT 9
#define FD_ADDRESS_LIST_CHANGE (1 << FD_ADDRESS_LIST_CHANGE_BIT)
#define FD_MAX_EVENTS 10
#define FD_ALL_EVENTS ((1 << FD_MAX_EVENTS) - 1)

/* Condition function results (WSPAccept). */
#define CF_ACCEPT 0
#define CF_REJECT 1
#define CF_DEFER 2

/* WSPIoctl control codes. */
#define SIO_GET_EXTENSION_FUNCTION_POINTER 0xC8000006u
#define SIO_ADDRESS_LIST_QUERY 0x48000016u

/* Socket options, used at the platform's SOL_SOCKET level (spec section 7). */
#define SO_MAX_MSG_SIZE 0x2003

/* WSPSocket dwFlags. */
#define WSA_FLAG_OVERLAPPED 0x01

/* WSPShutdown how. */
#define SD_RECEIVE 0
#define SD_SEND 1
#define SD_BOTH 2

#ifndef SOMAXCONN
#define SOMAXCONN 0x7fffffff
#endif

/* ------------------------------------------------------------------------ */
/* Structures                                                               */
/* ------------------------------------------------------------------------ */

typedef struct WSABUF {
    ULONG len; /* 32 bits, as Windows u_long */
    char *buf;
} WSABUF, *LPWSABUF;

/*
 * Overlapped operation record, owned by the caller. Completion protocol (spec section 4):
 * publication order is Offset/OffsetHigh, then InternalHigh, then Internal (release store);
 * a poller loads Internal with acquire semantics and reads the rest only once it is no
 * longer WSS_OPERATION_IN_PROGRESS.
 */
typedef struct WSAOVERLAPPED {
    /* WSS_OPERATION_IN_PROGRESS (0x103) from the moment the provider accepts the
     * operation until it completes; any other value once complete. Written at completion
     * by WPUCompleteOverlappedRequest (upcall mode) or by the provider (poll mode). */
    ULONG_PTR Internal;
    /* Bytes transferred; written just before Internal. */
    ULONG_PTR InternalHigh;
    /* Result flags (e.g. for receives); written by the provider. */
    DWORD Offset;
    /* WSA error code of the operation, 0 on success; written by the provider. */
    DWORD OffsetHigh;
    /* Owned by the switch; the provider reads it and never signals it. Low bit selects
     * the mode: ((uintptr_t)hEvent & 1) == 0 -> upcall mode (complete through
     * WPUCompleteOverlappedRequest), == 1 -> poll mode (write in place, no upcall). */
    WSAEVENT hEvent;
} WSAOVERLAPPED, *LPWSAOVERLAPPED;

typedef void (WSPAPI *LPWSAOVERLAPPED_COMPLETION_ROUTINE)(DWORD dwError, DWORD cbTransferred,
                                                          LPWSAOVERLAPPED lpOverlapped,
                                                          DWORD dwFlags);

typedef struct WSATHREADID {
    HANDLE ThreadHandle;
    DWORD_PTR Reserved;
} WSATHREADID, *LPWSATHREADID;

typedef struct WSPDATA {
    WORD wVersion;
    WORD wHighVersion;
    WCHAR szDescription[WSPDESCRIPTION_LEN + 1];
} WSPDATA, *LPWSPDATA;

typedef struct WSAPROTOCOLCHAIN {
    int ChainLen;
    DWORD ChainEntries[MAX_PROTOCOL_CHAIN];
} WSAPROTOCOLCHAIN, *LPWSAPROTOCOLCHAIN;

typedef struct WSAPROTOCOL_INFOW {
    DWORD dwServiceFlags1;
    DWORD dwServiceFlags2;
    DWORD dwServiceFlags3;
    DWORD dwServiceFlags4;
    DWORD dwProviderFlags;
    GUID ProviderId;
    DWORD dwCatalogEntryId;
    WSAPROTOCOLCHAIN ProtocolChain;
    int iVersion;
    int iAddressFamily;
    int iMaxSockAddr;
    int iMinSockAddr;
    int iSocketType;
    int iProtocol;
    int iProtocolMaxOffset;
    int iNetworkByteOrder;
    int iSecurityScheme;
    DWORD dwMessageSize;
    DWORD dwProviderReserved;
    WCHAR szProtocol[WSAPROTOCOL_LEN + 1];
} WSAPROTOCOL_INFOW, *LPWSAPROTOCOL_INFOW;

typedef struct WSANETWORKEVENTS {
    LONG lNetworkEvents; /* 32 bits, as Windows long */
    int iErrorCode[FD_MAX_EVENTS];
} WSANETWORKEVENTS, *LPWSANETWORKEVENTS;

typedef struct SOCKET_ADDRESS {
    struct sockaddr *lpSockaddr;
    INT iSockaddrLength;
} SOCKET_ADDRESS, *PSOCKET_ADDRESS, *LPSOCKET_ADDRESS;

typedef struct SOCKET_ADDRESS_LIST {
    INT iAddressCount;
    SOCKET_ADDRESS Address[1];
} SOCKET_ADDRESS_LIST, *PSOCKET_ADDRESS_LIST, *LPSOCKET_ADDRESS_LIST;

typedef struct FLOWSPEC {
    ULONG TokenRate;
    ULONG TokenBucketSize;
    ULONG PeakBandwidth;
    ULONG Latency;
    ULONG DelayVariation;
    ULONG ServiceType;
    ULONG MaxSduSize;
    ULONG MinimumPolicedSize;
} FLOWSPEC, *PFLOWSPEC, *LPFLOWSPEC;

typedef struct QOS {
    FLOWSPEC SendingFlowspec;
    FLOWSPEC ReceivingFlowspec;
    WSABUF ProviderSpecific;
} QOS, *LPQOS;

typedef int (WSPAPI *LPCONDITIONPROC)(LPWSABUF lpCallerId, LPWSABUF lpCallerData, LPQOS lpSQOS,
                                      LPQOS lpGQOS, LPWSABUF lpCalleeId, LPWSABUF lpCalleeData,
                                      GROUP *g, DWORD_PTR dwCallbackData);

typedef BOOL (WSPAPI *LPBLOCKINGCALLBACK)(DWORD_PTR dwContext);

typedef void (WSPAPI *LPWSAUSERAPC)(DWORD_PTR dwContext);

/* ------------------------------------------------------------------------ */
/* Provider entry points (LPWSP*), spec sections 2.1-2.15                   */
/* ------------------------------------------------------------------------ */

typedef SOCKET (WSPAPI *LPWSPACCEPT)(SOCKET s, struct sockaddr *addr, LPINT addrlen,
                                     LPCONDITIONPROC lpfnCondition, DWORD_PTR dwCallbackData,
                                     LPINT lpErrno);

typedef INT (WSPAPI *LPWSPADDRESSTOSTRING)(struct sockaddr *lpsaAddress, DWORD dwAddressLength,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           WCHAR *lpszAddressString,
                                           LPDWORD lpdwAddressStringLength, LPINT lpErrno);

typedef int (WSPAPI *LPWSPASYNCSELECT)(SOCKET s, HANDLE hWnd, unsigned int wMsg, LONG lEvent,
                                       LPINT lpErrno);

typedef int (WSPAPI *LPWSPBIND)(SOCKET s, const struct sockaddr *name, int namelen,
                                LPINT lpErrno);

typedef int (WSPAPI *LPWSPCANCELBLOCKINGCALL)(LPINT lpErrno);

typedef int (WSPAPI *LPWSPCLEANUP)(LPINT lpErrno);

typedef int (WSPAPI *LPWSPCLOSESOCKET)(SOCKET s, LPINT lpErrno);

typedef int (WSPAPI *LPWSPCONNECT)(SOCKET s, const struct sockaddr *name, int namelen,
                                   LPWSABUF lpCallerData, LPWSABUF lpCalleeData, LPQOS lpSQOS,
                                   LPQOS lpGQOS, LPINT lpErrno);

typedef int (WSPAPI *LPWSPDUPLICATESOCKET)(SOCKET s, DWORD dwProcessId,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo, LPINT lpErrno);

typedef int (WSPAPI *LPWSPENUMNETWORKEVENTS)(SOCKET s, WSAEVENT hEventObject,
                                             LPWSANETWORKEVENTS lpNetworkEvents, LPINT lpErrno);

typedef int (WSPAPI *LPWSPEVENTSELECT)(SOCKET s, WSAEVENT hEventObject, LONG lNetworkEvents,
                                       LPINT lpErrno);

typedef BOOL (WSPAPI *LPWSPGETOVERLAPPEDRESULT)(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                                LPDWORD lpcbTransfer, BOOL fWait,
                                                LPDWORD lpdwFlags, LPINT lpErrno);

typedef int (WSPAPI *LPWSPGETPEERNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
                                       LPINT lpErrno);

typedef int (WSPAPI *LPWSPGETSOCKNAME)(SOCKET s, struct sockaddr *name, LPINT namelen,
                                       LPINT lpErrno);

typedef int (WSPAPI *LPWSPGETSOCKOPT)(SOCKET s, int level, int optname, char *optval,
                                      LPINT optlen, LPINT lpErrno);

typedef BOOL (WSPAPI *LPWSPGETQOSBYNAME)(SOCKET s, LPWSABUF lpQOSName, LPQOS lpQOS,
                                         LPINT lpErrno);

typedef int (WSPAPI *LPWSPIOCTL)(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer,
                                 DWORD cbInBuffer, LPVOID lpvOutBuffer, DWORD cbOutBuffer,
                                 LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped,
                                 LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                 LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef SOCKET (WSPAPI *LPWSPJOINLEAF)(SOCKET s, const struct sockaddr *name, int namelen,
                                       LPWSABUF lpCallerData, LPWSABUF lpCalleeData,
                                       LPQOS lpSQOS, LPQOS lpGQOS, DWORD dwFlags, LPINT lpErrno);

typedef int (WSPAPI *LPWSPLISTEN)(SOCKET s, int backlog, LPINT lpErrno);

typedef int (WSPAPI *LPWSPRECV)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                                LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPWSPRECVDISCONNECT)(SOCKET s, LPWSABUF lpInboundDisconnectData,
                                          LPINT lpErrno);

typedef int (WSPAPI *LPWSPRECVFROM)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                    LPDWORD lpNumberOfBytesRecvd, LPDWORD lpFlags,
                                    struct sockaddr *lpFrom, LPINT lpFromlen,
                                    LPWSAOVERLAPPED lpOverlapped,
                                    LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                    LPWSATHREADID lpThreadId, LPINT lpErrno);

/* The fd_set arguments are opaque here (the Windows fd_set is not the platform's). */
typedef int (WSPAPI *LPWSPSELECT)(int nfds, void *readfds, void *writefds, void *exceptfds,
                                  const struct timeval *timeout, LPINT lpErrno);

typedef int (WSPAPI *LPWSPSEND)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                                LPWSAOVERLAPPED lpOverlapped,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPWSPSENDDISCONNECT)(SOCKET s, LPWSABUF lpOutboundDisconnectData,
                                          LPINT lpErrno);

typedef int (WSPAPI *LPWSPSENDTO)(SOCKET s, LPWSABUF lpBuffers, DWORD dwBufferCount,
                                  LPDWORD lpNumberOfBytesSent, DWORD dwFlags,
                                  const struct sockaddr *lpTo, int iTolen,
                                  LPWSAOVERLAPPED lpOverlapped,
                                  LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                  LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPWSPSETSOCKOPT)(SOCKET s, int level, int optname, const char *optval,
                                      int optlen, LPINT lpErrno);

typedef int (WSPAPI *LPWSPSHUTDOWN)(SOCKET s, int how, LPINT lpErrno);

typedef SOCKET (WSPAPI *LPWSPSOCKET)(int af, int type, int protocol,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags,
                                     LPINT lpErrno);

typedef INT (WSPAPI *LPWSPSTRINGTOADDRESS)(WCHAR *AddressString, INT AddressFamily,
                                           LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                           struct sockaddr *lpAddress, LPINT lpAddressLength,
                                           LPINT lpErrno);

/* Filled by WSPStartupEx: the 30 entries in Windows order (spec 2.1). */
typedef struct WSPPROC_TABLE {
    LPWSPACCEPT lpWSPAccept;
    LPWSPADDRESSTOSTRING lpWSPAddressToString;
    LPWSPASYNCSELECT lpWSPAsyncSelect;
    LPWSPBIND lpWSPBind;
    LPWSPCANCELBLOCKINGCALL lpWSPCancelBlockingCall;
    LPWSPCLEANUP lpWSPCleanup;
    LPWSPCLOSESOCKET lpWSPCloseSocket;
    LPWSPCONNECT lpWSPConnect;
    LPWSPDUPLICATESOCKET lpWSPDuplicateSocket;
    LPWSPENUMNETWORKEVENTS lpWSPEnumNetworkEvents;
    LPWSPEVENTSELECT lpWSPEventSelect;
    LPWSPGETOVERLAPPEDRESULT lpWSPGetOverlappedResult;
    LPWSPGETPEERNAME lpWSPGetPeerName;
    LPWSPGETSOCKNAME lpWSPGetSockName;
    LPWSPGETSOCKOPT lpWSPGetSockOpt;
    LPWSPGETQOSBYNAME lpWSPGetQOSByName;
    LPWSPIOCTL lpWSPIoctl;
    LPWSPJOINLEAF lpWSPJoinLeaf;
    LPWSPLISTEN lpWSPListen;
    LPWSPRECV lpWSPRecv;
    LPWSPRECVDISCONNECT lpWSPRecvDisconnect;
    LPWSPRECVFROM lpWSPRecvFrom;
    LPWSPSELECT lpWSPSelect;
    LPWSPSEND lpWSPSend;
    LPWSPSENDDISCONNECT lpWSPSendDisconnect;
    LPWSPSENDTO lpWSPSendTo;
    LPWSPSETSOCKOPT lpWSPSetSockOpt;
    LPWSPSHUTDOWN lpWSPShutdown;
    LPWSPSOCKET lpWSPSocket;
    LPWSPSTRINGTOADDRESS lpWSPStringToAddress;
} WSPPROC_TABLE, *LPWSPPROC_TABLE;

/* ------------------------------------------------------------------------ */
/* Switch upcalls (LPWPU*), spec section 3                                  */
/* ------------------------------------------------------------------------ */

typedef BOOL (WSPAPI *LPWPUCLOSEEVENT)(WSAEVENT hEvent, LPINT lpErrno);

typedef int (WSPAPI *LPWPUCLOSESOCKETHANDLE)(SOCKET s, LPINT lpErrno);

typedef WSAEVENT (WSPAPI *LPWPUCREATEEVENT)(LPINT lpErrno);

typedef SOCKET (WSPAPI *LPWPUCREATESOCKETHANDLE)(DWORD dwCatalogEntryId, DWORD_PTR dwContext,
                                                 LPINT lpErrno);

typedef int (WSPAPI *LPWPUFDISSET)(SOCKET s, void *fdset);

typedef int (WSPAPI *LPWPUGETPROVIDERPATH)(GUID *lpProviderId, WCHAR *lpszProviderDllPath,
                                           LPINT lpProviderDllPathLen, LPINT lpErrno);

typedef SOCKET (WSPAPI *LPWPUMODIFYIFSHANDLE)(DWORD dwCatalogEntryId, SOCKET ProposedHandle,
                                              LPINT lpErrno);

typedef BOOL (WSPAPI *LPWPUPOSTMESSAGE)(HANDLE hWnd, unsigned int Msg, uintptr_t wParam,
                                        intptr_t lParam);

typedef int (WSPAPI *LPWPUQUERYBLOCKINGCALLBACK)(DWORD dwCatalogEntryId,
                                                 LPBLOCKINGCALLBACK *lplpfnCallback,
                                                 PDWORD_PTR lpdwContext, LPINT lpErrno);

typedef int (WSPAPI *LPWPUQUERYSOCKETHANDLECONTEXT)(SOCKET s, PDWORD_PTR lpContext,
                                                    LPINT lpErrno);

typedef int (WSPAPI *LPWPUQUEUEAPC)(LPWSATHREADID lpThreadId, LPWSAUSERAPC lpfnUserApc,
                                    DWORD_PTR dwContext, LPINT lpErrno);

typedef BOOL (WSPAPI *LPWPURESETEVENT)(WSAEVENT hEvent, LPINT lpErrno);

typedef BOOL (WSPAPI *LPWPUSETEVENT)(WSAEVENT hEvent, LPINT lpErrno);

typedef int (WSPAPI *LPWPUOPENCURRENTTHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPWPUCLOSETHREAD)(LPWSATHREADID lpThreadId, LPINT lpErrno);

/* Takes the switch handle (from WPUCreateSocketHandle), never a provider descriptor. */
typedef int (WSPAPI *LPWPUCOMPLETEOVERLAPPEDREQUEST)(SOCKET s, LPWSAOVERLAPPED lpOverlapped,
                                                     DWORD dwError, DWORD cbTransferred,
                                                     LPINT lpErrno);

/* ------------------------------------------------------------------------ */
/* Layout checks (64-bit Linux, Windows x64 layouts)                        */
/* ------------------------------------------------------------------------ */

DPSAN_STATIC_ASSERT(sizeof(GUID) == 16, "GUID layout");
DPSAN_STATIC_ASSERT(sizeof(WSABUF) == 16, "WSABUF layout");
DPSAN_STATIC_ASSERT(offsetof(WSAOVERLAPPED, Offset) == 16, "WSAOVERLAPPED layout");
DPSAN_STATIC_ASSERT(sizeof(WSAOVERLAPPED) == 32, "WSAOVERLAPPED layout");
DPSAN_STATIC_ASSERT(sizeof(WSANETWORKEVENTS) == 44, "WSANETWORKEVENTS layout");
DPSAN_STATIC_ASSERT(sizeof(WSPDATA) == 516, "WSPDATA layout");
DPSAN_STATIC_ASSERT(sizeof(WSAPROTOCOL_INFOW) == 628, "WSAPROTOCOL_INFOW layout");
DPSAN_STATIC_ASSERT(sizeof(WSPPROC_TABLE) == 30 * sizeof(void *), "WSPPROC_TABLE layout");

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DPSAN_WS2SPI_H */
