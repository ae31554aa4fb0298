/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * spi-adapter/socket_table.h: the descriptor table, SOCKET = (generation << 32) | (slot + 1).
 * One test per API (open, acquire/put, invalidate, release, SocketRef, for_each_allocated,
 * open_count) with the stale-generation cases of R27, then a race between stale lookups and
 * open().
 *
 * SocketTable is a process-wide singleton: every test closes what it opens, and no test assumes
 * which slot it gets. Where a test needs the same slot again, it opens until it finds it.
 */
#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "spi-adapter/socket_table.h"

namespace dpsan::spi {
namespace {

SocketTable& table() { return SocketTable::get(); }

uint32_t gen_of(SOCKET v) { return static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32); }
uint32_t idx1_of(SOCKET v) { return static_cast<uint32_t>(v & 0xffffffffu); }
SOCKET make(uint64_t gen, uint64_t idx1) { return static_cast<SOCKET>(gen << 32 | idx1); }

/** What WSPCloseSocket and the final cleanup do to a slot, without the fast path. */
void close_socket(Socket* s) {
  ASSERT_TRUE(table().invalidate(s));
  table().release(s);
}

/** Open sockets until one lands in slot `index`; close the others. @return it, or nullptr. */
Socket* open_slot(uint32_t index) {
  std::vector<Socket*> others;
  Socket* hit = nullptr;
  for (uint32_t i = 0; i < kMaxSockets && hit == nullptr; i++) {
    Socket* s = table().open();
    if (s == nullptr) break;
    if (s->index == index)
      hit = s;
    else
      others.push_back(s);
  }
  for (Socket* s : others) close_socket(s);
  return hit;
}

class SocketTableTest : public ::testing::Test {
 protected:
  void SetUp() override { open_before_ = table().open_count(); }
  void TearDown() override {
    // Expect: each test leaves the table as it found it
    EXPECT_EQ(table().open_count(), open_before_) << "a test leaked an open socket";
  }
  uint32_t open_before_ = 0;
};

// ---------------------------------------------------------------------------------------------
// open()

TEST_F(SocketTableTest, Open_SelfEncodesGenerationAndSlotPlusOne) {
  // Given a newly opened socket
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  // Expect: self = (gen << 32) | (index + 1), index in range, generation the slot's current one
  EXPECT_LT(s->index, kMaxSockets);
  EXPECT_EQ(idx1_of(s->self), s->index + 1);
  EXPECT_EQ(gen_of(s->self), s->gen.load());
  EXPECT_NE(gen_of(s->self), 0u);
  EXPECT_NE(static_cast<SOCKET>(s->self), INVALID_SOCKET);
  EXPECT_NE(s->self, 0u);
  close_socket(s);
}

TEST_F(SocketTableTest, Open_HoldsTheOpenReferenceAndIsAllocated) {
  uint32_t before = table().open_count();
  // Given a newly opened socket
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  // Expect: one reference (the "open" one), allocated, created state, counted
  EXPECT_EQ(s->refs.load(), 1u);
  EXPECT_TRUE(s->allocated.load());
  EXPECT_EQ(s->state, SockState::kCreated);
  EXPECT_EQ(s->finisher.load(), 0u);
  EXPECT_EQ(table().open_count(), before + 1);
  close_socket(s);
  EXPECT_EQ(table().open_count(), before);
}

TEST_F(SocketTableTest, Open_DistinctSocketsGetDistinctValues) {
  // Given 64 sockets open at once
  std::vector<Socket*> v;
  std::set<uint64_t> selves;
  std::set<Socket*> slots;
  for (int i = 0; i < 64; i++) {
    Socket* s = table().open();
    ASSERT_NE(s, nullptr);
    v.push_back(s);
    selves.insert(s->self);
    slots.insert(s);
  }
  // Expect: distinct slots and distinct descriptors, each resolving to its own slot
  EXPECT_EQ(selves.size(), 64u);
  EXPECT_EQ(slots.size(), 64u);
  for (Socket* s : v) {
    Socket* a = table().acquire(static_cast<SOCKET>(s->self));
    EXPECT_EQ(a, s);
    if (a) table().put(a);
  }
  for (Socket* s : v) close_socket(s);
}

TEST_F(SocketTableTest, Open_ReusedSlotStartsFresh) {
  // Given a socket whose slow-path and link state were used, then closed and released
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  uint32_t index = s->index;
  {
    std::lock_guard<std::mutex> lk(s->mu);
    s->state = SockState::kConnected;
    s->so_debug = 1;
    s->reserved_port = 5001;
    s->regs[3] = RegEntry{0x1000, 64, 3, 2};
  }
  s->reg_handles[3].store(0x100000002ull);
  s->shut_send.store(true);
  s->link.pending_upcalls.store(3);
  s->link.sticky_error.store(10054);
  s->link.closing.store(true);
  s->link.events.recorded.store(0xff);
  close_socket(s);

  // Open until the same slot comes back
  Socket* r = open_slot(index);
  ASSERT_NE(r, nullptr) << "slot " << index << " never came back";
  // Expect: nothing of the old life is left
  EXPECT_EQ(r->state, SockState::kCreated);
  EXPECT_EQ(r->so_debug, 0);
  EXPECT_EQ(r->reserved_port, 0);
  EXPECT_EQ(r->regs[3].refs, 0u);
  EXPECT_EQ(r->reg_handles[3].load(), 0u);
  EXPECT_FALSE(r->shut_send.load());
  EXPECT_EQ(r->link.pending_upcalls.load(), 0u);
  EXPECT_EQ(r->link.sticky_error.load(), 0);
  EXPECT_FALSE(r->link.closing.load());
  EXPECT_EQ(r->link.events.recorded.load(), 0u);
  EXPECT_EQ(r->refs.load(), 1u);
  close_socket(r);
}

TEST_F(SocketTableTest, Open_FullTableReturnsNull) {
  // Given every free slot taken
  std::vector<Socket*> v;
  for (uint32_t i = 0; i <= kMaxSockets; i++) {
    Socket* s = table().open();
    if (s == nullptr) break;
    v.push_back(s);
  }
  // Expect: open() answers null (WSAEMFILE) exactly when all kMaxSockets slots are open
  EXPECT_EQ(v.size() + open_before_, kMaxSockets);
  EXPECT_EQ(table().open(), nullptr);
  EXPECT_EQ(table().open_count(), kMaxSockets);
  // Given one closed
  close_socket(v.back());
  v.pop_back();
  // Expect: one more open succeeds
  Socket* s = table().open();
  EXPECT_NE(s, nullptr);
  if (s) v.push_back(s);
  for (Socket* x : v) close_socket(x);
}

// ---------------------------------------------------------------------------------------------
// acquire() / put(): pin an open socket; nullptr for any stale, closed or bogus value.

TEST_F(SocketTableTest, Acquire_OpenSocketPinsAndPutUnpins) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  // Given an open socket: acquire it twice
  Socket* a = table().acquire(static_cast<SOCKET>(s->self));
  Socket* b = table().acquire(static_cast<SOCKET>(s->self));
  // Expect: the same slot, one reference each on top of the open one
  EXPECT_EQ(a, s);
  EXPECT_EQ(b, s);
  EXPECT_EQ(s->refs.load(), 3u);
  // Expect: put drops them one at a time
  table().put(a);
  EXPECT_EQ(s->refs.load(), 2u);
  table().put(b);
  EXPECT_EQ(s->refs.load(), 1u);
  close_socket(s);
}

