/*
 * <dpsan/ws2san.h> - Windows Sockets Direct SAN service provider extensions for dpsan.
 *
 * This is part of the pinned public interface of dpsan (see DESIGN.md, "The public
 * interface"; spec wsd-san-spi.md sections 2.0.2-2.0.3, 2.1, 2.16, 2.17, 3 and 7).
 * Switches and tests outside this repository build against it, so names, member order
 * and layouts must not change.
 *
 * It adds to <dpsan/ws2spi.h>: WSABUFEX, the SAN socket options and MEM_* flags, the
 * WSAID_* extension GUIDs and LPFN_WSP* typedefs reached through
 * WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER), the upcall table WSPUPCALLTABLEEX
 * (16 entries, Windows order), and WSPStartupEx, the single exported entry point of
 * libdpsan (C linkage).
 *
 * Usable from C11 and C++17/20. Contains no DPDK type.
 */
#ifndef DPSAN_WS2SAN_H
#define DPSAN_WS2SAN_H

#include <dpsan/ws2spi.h>

#ifndef DPSAN_EXPORT
#if defined(__GNUC__) || defined(__clang__)
#define DPSAN_EXPORT __attribute__((visibility("default")))
#else
#define DPSAN_EXPORT
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Constants (spec 2.0.2)                                                   */
/* ------------------------------------------------------------------------ */

/* Socket options (WSPGetSockOpt, platform SOL_SOCKET level). */
#define SO_MAX_RDMA_SIZE 0x700D
#define SO_RDMA_THRESHOLD_SIZE 0x700E

/* Memory registration access flags (dwFlags of the registration extensions). */
#define MEM_READ 1
#define MEM_WRITE 2
#define MEM_READWRITE 3

/* ------------------------------------------------------------------------ */
/* Extension function GUIDs (spec 2.0.3), for                               */
/* WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER). Usage:                     */
/*     GUID g = WSAID_RDMAWRITE;                                            */
/* ------------------------------------------------------------------------ */

