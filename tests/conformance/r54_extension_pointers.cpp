/* SPDX-License-Identifier: BSD-3-Clause */
// R54: SIO_GET_EXTENSION_FUNCTION_POINTER returns non-NULL pointers for the mandatory GUIDs;
// RdmaRead and the cache callback return a pointer or SOCKET_ERROR with WSAEOPNOTSUPP.
// The five mandatory ones: RegisterMemory, DeregisterMemory, RegisterRdmaMemory,
// DeregisterRdmaMemory and RdmaWrite. dpsan offers RdmaRead and the cache callback too.
// Spec 2.11: the socket is not dereferenced for this code.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R54_ExtensionFunctionPointers) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Sock s;
  ASSERT_TRUE(new_socket(&s));
  const GUID reg = WSAID_REGISTERMEMORY, dereg = WSAID_DEREGISTERMEMORY,
             reg_rdma = WSAID_REGISTERRDMAMEMORY, dereg_rdma = WSAID_DEREGISTERRDMAMEMORY,
             rdma_write = WSAID_RDMAWRITE;
  void* reg_fn = nullptr;
  for (const GUID* g : {&reg, &dereg, &reg_rdma, &dereg_rdma, &rdma_write}) {
    void* fn = nullptr;
    int err = 0;
    DWORD ret = 0;
    EXPECT_EQ(get_ext_fn(s.s, *g, &fn, &err, &ret), 0) << wsa_name(err);
    EXPECT_NE(fn, nullptr);
    EXPECT_EQ(ret, sizeof(void*));
    if (g == &reg) reg_fn = fn;
  }
  struct Opt {
    GUID g;
    const char* name;
  } optional[] = {{WSAID_RDMAREAD, "RdmaRead"},
                  {WSAID_MEMORYREGISTRATIONCACHECALLBACK, "MemoryRegistrationCacheCallback"}};
  for (const Opt& o : optional) {
    void* fn = nullptr;
    int err = 0;
    int rc = get_ext_fn(s.s, o.g, &fn, &err);
    if (rc == 0) {
      EXPECT_NE(fn, nullptr) << o.name << ": success with a NULL pointer";
    } else {
      EXPECT_EQ(rc, SOCKET_ERROR) << o.name;
      EXPECT_EQ(err, WSAEOPNOTSUPP) << o.name << ": " << wsa_name(err);
    }
    RecordProperty(o.name, rc == 0 ? "pointer" : wsa_name(err));
  }
  // An unknown GUID is refused.
  void* fn = nullptr;
  int err = 0;
  GUID unknown{0x01020304, 0x0506, 0x0708, {9, 10, 11, 12, 13, 14, 15, 16}};
  EXPECT_EQ(get_ext_fn(s.s, unknown, &fn, &err), SOCKET_ERROR);
  EXPECT_TRUE(err == WSAEINVAL || err == WSAEOPNOTSUPP) << wsa_name(err);
  // A short output buffer is refused with WSAEFAULT.
  GUID g = reg;
  uint32_t small = 0;
  DWORD ret = 0;
  EXPECT_EQ(P().lpWSPIoctl(s.s, SIO_GET_EXTENSION_FUNCTION_POINTER, &g, sizeof g, &small,
                           sizeof small, &ret, nullptr, nullptr, nullptr, &err),
            SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  // The socket is not dereferenced: any value gives the same pointer.
  EXPECT_EQ(get_ext_fn(INVALID_SOCKET, reg, &fn, &err), 0) << wsa_name(err);
  EXPECT_EQ(fn, reg_fn);
  EXPECT_EQ(sw().cleanup(), 0);
}