TEST_F(SocketTableTest, Acquire_BogusValuesFailAndPinNothing) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  const uint64_t g = gen_of(s->self), i1 = idx1_of(s->self);
  const SOCKET bogus[] = {
      0,                              // never a descriptor
      INVALID_SOCKET,                 // ~0
      make(g, 0),                     // slot + 1 == 0
      make(g, kMaxSockets + 1),       // one past the last slot
      make(g, 0xffffffffu),           // largest slot
      make(g + 1, i1),                // right slot, next generation
      make(g - 1, i1),                // right slot, previous generation
      make(0, i1),                    // right slot, generation 0
      make(0xffffffffu, i1),          // right slot, generation ~0
      make(g, i1) | (uint64_t{1} << 63),
  };
  for (SOCKET b : bogus) {
    SCOPED_TRACE(testing::Message() << "value 0x" << std::hex << b);
    // Given a value that is not this socket's descriptor
    Socket* a = table().acquire(b);
    // Expect: nullptr (WSAENOTSOCK), and no reference left on the real socket
    EXPECT_EQ(a, nullptr);
    if (a) table().put(a);
    EXPECT_EQ(s->refs.load(), 1u);
  }
  // Expect: the real descriptor still works
  Socket* a = table().acquire(static_cast<SOCKET>(s->self));
  EXPECT_EQ(a, s);
  if (a) table().put(a);
  close_socket(s);
}

TEST_F(SocketTableTest, Acquire_NeverOpenedSlotFails) {
  // Given the value a slot would have if opened now, while it is free: open and close one, then
  // form the value of its next life
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET old = static_cast<SOCKET>(s->self);
  close_socket(s);
  SOCKET next = make(gen_of(old) + 1, idx1_of(old));
  // Expect: neither the old nor the not-yet-issued value resolves while the slot is free
  EXPECT_EQ(table().acquire(old), nullptr);
  EXPECT_EQ(table().acquire(next), nullptr);
}

// ---------------------------------------------------------------------------------------------
// invalidate(): every later lookup of the descriptor fails (R27); false if already closed.

