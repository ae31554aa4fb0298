/* SPDX-License-Identifier: BSD-3-Clause */
// R53: SIO_ADDRESS_LIST_QUERY returns a SOCKET_ADDRESS_LIST holding every served IPv4 address
// (embedded default: exactly 127.0.0.1). A short buffer gives WSAEFAULT.
// (The "after an address change" half needs a configured deployment; not in this suite.)

#include <algorithm>
#include <cstdlib>

#include "test_switch.h"

using namespace dpsan_conf;

TEST(Conformance, R53_AddressListHoldsServedAddresses) {
  Session ses;
  ASSERT_EQ(sw().startup(), 0);
  Sock s;
  ASSERT_TRUE(new_socket(&s));
  alignas(16) static char buf[8192];
  std::memset(buf, 0xEE, sizeof buf);
  DWORD ret = 0;
  int err = 0;
  ASSERT_EQ(P().lpWSPIoctl(s.s, SIO_ADDRESS_LIST_QUERY, nullptr, 0, buf, sizeof buf, &ret,
                           nullptr, nullptr, nullptr, &err),
            0)
      << wsa_name(err);
  EXPECT_GE(ret, sizeof(INT));
  EXPECT_LE(ret, sizeof buf);
  const auto* list = reinterpret_cast<const SOCKET_ADDRESS_LIST*>(buf);
  ASSERT_GE(list->iAddressCount, 1);
  ASSERT_LT(list->iAddressCount, 256);
  std::vector<std::string> v4;
  for (int i = 0; i < list->iAddressCount; ++i) {
    const SOCKET_ADDRESS& sa = list->Address[i];
    ASSERT_NE(sa.lpSockaddr, nullptr) << "entry " << i;
    const char* p = reinterpret_cast<const char*>(sa.lpSockaddr);
    EXPECT_TRUE(p >= buf && p + sa.iSockaddrLength <= buf + sizeof buf)
        << "entry " << i << " points outside the output buffer";
    if (sa.lpSockaddr->sa_family == AF_INET) {
      EXPECT_GE(sa.iSockaddrLength, int{sizeof(sockaddr_in)});
      char txt[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa.lpSockaddr)->sin_addr, txt,
                sizeof txt);
      v4.push_back(txt);
    } else {
      EXPECT_EQ(sa.lpSockaddr->sa_family, AF_INET6) << "entry " << i;
      EXPECT_GE(sa.iSockaddrLength, int{sizeof(sockaddr_in6)});
    }
  }
  EXPECT_NE(std::find(v4.begin(), v4.end(), "127.0.0.1"), v4.end()) << "127.0.0.1 not listed";
  if (std::getenv("DPSAN_CONFIG") == nullptr) {
    EXPECT_EQ(v4.size(), 1u) << "embedded default serves only 127.0.0.1";
  }
  // A short buffer: WSAEFAULT.
  char tiny[4];
  ret = 0;
  EXPECT_EQ(P().lpWSPIoctl(s.s, SIO_ADDRESS_LIST_QUERY, nullptr, 0, tiny, sizeof tiny, &ret,
                           nullptr, nullptr, nullptr, &err),
            SOCKET_ERROR);
  EXPECT_EQ(err, WSAEFAULT) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(), 0);
}
