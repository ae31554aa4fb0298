/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The checker of dpsan_peer has teeth: it accepts each message of a stream, and names a
 * damaged, truncated, duplicated or out-of-order one (what R40 tests rely on).
 */
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "stream.h"

using namespace dpsan::itest;

namespace {

StreamSpec spec() { return StreamSpec{42, 200, 1, 1 << 20}; }

struct Buffers {
  std::unique_ptr<char[]> msg{new char[1 << 20]}, scratch{new char[1 << 20]};
};

}  // namespace

TEST(PeerStream, R40_EveryMessageOfAStreamChecksOk) {
  Buffers b;
  StreamSpec s = spec();
  for (uint32_t seq = 0; seq <= s.messages; seq++) {
    for (Dir d : {Dir::kFromConnector, Dir::kFromListener}) {
      uint32_t n = stream_size(s, 3, d, seq);
      ASSERT_GE(n, s.min_size);
      ASSERT_LE(n, s.buffer_size());
      stream_fill(s, 3, d, seq, b.msg.get());
      EXPECT_EQ(stream_check(s, 3, d, seq, b.msg.get(), n, b.scratch.get()), "") << seq;
    }
  }
}

TEST(PeerStream, R40_SizesSpreadFromSmallToLarge) {
  StreamSpec s = spec();
  std::set<int> octaves;  // log2 of the sizes seen
  for (uint32_t seq = 1; seq < s.messages; seq++) octaves.insert(31 - __builtin_clz(stream_size(s, 0, Dir::kFromListener, seq)));
  EXPECT_GE(octaves.size(), 15u) << "sizes from 1 B to 1 MiB should cover most powers of two";
  EXPECT_EQ(stream_size(s, 0, Dir::kFromConnector, 0), kHeaderBytes) << "the hello";
  EXPECT_EQ(stream_size(s, 0, Dir::kFromConnector, s.messages), kHeaderBytes) << "DONE";
}

TEST(PeerStream, R40_DamagedTruncatedAndMisorderedMessagesAreNamed) {
  Buffers b;
  StreamSpec s = spec();
  uint32_t seq = 1;
  while (stream_size(s, 5, Dir::kFromListener, seq) < 1000) seq++;
  uint32_t n = stream_size(s, 5, Dir::kFromListener, seq);
  stream_fill(s, 5, Dir::kFromListener, seq, b.msg.get());

  b.msg[n / 2] ^= 0x10;  // one bit flipped in the body
  EXPECT_NE(stream_check(s, 5, Dir::kFromListener, seq, b.msg.get(), n, b.scratch.get()).find("damaged"),
            std::string::npos);
  b.msg[n / 2] ^= 0x10;
  EXPECT_NE(stream_check(s, 5, Dir::kFromListener, seq, b.msg.get(), n - 1, b.scratch.get()).find("bytes"),
            std::string::npos);
  // The previous message again (a duplicate), and the next one early (a loss or reordering).
  for (uint32_t other : {seq - 1, seq + 1}) {
    stream_fill(s, 5, Dir::kFromListener, other, b.msg.get());
    uint32_t m = stream_size(s, 5, Dir::kFromListener, other);
    std::string why = stream_check(s, 5, Dir::kFromListener, seq, b.msg.get(), m, b.scratch.get());
    EXPECT_FALSE(why.empty());
    if (m >= kHeaderBytes) {
      EXPECT_NE(why.find("out of order"), std::string::npos) << why;
    }
  }
  // Another connection's or direction's message.
  stream_fill(s, 6, Dir::kFromListener, seq, b.msg.get());
  EXPECT_FALSE(stream_check(s, 5, Dir::kFromListener, seq, b.msg.get(), stream_size(s, 6, Dir::kFromListener, seq),
                            b.scratch.get()).empty());
}

TEST(PeerStream, HelloNamesTheConnection) {
  Buffers b;
  StreamSpec s = spec();
  stream_fill(s, 77, Dir::kFromConnector, 0, b.msg.get());
  uint32_t conn = 0;
  ASSERT_TRUE(stream_hello_conn(b.msg.get(), kHeaderBytes, &conn));
  EXPECT_EQ(conn, 77u);
  stream_fill(s, 77, Dir::kFromConnector, 1, b.msg.get());
  EXPECT_FALSE(stream_hello_conn(b.msg.get(), stream_size(s, 77, Dir::kFromConnector, 1), &conn));
}
