/* SPDX-License-Identifier: BSD-3-Clause */
// R4: on success wVersion <= requested, wHighVersion >= wVersion, szDescription NUL-terminated
// within 256 WCHARs. Decision 4: dpsan answers 2.2 in both fields.

#include "test_switch.h"

using namespace dpsan_conf;

namespace {
// Versions compare as (major = low byte, minor = high byte), not as raw WORDs.
int vkey(WORD v) { return LOBYTE(v) * 256 + HIBYTE(v); }
}  // namespace

TEST(Conformance, R4_WSPDataVersionsAndDescription) {
  Session ses;
  const WORD requests[] = {MAKEWORD(2, 2), MAKEWORD(2, 3), MAKEWORD(3, 0), MAKEWORD(9, 9)};
  int started = 0;
  for (WORD v : requests) {
    // Given: WSPDATA full of garbage.
    WSPDATA d;
    std::memset(&d, 0xFF, sizeof d);
    WSPPROC_TABLE p{};
    int rc = sw().startup_ex(v, &d, sw().tcp_protocol_info(), sw().table(0), &p);
    ASSERT_EQ(rc, 0) << "version " << int(LOBYTE(v)) << "." << int(HIBYTE(v)) << ": "
                     << wsa_name(rc);
    ++started;
    EXPECT_LE(vkey(d.wVersion), vkey(v));
    EXPECT_GE(vkey(d.wHighVersion), vkey(d.wVersion));
    EXPECT_EQ(d.wVersion, MAKEWORD(2, 2)) << "Decision 4";
    EXPECT_EQ(d.wHighVersion, MAKEWORD(2, 2)) << "Decision 4";
    bool nul = false;
    for (int i = 0; i <= WSPDESCRIPTION_LEN; ++i)
      if (d.szDescription[i] == 0) {
        nul = true;
        break;
      }
    EXPECT_TRUE(nul) << "szDescription is not NUL-terminated within 256 WCHARs";
  }
  // Expect: the N startups need N cleanups.
  int err = 0;
  for (int i = 0; i < started; ++i) EXPECT_EQ(sw().cleanup(&err), 0) << wsa_name(err);
  EXPECT_EQ(sw().cleanup(&err), SOCKET_ERROR);
  EXPECT_EQ(err, WSANOTINITIALISED);
}
