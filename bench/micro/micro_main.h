/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A main for the microbenchmarks that fails (exit 1) when a benchmark reports an error
 * (state.SkipWithError: a refused lookup, a lost ring entry, a wrong abort count...) or when no
 * benchmark matched the filter, so that the `micro-smoke` tests catch both. Output is Google
 * Benchmark's usual display (--benchmark_format and --benchmark_out work as usual).
 */
#pragma once

#include <cstdio>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

namespace dpsan::micro {

/** Forwards to the default display reporter and counts runs that reported an error. */
class ErrorCountingReporter : public benchmark::BenchmarkReporter {
 public:
  ErrorCountingReporter() : inner_(benchmark::CreateDefaultDisplayReporter()) {}
  bool ReportContext(const Context& c) override { return inner_->ReportContext(c); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.error_occurred) errors_++;
    inner_->ReportRuns(runs);
  }
  void Finalize() override { inner_->Finalize(); }
  unsigned errors() const { return errors_; }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  unsigned errors_ = 0;
};

/** Run what the command line selected (after benchmark::Initialize). @return the exit code. */
inline int run_benchmarks() {
  ErrorCountingReporter reporter;
  size_t ran = benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (ran == 0) {
    std::fprintf(stderr, "no benchmark matched the filter\n");
    return 1;
  }
  if (reporter.errors() != 0) {
    std::fprintf(stderr, "%u benchmark run(s) reported an error\n", reporter.errors());
    return 1;
  }
  return 0;
}

}  // namespace dpsan::micro

/** BENCHMARK_MAIN, with the exit code of run_benchmarks(). */
#define DPSAN_MICRO_MAIN()                                              \
  int main(int argc, char** argv) {                                     \
    benchmark::Initialize(&argc, argv);                                 \
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;   \
    return dpsan::micro::run_benchmarks();                              \
  }                                                                     \
  static_assert(true, "swallows the semicolon after the macro")