TEST_F(SocketTableTest, Invalidate_OldValueFailsAfterward_R27) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET v = static_cast<SOCKET>(s->self);
  uint32_t before = table().open_count();
  // Given an open socket: invalidate it
  EXPECT_TRUE(table().invalidate(s));
  // Expect: the descriptor no longer resolves; the open reference and the count are gone
  EXPECT_EQ(table().acquire(v), nullptr);
  EXPECT_EQ(s->refs.load(), 0u);
  EXPECT_EQ(table().open_count(), before - 1);
  // Expect: still allocated (closing) until release
  EXPECT_TRUE(s->allocated.load());
  // Invalidate again (a concurrent close lost)
  // Expect: false, and nothing changes
  EXPECT_FALSE(table().invalidate(s));
  EXPECT_EQ(s->refs.load(), 0u);
  EXPECT_EQ(table().open_count(), before - 1);
  table().release(s);
  EXPECT_EQ(table().acquire(v), nullptr);
}

TEST_F(SocketTableTest, Invalidate_CallAlreadyInsideKeepsItsPin) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET v = static_cast<SOCKET>(s->self);
  // Given a call inside (pinned) when the close invalidates the descriptor
  Socket* inside = table().acquire(v);
  ASSERT_EQ(inside, s);
  ASSERT_TRUE(table().invalidate(s));
  // Expect: the call's pin remains (close waits for it), new lookups fail
  EXPECT_EQ(s->refs.load(), 1u);
  EXPECT_EQ(table().acquire(v), nullptr);
  // Given the call leaves
  table().put(inside);
  // Expect: no reference left
  EXPECT_EQ(s->refs.load(), 0u);
  table().release(s);
}

TEST_F(SocketTableTest, Invalidate_NotYetIssuedNextGenerationFailsWhileClosing_R27) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET v = static_cast<SOCKET>(s->self);
  // Given a socket invalidated but not yet released (WSPCloseSocket is still finishing it)
  ASSERT_TRUE(table().invalidate(s));
  // Look up the value the slot's next life will have: it has never been returned to anyone
  SOCKET next = make(uint64_t{gen_of(v)} + 1, idx1_of(v));
  Socket* a = table().acquire(next);
  // Expect: nullptr (a bogus value), not the closing socket
  EXPECT_EQ(a, nullptr);
  if (a) table().put(a);
  table().release(s);
}

TEST_F(SocketTableTest, Invalidate_GenerationWrapSkipsAllOnesAndZero) {
  // Given a slot whose generation is about to wrap: set it to ~0 - 1 while the slot is closed
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  uint32_t index = s->index;
  ASSERT_TRUE(table().invalidate(s));
  s->gen.store(0xfffffffeu);
  table().release(s);
  Socket* r = open_slot(index);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(gen_of(r->self), 0xfffffffeu);
  SOCKET v = static_cast<SOCKET>(r->self);
  // Close it
  ASSERT_TRUE(table().invalidate(r));
  // Expect: the next generation is 1, never ~0 (INVALID_SOCKET's) nor 0
  EXPECT_EQ(r->gen.load(), 1u);
  EXPECT_EQ(table().acquire(v), nullptr);
  table().release(r);
  Socket* again = open_slot(index);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(gen_of(again->self), 1u);
  EXPECT_EQ(table().acquire(v), nullptr);
  close_socket(again);
}

// ---------------------------------------------------------------------------------------------
// release(): the slot is reused with a new generation; the old value keeps failing (R27).

TEST_F(SocketTableTest, Release_ReopenUsesNewGenerationOldValueStillFails_R27) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET old = static_cast<SOCKET>(s->self);
  uint32_t index = s->index;
  // Given a socket closed and released
  close_socket(s);
  EXPECT_FALSE(s->allocated.load());
  // Reopen the same slot
  Socket* r = open_slot(index);
  ASSERT_NE(r, nullptr);
  // Expect: same slot, next generation, a different descriptor
  EXPECT_EQ(idx1_of(r->self), idx1_of(old));
  EXPECT_EQ(gen_of(r->self), gen_of(old) + 1);
  EXPECT_NE(static_cast<SOCKET>(r->self), old);
  // Expect: the old descriptor fails, the new one works
  EXPECT_EQ(table().acquire(old), nullptr);
  Socket* a = table().acquire(static_cast<SOCKET>(r->self));
  EXPECT_EQ(a, r);
  if (a) table().put(a);
  EXPECT_EQ(r->refs.load(), 1u);
  close_socket(r);
  // Expect: after a second close, neither value resolves
  EXPECT_EQ(table().acquire(old), nullptr);
  EXPECT_EQ(table().acquire(static_cast<SOCKET>(r->self)), nullptr);
}

