/* SPDX-License-Identifier: BSD-3-Clause */
// R60: WSPRegisterMemory returns NULL with WSAEINVAL for invalid flags and NULL with
// WSAENOTCONN on an unconnected socket. Provider decisions: a NULL buffer or unmapped memory
// -> NULL with WSAEFAULT.

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
