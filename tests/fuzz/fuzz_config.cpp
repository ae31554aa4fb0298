/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * libFuzzer target: control::parse_config_text() on arbitrary bytes taken as a DPSAN_CONFIG file.
 *
 * It must never crash nor let an exception out (it answers false with a message). A failure's
 * message must be non-empty and one line (no '\n' nor '\r'): WSPStartupEx prints it as one stderr
 * line. A success must leave a usable configuration: at least one port, with an address.
 */
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "control/config.h"

namespace control = dpsan::control;

namespace {

[[noreturn]] void fail(const char* what, const std::string& error) {
  std::fprintf(stderr, "fuzz_config: %s\nerror string (%zu bytes): \"", what, error.size());
  for (unsigned char c : error) {
    if (c == '\n') std::fputs("\\n", stderr);
    else if (c == '\r') std::fputs("\\r", stderr);
    else if (c < 0x20 || c >= 0x7f) std::fprintf(stderr, "\\x%02x", c);
    else std::fputc(c, stderr);
  }
  std::fputs("\"\n", stderr);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // As load_config() does: the file is parsed over the embedded default.
  control::Config cfg = control::embedded_default();
  std::string error;
  bool ok;
  try {
    ok = control::parse_config_text(text, "fuzz.toml", &cfg, &error);
  } catch (...) {
    fail("parse_config_text let an exception out", error);
  }
  if (ok) {
    if (cfg.ports.empty()) fail("success with no port", error);
    if (cfg.engine.port_addr[0].ip != cfg.ports.front().ipv4) fail("served_ip is not the port's", error);
    return 0;
  }
  if (error.empty()) fail("failure with an empty error", error);
  if (error.find_first_of("\r\n") != std::string::npos) fail("error message is not one line", error);
  return 0;
}
