/* SPDX-License-Identifier: BSD-3-Clause */
// R61: WSPRegisterRdmaMemory with a *lpdwDescriptorLength that is too small fails and sets it
// to the required size; a retry with that size succeeds. Both RDMA registration entry points are
// mandatory (R54): a provider that does not offer them fails this test, it is not skipped.

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R61_RdmaDescriptorLengthProbe) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Conn k;
  ASSERT_TRUE(make_conn(&k));
  ASSERT_NE(k.ext.reg_rdma, nullptr) << "WSPRegisterRdmaMemory not offered (mandatory, R54)";
  ASSERT_NE(k.ext.dereg_rdma, nullptr) << "WSPDeregisterRdmaMemory not offered (mandatory, R54)";
  char* buf = sw().new_buf(8192);
  alignas(16) char desc[512];
  DWORD len = 1;
  int err = 0;
  // The probe: too short.
  EXPECT_NE(k.ext.reg_rdma(k.a(), buf, 8192, MEM_READWRITE, desc, &len, &err), 0);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  ASSERT_GT(len, 1u) << "the required size was not reported";
  ASSERT_LE(len, sizeof desc);
  // The retry with the reported size.
  DWORD need = len;
  EXPECT_EQ(k.ext.reg_rdma(k.a(), buf, 8192, MEM_READWRITE, desc, &len, &err), 0)
      << wsa_name(err);
  EXPECT_LE(len, need);
  EXPECT_EQ(k.ext.dereg_rdma(k.a(), desc, len, &err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
