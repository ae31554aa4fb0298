/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * RDMA fixture helpers of the conformance suite (public headers only): a remote region with its
 * descriptor, and one-buffer RdmaWrite / RdmaRead calls. Callers: test threads.
 */
#pragma once

#include "test_switch.h"

namespace dpsan_conf {

/** A buffer registered with WSPRegisterRdmaMemory on `sock`, and the descriptor it got. */
struct RdmaRegion {
  SOCKET sock = INVALID_SOCKET;
  char* buf = nullptr;
  size_t len = 0;
  alignas(8) char desc[128] = {};
  DWORD desc_len = 0;
};

/** Register `len` bytes of a new buffer (filled with `fill`) for remote access on `s`. */
inline ::testing::AssertionResult make_rdma_region(const Ext& ext, SOCKET s, size_t len,
                                                   RdmaRegion* out, DWORD flags = MEM_READWRITE,
                                                   int fill = 0) {
  if (ext.reg_rdma == nullptr) return ::testing::AssertionFailure() << "no WSPRegisterRdmaMemory";
  out->sock = s;
  out->buf = sw().new_buf(len, fill);
  out->len = len;
  out->desc_len = sizeof out->desc;
  int err = 0;
  if (ext.reg_rdma(s, out->buf, static_cast<DWORD>(len), flags, out->desc, &out->desc_len, &err) != 0)
    return ::testing::AssertionFailure() << "WSPRegisterRdmaMemory: " << wsa_name(err);
  return ::testing::AssertionSuccess();
}

/**
 * The set-up most RDMA rules share: startup, a connection k, and `len` bytes that k.a()
 * registers for its peer k.c() to reach. The caller holds the Session.
 */
inline ::testing::AssertionResult rdma_setup(Conn* k, size_t len, RdmaRegion* remote,
                                             DWORD flags = MEM_READWRITE, int fill = 0) {
  if (int rc = sw().startup(); rc != 0) return ::testing::AssertionFailure() << "startup: " << rc;
  if (!make_conn(k)) return ::testing::AssertionFailure() << "no connection";
  return make_rdma_region(k->ext, k->a(), len, remote, flags, fill);
}

/** WSPRdmaWrite of local[0, len) into `remote` at `roff`. Returns the call's value. */
inline int rdma_write(const Ext& ext, SOCKET s, const Region& local, size_t loff, size_t len,
                      const RdmaRegion& remote, DWORD roff, WSAOVERLAPPED* ov, int* err) {
  WSABUFEX b{static_cast<ULONG>(len), local.buf + loff, local.h};
  DWORD n = 0;
  return ext.rdma_write(s, &b, 1, const_cast<char*>(remote.desc), remote.desc_len, roff, &n, 0, ov,
                        nullptr, nullptr, err);
}

/** WSPRdmaRead of `remote` at `roff` into local[loff, loff + len). Returns the call's value. */
inline int rdma_read(const Ext& ext, SOCKET s, const Region& local, size_t loff, size_t len,
                     const RdmaRegion& remote, DWORD roff, WSAOVERLAPPED* ov, int* err) {
  WSABUFEX b{static_cast<ULONG>(len), local.buf + loff, local.h};
  DWORD n = 0;
  return ext.rdma_read(s, &b, 1, const_cast<char*>(remote.desc), remote.desc_len, roff, &n, 0, ov,
                       nullptr, nullptr, err);
}

/** The same, expecting SOCKET_ERROR with WSA_IO_PENDING (Decision 3). */
inline ::testing::AssertionResult write_pending(const Ext& ext, SOCKET s, const Region& local,
                                                size_t loff, size_t len, const RdmaRegion& remote,
                                                DWORD roff, WSAOVERLAPPED* ov) {
  int err = 0;
  int rc = rdma_write(ext, s, local, loff, len, remote, roff, ov, &err);
  if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "WSPRdmaWrite returned " << rc << " " << wsa_name(err);
}
inline ::testing::AssertionResult read_pending(const Ext& ext, SOCKET s, const Region& local,
                                               size_t loff, size_t len, const RdmaRegion& remote,
                                               DWORD roff, WSAOVERLAPPED* ov) {
  int err = 0;
  int rc = rdma_read(ext, s, local, loff, len, remote, roff, ov, &err);
  if (rc == SOCKET_ERROR && err == WSA_IO_PENDING) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "WSPRdmaRead returned " << rc << " " << wsa_name(err);
}

/**
 * A poll-mode WSPRdmaWrite (`write`) or WSPRdmaRead, as rdma_write / rdma_read, waited for
 * (kWait): success if it was pending and then completed without error.
 */
inline ::testing::AssertionResult rdma_completes(bool write, const Ext& ext, SOCKET s,
                                                 const Region& local, size_t loff, size_t len,
                                                 const RdmaRegion& remote, DWORD roff) {
  WSAOVERLAPPED* ov = sw().new_ov(Mode::Poll);
  ::testing::AssertionResult posted = write
                                          ? write_pending(ext, s, local, loff, len, remote, roff, ov)
                                          : read_pending(ext, s, local, loff, len, remote, roff, ov);
  if (!posted) return posted;
  OvResult r;
  if (::testing::AssertionResult waited = wait_result(s, ov, &r); !waited) return waited;
  if (!r.ok)
    return ::testing::AssertionFailure()
           << (write ? "WSPRdmaWrite" : "WSPRdmaRead") << " completed with " << wsa_name(r.err);
  return ::testing::AssertionSuccess();
}
inline ::testing::AssertionResult write_completes(const Ext& ext, SOCKET s, const Region& local,
                                                  size_t loff, size_t len,
                                                  const RdmaRegion& remote, DWORD roff) {
  return rdma_completes(true, ext, s, local, loff, len, remote, roff);
}
inline ::testing::AssertionResult read_completes(const Ext& ext, SOCKET s, const Region& local,
                                                 size_t loff, size_t len, const RdmaRegion& remote,
                                                 DWORD roff) {
  return rdma_completes(false, ext, s, local, loff, len, remote, roff);
}

/** Every byte of [p, p + n) equals `v`. */
inline bool all_bytes(const char* p, size_t n, char v) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != v) return false;
  return true;
}

}  // namespace dpsan_conf