// ---------------------------------------------------------------------------------------------
// SocketRef: RAII pin for one SPI call.

TEST_F(SocketTableTest, SocketRef_PinsForItsScope) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  {
    // Given a SocketRef on an open socket
    SocketRef ref(static_cast<SOCKET>(s->self));
    // Expect: truthy, the socket, one extra reference
    EXPECT_TRUE(static_cast<bool>(ref));
    EXPECT_EQ(ref.get(), s);
    EXPECT_EQ(ref->index, s->index);
    EXPECT_EQ(s->refs.load(), 2u);
    {
      SocketRef nested(static_cast<SOCKET>(s->self));
      EXPECT_EQ(s->refs.load(), 3u);
    }
    EXPECT_EQ(s->refs.load(), 2u);
  }
  // Expect: the reference is dropped at scope end
  EXPECT_EQ(s->refs.load(), 1u);
  close_socket(s);
}

TEST_F(SocketTableTest, SocketRef_BogusOrStaleValueIsEmpty) {
  Socket* s = table().open();
  ASSERT_NE(s, nullptr);
  SOCKET v = static_cast<SOCKET>(s->self);
  close_socket(s);
  for (SOCKET b : {SOCKET{0}, INVALID_SOCKET, v}) {
    // Given a bogus or stale value
    SocketRef ref(b);
    // Expect: falsy, null, and its destructor puts nothing
    EXPECT_FALSE(static_cast<bool>(ref));
    EXPECT_EQ(ref.get(), nullptr);
  }
  EXPECT_EQ(s->refs.load(), 0u);
}

// ---------------------------------------------------------------------------------------------
// for_each_allocated(): open and closing slots, not released ones.

TEST_F(SocketTableTest, ForEachAllocated_OpenAndClosingButNotReleased) {
  Socket* open = table().open();
  Socket* closing = table().open();
  Socket* released = table().open();
  ASSERT_TRUE(open && closing && released);
  ASSERT_TRUE(table().invalidate(closing));
  close_socket(released);
  // Given one open, one invalidated and one released socket
  std::set<Socket*> seen;
  table().for_each_allocated([&](Socket& s) { seen.insert(&s); });
  // Expect: the first two are visited, the released one is not
  EXPECT_TRUE(seen.count(open));
  EXPECT_TRUE(seen.count(closing));
  EXPECT_FALSE(seen.count(released));
  close_socket(open);
  table().release(closing);
}

// ---------------------------------------------------------------------------------------------
// Race: lookups of stale descriptors (a switch calling right after a close, R27) running while
// the same slot is reopened. A stale lookup takes a transient reference and gives it back; open()
// must not lose the "open" reference to it, or a later close would see a wrong count (and
// WSPCloseSocket's wait for refs <= 1 would let a call run on, or spin on an underflow).

TEST_F(SocketTableTest, OpenRacingStaleAcquire_KeepsExactlyTheOpenReference_R27) {
  std::atomic<SOCKET> stale{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> stale_hits{0};
  // Given a thread looking up the last closed descriptor over and over
  std::thread switch_thread([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      SOCKET v = stale.load(std::memory_order_relaxed);
      if (v == 0) continue;
      if (Socket* s = table().acquire(v)) {
        stale_hits.fetch_add(1, std::memory_order_relaxed);
        table().put(s);
      }
    }
  });

  // And this thread opening, closing and releasing sockets (the same slot comes back), for up to
  // 5M cycles or 2 s, stopping at the first wrong count (the window is a few instructions wide:
  // about one run in two of 500k cycles hits it on a 2-CPU machine)
  uint64_t lost_open_ref = 0, underflow = 0, cycles = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (; cycles < 5000000 && lost_open_ref + underflow == 0; cycles++) {
    if ((cycles & 4095) == 0 && std::chrono::steady_clock::now() > deadline) break;
    Socket* s = table().open();
    ASSERT_NE(s, nullptr);
    // Expect: at least the open reference (a stale lookup can only add a transient one)
    if (s->refs.load() == 0) lost_open_ref++;
    SOCKET v = static_cast<SOCKET>(s->self);
    ASSERT_TRUE(table().invalidate(s));
    // Expect: 0, or 1 while a stale lookup is in flight; never an underflowed count
    if (s->refs.load() > 1) underflow++;
    stale.store(v, std::memory_order_relaxed);
    table().release(s);
  }
  stop.store(true);
  switch_thread.join();

  EXPECT_EQ(stale_hits.load(), 0u) << "a stale descriptor resolved";
  EXPECT_EQ(lost_open_ref, 0u) << "open() lost its reference to a stale lookup in " << cycles
                               << " cycles";
  EXPECT_EQ(underflow, 0u) << "refs underflowed after invalidate in " << cycles << " cycles";
}

}  // namespace
}  // namespace dpsan::spi
