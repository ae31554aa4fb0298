/* SPDX-License-Identifier: BSD-3-Clause */
// R60: WSPRegisterMemory returns NULL with WSAEINVAL for invalid flags and NULL with
// WSAENOTCONN on an unconnected socket. Provider decisions: a NULL buffer, unmapped memory, or
// memory whose protection does not allow the access the flags grant (a receive or a peer's
// write into a read-only page would fault inside the provider) -> WSAEFAULT (spec 2.16).

#include <sys/mman.h>
#include <unistd.h>

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R60_RegisterMemoryErrors) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  char* buf = sw().new_buf(8192);
  int err = 0;
  // Invalid flags.
  for (DWORD f : {DWORD{0}, DWORD{4}, DWORD{7}, DWORD{0x80000001u}}) {
    err = 0;
    EXPECT_EQ(k.ext.reg(k.c(), buf, 4096, f, &err), nullptr) << "flags " << f;
    EXPECT_EQ(err, WSAEINVAL) << "flags " << f << ": " << wsa_name(err);
  }
  // Unconnected sockets: fresh, bound, listening.
  Sock fresh;
  ASSERT_TRUE(new_socket(&fresh));
  for (SOCKET s : {fresh.s, k.l.sock.s}) {
    err = 0;
    EXPECT_EQ(k.ext.reg(s, buf, 4096, MEM_READWRITE, &err), nullptr);
    EXPECT_EQ(err, WSAENOTCONN) << wsa_name(err);
  }
  // NULL buffer.
  EXPECT_EQ(k.ext.reg(k.c(), nullptr, 4096, MEM_READWRITE, &err), nullptr);
  EXPECT_EQ(err, WSAEFAULT) << "NULL buffer: " << wsa_name(err);
  // Unmapped memory, wholly and partly.
  long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(munmap(static_cast<char*>(m) + page, page), 0);
  err = 0;
  EXPECT_EQ(k.ext.reg(k.c(), static_cast<char*>(m) + page, static_cast<DWORD>(page),
                      MEM_READWRITE, &err),
            nullptr);
  EXPECT_EQ(err, WSAEFAULT) << "unmapped page: " << wsa_name(err);
  err = 0;
  EXPECT_EQ(k.ext.reg(k.c(), m, static_cast<DWORD>(2 * page), MEM_READWRITE, &err), nullptr);
  EXPECT_EQ(err, WSAEFAULT) << "half-unmapped range: " << wsa_name(err);
  munmap(m, page);
  // The good case still works afterwards.
  HANDLE h = k.ext.reg(k.c(), buf, 4096, MEM_READWRITE, &err);
  EXPECT_NE(h, nullptr) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}

TEST(Conformance, R60_RegistrationNeedsThePageRightsItsFlagsGrant) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  ASSERT_NE(k.ext.reg_rdma, nullptr);
  const long page = sysconf(_SC_PAGESIZE);
  auto* m = static_cast<char*>(
      mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  char* ro = m;             // read only
  char* none = m + page;    // no access at all
  char* rw = m + 2 * page;  // read-write, for the descriptor
  ASSERT_EQ(mprotect(ro, page, PROT_READ), 0);
  ASSERT_EQ(mprotect(none, page, PROT_NONE), 0);
  const auto len = static_cast<DWORD>(page);
  int err = 0;
  // Local registrations: a send source needs read, a receive target needs write.
  HANDLE h = k.ext.reg(k.c(), ro, len, MEM_READ, &err);
  EXPECT_NE(h, nullptr) << "MEM_READ of a read-only page: " << wsa_name(err);
  for (DWORD f : {DWORD{MEM_WRITE}, DWORD{MEM_READWRITE}}) {
    err = 0;
    EXPECT_EQ(k.ext.reg(k.c(), ro, len, f, &err), nullptr) << "read-only page, flags " << f;
    EXPECT_EQ(err, WSAEFAULT) << "read-only page, flags " << f << ": " << wsa_name(err);
    err = 0;
    EXPECT_EQ(k.ext.reg(k.c(), none, len, f, &err), nullptr) << "PROT_NONE page, flags " << f;
    EXPECT_EQ(err, WSAEFAULT) << "PROT_NONE page, flags " << f << ": " << wsa_name(err);
  }
  err = 0;
  EXPECT_EQ(k.ext.reg(k.c(), ro, 2 * len, MEM_READ, &err), nullptr) << "half PROT_NONE";
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  // RDMA registrations: the peer's rights need the same page rights here, and the descriptor
  // is written to caller memory.
  char desc[64];
  DWORD desc_len = sizeof desc;
  EXPECT_EQ(k.ext.reg_rdma(k.c(), ro, len, MEM_READ, desc, &desc_len, &err), 0)
      << "remote read of a read-only page: " << wsa_name(err);
  for (DWORD f : {DWORD{MEM_WRITE}, DWORD{MEM_READWRITE}}) {
    desc_len = sizeof desc;
    err = 0;
    EXPECT_NE(k.ext.reg_rdma(k.c(), ro, len, f, desc, &desc_len, &err), 0) << "flags " << f;
    EXPECT_EQ(err, WSAEFAULT) << "remote write into a read-only page, flags " << f << ": "
                              << wsa_name(err);
  }
  desc_len = sizeof desc;
  err = 0;
  EXPECT_NE(k.ext.reg_rdma(k.c(), rw, len, MEM_READ, ro, &desc_len, &err), 0);
  EXPECT_EQ(err, WSAEFAULT) << "descriptor into a read-only page: " << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
  munmap(m, 3 * page);
}
