/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * dpsan-soak: hours of traffic, faults, closes and whole startup/cleanup cycles against the
 * provider, checking every message, RDMA payload, completion and count on the way, and
 * stopping with a non-zero exit at the first violation (README "Soak").
 */
#include <CLI/CLI.hpp>

#include "memif_mode.h"
#include "op.h"
#include "soak.h"

int main(int argc, char** argv) {
  dpsan::soak::Options o;
  dpsan::soak::MemifOptions m;
  std::string mode = "one-process";
  CLI::App app{"dpsan-soak: long-running reliability check of dpsan"};
  app.add_option("--mode", mode, "one-process, or memif (two processes over net_memif)")
      ->check(CLI::IsMember({"one-process", "memif"}));
  app.add_option("--duration", o.duration_s, "seconds to run")->check(CLI::Range(1.0, 7.0 * 86400));
  app.add_option("--connections", o.connections, "links driven at once")->check(CLI::Range(1, 256));
  app.add_option("--port", o.port, "one-process: loopback, or ringpair (two net_ring ports back to back)")
      ->check(CLI::IsMember({"loopback", "ringpair"}));
  app.add_option("--loss", o.loss, "fault: frame loss probability")->check(CLI::Range(0.0, 0.5));
  app.add_option("--duplicate", o.duplicate, "fault: duplication probability")->check(CLI::Range(0.0, 0.5));
  app.add_option("--reorder", o.reorder, "fault: reordering probability")->check(CLI::Range(0.0, 0.5));
  app.add_option("--corrupt", o.corrupt, "fault: bit-flip probability")->check(CLI::Range(0.0, 0.5));
  app.add_option("--delay-us", o.delay_us, "fault: every frame held this long")->check(CLI::Range(0, 100000));
  app.add_option("--flap-period-ms", o.flap_period_ms, "fault: link flap period (0: none)");
  app.add_option("--flap-down-ms", o.flap_down_ms, "fault: link down this long per period");
  app.add_option("--seed", o.seed, "seed of sizes, contents, closes and faults");
  app.add_option("--cycle-min", o.cycle_min_s, "shortest startup-to-cleanup cycle, seconds")->check(CLI::Range(0.5, 3600.0));
  app.add_option("--cycle-max", o.cycle_max_s, "longest cycle, seconds")->check(CLI::Range(0.5, 3600.0));
  app.add_option("--close-rate", o.close_rate, "random closes per second (0: none)")->check(CLI::Range(0.0, 1000.0));
  app.add_option("--window", o.window, "sends and receives in flight per end")->check(CLI::Range(1, 64));
  app.add_option("--max-size", o.max_size, "largest message, bytes")->check(CLI::Range(1, 1 << 20));
  app.add_option("--rdma-max", o.rdma_max, "largest RDMA operation, bytes (0: no RDMA)")->check(CLI::Range(0, 16 << 20));
  app.add_option("--rate", o.rate, "operations started per second (0: as fast as it goes)");
  app.add_option("--idle", o.idle, "poll loop idle policy")->check(CLI::IsMember({"adaptive", "busy"}));
  app.add_option("--rss-tolerance-mib", o.rss_tolerance_mib, "resident memory growth allowed after the warm-up cycles");
  app.add_option("--self-test-corrupt", o.self_test_corrupt,
                 "corrupt one byte of the N-th received message: the run must fail (checks the checks)");
  app.add_flag("--self-test-leak", o.self_test_leak,
               "leave one socket open before each cycle's count check: the run must fail");
  app.add_option("--self-test-double", o.self_test_double,
                 "deliver the N-th completion of a soak operation twice: the run must fail");
  app.add_option("--self-test-status", o.self_test_status,
                 "give the N-th completion WSAECONNRESET instead of its status: the run must fail");
  app.add_option("--rounds-per-cycle", m.rounds_per_cycle, "memif: peer processes per server cycle");
  app.add_option("--peer", m.peer_path, "memif: path of dpsan_peer (default: $DPSAN_PEER, else build/tests/integration/dpsan_peer)");
  CLI11_PARSE(app, argc, argv);
  dpsan::soak::self_test_faults(o.self_test_double, o.self_test_status);
  if (mode == "memif") return dpsan::soak::run_memif(o, m);
  return dpsan::soak::run_soak(o);
}