#define WSAID_REGISTERMEMORY \
    {0xC0B422F5, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
#define WSAID_DEREGISTERMEMORY \
    {0xC0B422F6, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
#define WSAID_REGISTERRDMAMEMORY \
    {0xC0B422F7, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
#define WSAID_DEREGISTERRDMAMEMORY \
    {0xC0B422F8, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
#define WSAID_RDMAWRITE \
    {0xC0B422F9, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
/* Optional: the provider answers WSAEOPNOTSUPP when unsupported. */
#define WSAID_RDMAREAD \
    {0xC0B422FA, 0xF58C, 0x11d1, {0xAD, 0x6C, 0x00, 0xC0, 0x4F, 0xA3, 0x4A, 0x2D}}
/* Optional: the provider answers WSAEOPNOTSUPP when unsupported. */
#define WSAID_MEMORYREGISTRATIONCACHECALLBACK \
    {0xE5DA4AF8, 0xD824, 0x48CD, {0xA7, 0x99, 0x63, 0x37, 0xA9, 0x8E, 0xD2, 0xAF}}

/* ------------------------------------------------------------------------ */
/* Structures                                                               */
/* ------------------------------------------------------------------------ */

/* Local buffer of an RDMA operation; handle comes from WSPRegisterMemory (spec 2.17). */
typedef struct WSABUFEX {
    ULONG len; /* 32 bits, as Windows u_long */
    char *buf;
    HANDLE handle;
} WSABUFEX, *LPWSABUFEX;

/* ------------------------------------------------------------------------ */
/* SAN extension functions (spec 2.16, 2.17)                                */
/* ------------------------------------------------------------------------ */

typedef HANDLE (WSPAPI *LPFN_WSPREGISTERMEMORY)(SOCKET s, PVOID lpBuffer, DWORD dwBufferLength,
                                                DWORD dwFlags, LPINT lpErrno);

typedef int (WSPAPI *LPFN_WSPDEREGISTERMEMORY)(SOCKET s, HANDLE handle, LPINT lpErrno);

/* Returns BOOL here as in Windows ws2san.h (the prototype there returns int); the value
 * follows the int convention: 0 on success, SOCKET_ERROR on failure (spec 2.16). */
typedef BOOL (WSPAPI *LPFN_WSPREGISTERRDMAMEMORY)(SOCKET s, PVOID lpBuffer,
                                                  DWORD dwBufferLength, DWORD dwFlags,
                                                  LPVOID lpRdmaBufferDescriptor,
                                                  LPDWORD lpdwDescriptorLength, LPINT lpErrno);

typedef int (WSPAPI *LPFN_WSPDEREGISTERRDMAMEMORY)(SOCKET s, LPVOID lpRdmaBufferDescriptor,
                                                   DWORD dwDescriptorLength, LPINT lpErrno);

typedef int (WSPAPI *LPFN_WSPRDMAWRITE)(SOCKET s, LPWSABUFEX lpBuffers, DWORD dwBufferCount,
                                        LPVOID lpTargetBufferDescriptor,
                                        DWORD dwTargetDescriptorLength,
                                        DWORD dwTargetBufferOffset,
                                        LPDWORD lpdwNumberOfBytesWritten, DWORD dwFlags,
                                        LPWSAOVERLAPPED lpOverlapped,
                                        LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                        LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPFN_WSPRDMAREAD)(SOCKET s, LPWSABUFEX lpBuffers, DWORD dwBufferCount,
                                       LPVOID lpTargetBufferDescriptor,
                                       DWORD dwTargetDescriptorLength,
                                       DWORD dwTargetBufferOffset,
                                       LPDWORD lpdwNumberOfBytesRead, DWORD dwFlags,
                                       LPWSAOVERLAPPED lpOverlapped,
                                       LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine,
                                       LPWSATHREADID lpThreadId, LPINT lpErrno);

typedef int (WSPAPI *LPFN_WSPMEMORYREGISTRATIONCACHECALLBACK)(LPVOID lpvAddress, SIZE_T Size,
                                                              LPINT lpErrno);

/* ------------------------------------------------------------------------ */
/* Upcall table (spec 3.1): the 16 members in Windows order                 */
/* ------------------------------------------------------------------------ */

typedef struct WSPUPCALLTABLEEX {
    LPWPUCLOSEEVENT lpWPUCloseEvent;
    LPWPUCLOSESOCKETHANDLE lpWPUCloseSocketHandle;
    LPWPUCREATEEVENT lpWPUCreateEvent;
    LPWPUCREATESOCKETHANDLE lpWPUCreateSocketHandle;
    LPWPUFDISSET lpWPUFDIsSet;
    LPWPUGETPROVIDERPATH lpWPUGetProviderPath;
    LPWPUMODIFYIFSHANDLE lpWPUModifyIFSHandle;
    LPWPUPOSTMESSAGE lpWPUPostMessage;
    LPWPUQUERYBLOCKINGCALLBACK lpWPUQueryBlockingCallback;
    LPWPUQUERYSOCKETHANDLECONTEXT lpWPUQuerySocketHandleContext;
    LPWPUQUEUEAPC lpWPUQueueApc;
    LPWPURESETEVENT lpWPUResetEvent;
    LPWPUSETEVENT lpWPUSetEvent;
    LPWPUOPENCURRENTTHREAD lpWPUOpenCurrentThread;
    LPWPUCLOSETHREAD lpWPUCloseThread;
    LPWPUCOMPLETEOVERLAPPEDREQUEST lpWPUCompleteOverlappedRequest;
} WSPUPCALLTABLEEX, *LPWSPUPCALLTABLEEX;

DPSAN_STATIC_ASSERT(sizeof(WSABUFEX) == 24, "WSABUFEX layout");
DPSAN_STATIC_ASSERT(sizeof(WSPUPCALLTABLEEX) == 16 * sizeof(void *), "WSPUPCALLTABLEEX layout");

/* ------------------------------------------------------------------------ */
/* The exported entry point (spec 2.1)                                      */
/* ------------------------------------------------------------------------ */

typedef int (WSPAPI *LPWSPSTARTUPEX)(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                     LPWSPUPCALLTABLEEX lpUpcallTable,
                                     LPWSPPROC_TABLE lpProcTable);

/*
 * Starts (or counts another start of) the provider. Returns 0 or the WSA error code
 * itself (WSASYSNOTREADY, WSAVERNOTSUPPORTED, WSAEPROCLIM, WSAEFAULT). Requires
 * wVersionRequested >= MAKEWORD(2,2); reports 2.2. The most recently supplied upcall
 * table is the one used.
 */
DPSAN_EXPORT int WSPAPI WSPStartupEx(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                     LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                     LPWSPUPCALLTABLEEX lpUpcallTable,
                                     LPWSPPROC_TABLE lpProcTable);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DPSAN_WS2SAN_H */
