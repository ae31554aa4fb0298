/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <arpa/inet.h>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml.hpp>

namespace dpsan::control {

namespace {

/** Throwing helper: every failure names the key and value it is about. */
struct ConfigError {
  std::string msg;
};

/** Fold a message onto one line (toml11 prints arrays, tables and diagnostics over several). */
std::string one_line(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

[[noreturn]] void bad(const std::string& key, const std::string& value, const std::string& why) {
  // Keys and values come from the file and may hold line breaks: the message stays one line.
  throw ConfigError{one_line(key + " = " + value + ": " + why)};
}

/**
 * Offset of the first byte that is not valid UTF-8, or npos. toml11 3.7.1 reads out of bounds
 * on some invalid UTF-8 (upstream issue 199), so text is checked before it is parsed.
 */
size_t invalid_utf8_at(const std::string& s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > n) return i;
    if (len == 2 && c < 0xc2) return i;  // overlong
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; k++) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return i;
      cp = cp << 6 | (d & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return i;
    i += len;
  }
  return std::string::npos;
}

std::string show(const toml::value& v) {
  std::ostringstream os;
  os << v;
  return one_line(os.str());
}

uint64_t as_uint(const toml::value& v, const std::string& key, uint64_t lo, uint64_t hi) {
  if (!v.is_integer()) bad(key, show(v), "expected an integer");
  int64_t i = v.as_integer();
  if (i < 0 || static_cast<uint64_t>(i) < lo || static_cast<uint64_t>(i) > hi)
    bad(key, show(v), "expected " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<uint64_t>(i);
}

fastpath::IdlePolicy parse_idle(const std::string& s, const std::string& key) {
  if (s == "busy") return fastpath::IdlePolicy::kBusy;
  if (s == "adaptive") return fastpath::IdlePolicy::kAdaptive;
  bad(key, "\"" + s + "\"", "expected \"busy\" or \"adaptive\"");
}

fastpath::DmaPolicy parse_dma_map(const toml::value& v, const std::string& key) {
  const char* expected = "expected \"auto\", \"always\" or \"never\"";
  if (!v.is_string()) bad(key, show(v), expected);
  const std::string& s = v.as_string().str;
  if (s == "auto") return fastpath::DmaPolicy::kAuto;
  if (s == "always") return fastpath::DmaPolicy::kAlways;
  if (s == "never") return fastpath::DmaPolicy::kNever;
  bad(key, "\"" + s + "\"", expected);
}

void parse_ipv4_prefix(const std::string& s, const std::string& key, PortConfig* p) {
  std::string addr = s;
  p->prefix = 32;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    addr = s.substr(0, slash);
    std::string pre = s.substr(slash + 1);
    bool digits = !pre.empty() && pre.size() <= 2 &&
                  pre.find_first_not_of("0123456789") == std::string::npos;
    long v = digits ? std::strtol(pre.c_str(), nullptr, 10) : -1;
    if (v < 0 || v > 32) bad(key, "\"" + s + "\"", "bad prefix length");
    p->prefix = static_cast<uint8_t>(v);
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1 || a.s_addr == 0)
    bad(key, "\"" + s + "\"", "expected an IPv4 address such as 198.18.0.1/24");
  p->ipv4 = a.s_addr;
}

template <class F>
void for_keys(const toml::value& table, const std::string& where, F&& f) {
  if (!table.is_table()) bad(where, show(table), "expected a table");
  for (const auto& [k, v] : table.as_table()) f(k, v, where.empty() ? k : where + "." + k);
}

void parse_eal(const toml::value& t, Config* c) {
  for_keys(t, "eal", [&](const std::string& k, const toml::value& v, const std::string& key) {
    if (k != "args") bad(key, show(v), "unknown key");
    if (!v.is_array()) bad(key, show(v), "expected an array of strings");
    for (const auto& a : v.as_array()) {
      if (!a.is_string()) bad(key, show(v), "expected an array of strings");
      c->eal_args.push_back(a.as_string().str);
    }
  });
}

void parse_fastpath(const toml::value& t, Config* c) {
  auto& e = c->engine;
  for_keys(t, "fastpath", [&](const std::string& k, const toml::value& v, const std::string& key) {
    if (k == "lcores") {
      if (!v.is_array() || v.as_array().empty() || v.as_array().size() > 16)
        bad(key, show(v), "expected an array of 1..16 CPU numbers");
      c->lcores.clear();
      for (const auto& x : v.as_array()) c->lcores.push_back(static_cast<unsigned>(as_uint(x, key, 0, 1023)));
      e.cores = static_cast<uint32_t>(c->lcores.size());
    } else if (k == "idle") {
      if (!v.is_string()) bad(key, show(v), "expected \"busy\" or \"adaptive\"");
      e.idle = parse_idle(v.as_string().str, key);
    } else if (k == "idle_sleep_us") {
      e.idle_sleep_us = static_cast<uint32_t>(as_uint(v, key, 1, 1000));
    } else if (k == "max_connections") {
      e.max_conns_per_core = static_cast<uint32_t>(as_uint(v, key, 16, 65536));
    } else if (k == "max_operations") {
      e.max_requests = static_cast<uint32_t>(as_uint(v, key, 1024, 4u << 20));
    } else if (k == "mbufs") {
      e.mbufs = static_cast<uint32_t>(as_uint(v, key, 1023, 1u << 20));
    } else if (k == "early_slots") {
      e.early_slots = static_cast<uint32_t>(as_uint(v, key, 1, 64));
    } else if (k == "max_registrations") {
      e.max_registrations = static_cast<uint32_t>(as_uint(v, key, 16, 1u << 20));
    } else if (k == "connect_timeout_ms") {
      e.connect_timeout_ms = static_cast<uint32_t>(as_uint(v, key, 10, 600000));
    } else if (k == "connect_retry_ms") {
      e.connect_retry_ms = static_cast<uint32_t>(as_uint(v, key, 1, 60000));
    } else if (k == "zerocopy_min") {
      e.zerocopy_min = static_cast<uint32_t>(as_uint(v, key, 0, 65535));
    } else if (k == "dma_map") {
      e.dma_map = parse_dma_map(v, key);
    } else if (k == "ack_delay_us") {
      e.ack_delay_us = static_cast<uint32_t>(as_uint(v, key, 0, 10000));
    } else if (k == "rto_min_us") {
      e.rto_min_us = static_cast<uint32_t>(as_uint(v, key, 100, 1000000));
    } else if (k == "keepalive_ms") {
      e.keepalive_ms = static_cast<uint32_t>(as_uint(v, key, 10, 600000));
    } else if (k == "peer_timeout_ms") {
      e.peer_timeout_ms = static_cast<uint32_t>(as_uint(v, key, 50, 3600000));
    } else if (k == "arp_timeout_s") {
      e.arp_timeout_s = static_cast<uint32_t>(as_uint(v, key, 1, 86400));
    } else if (k == "no_huge") {
      if (!v.is_boolean()) bad(key, show(v), "expected true or false");
      c->force_no_huge = v.as_boolean();
    } else {
      bad(key, show(v), "unknown key");
    }
  });
}

double as_probability(const toml::value& v, const std::string& key) {
  double d;
  if (v.is_floating()) d = v.as_floating();
  else if (v.is_integer()) d = static_cast<double>(v.as_integer());
  else bad(key, show(v), "expected a probability 0.0..1.0");
  if (!(d >= 0.0 && d <= 1.0)) bad(key, show(v), "expected a probability 0.0..1.0");
  return d;
}

void parse_fault(const toml::value& t, Config* c) {
  auto& f = c->fault;
  for_keys(t, "fault", [&](const std::string& k, const toml::value& v, const std::string& key) {
    if (k == "loss") f.loss = as_probability(v, key);
    else if (k == "duplicate") f.duplicate = as_probability(v, key);
    else if (k == "reorder") f.reorder = as_probability(v, key);
    else if (k == "corrupt") f.corrupt = as_probability(v, key);
    else if (k == "delay_us") f.delay_us = static_cast<uint32_t>(as_uint(v, key, 0, 1000000));
    else if (k == "flap_period_ms") f.flap_period_ms = static_cast<uint32_t>(as_uint(v, key, 0, 3600000));
    else if (k == "flap_down_ms") f.flap_down_ms = static_cast<uint32_t>(as_uint(v, key, 0, 3600000));
    else if (k == "seed") f.seed = as_uint(v, key, 0, INT64_MAX);
    else bad(key, show(v), "unknown key");
  });
  if (f.flap_down_ms > f.flap_period_ms)
    bad("fault.flap_down_ms", std::to_string(f.flap_down_ms), "must not exceed fault.flap_period_ms");
}

bool is_pci_address(const std::string& d) {
  // DDDD:BB:DD.F or BB:DD.F
  auto hex = [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; };
  std::string s = d.substr(0, d.find(','));
  if (s.size() == 7) s = "0000:" + s;
  if (s.size() != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.' || s[11] < '0' || s[11] > '7')
    return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!hex(s[i])) return false;
  return true;
}

void parse_device(const std::string& d, const std::string& key, PortConfig* p) {
  p->device = d;
  if (d == "loopback") {
    p->kind = PortConfig::Kind::kLoopback;
  } else if (d.rfind("ringpair:", 0) == 0) {
    // ringpair:NAME:SIDE
    std::string rest = d.substr(9);
    size_t colon = rest.rfind(':');
    std::string name = colon == std::string::npos ? "" : rest.substr(0, colon);
    std::string side = colon == std::string::npos ? "" : rest.substr(colon + 1);
    bool name_ok = !name.empty() && name.size() <= 12 &&
                   name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789") == std::string::npos;
    if (!name_ok || (side != "0" && side != "1"))
      bad(key, "\"" + d + "\"", "expected ringpair:NAME:0 or ringpair:NAME:1 (NAME: 1..12 letters or digits)");
    p->kind = PortConfig::Kind::kRingPair;
    p->pair = name;
    p->side = side == "1" ? 1 : 0;
  } else if (is_pci_address(d)) {
    p->kind = PortConfig::Kind::kDpdk;
    p->pci = true;
  } else if (d.rfind("net_", 0) == 0 && d.size() > 4 && d.find_first_of(" \t\n") == std::string::npos) {
    p->kind = PortConfig::Kind::kDpdk;  // a vdev string; whether it probes is known at startup
  } else {
    bad(key, "\"" + d + "\"",
        "expected \"loopback\", \"ringpair:NAME:0|1\", a DPDK vdev string (net_memif0,..., "
        "net_af_packet0,iface=..., net_ring0...) or a PCI address");
  }
}

bool parse_mac(const std::string& s, uint8_t mac[6]) {
  unsigned v[6];
  char tail;
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) != 6 || s.size() != 17)
    return false;
  for (int i = 0; i < 6; i++) mac[i] = static_cast<uint8_t>(v[i]);
  return true;
}

void parse_neighbours(const toml::value& x, const std::string& key, PortConfig* p) {
  if (!x.is_table()) bad(key, show(x), "expected a table such as { \"198.18.0.2\" = \"02:00:00:00:00:02\" }");
  for (const auto& [ip, mac] : x.as_table()) {
    Neighbour n{};
    std::string where = key + "." + ip;
    in_addr a{};
    if (inet_pton(AF_INET, ip.c_str(), &a) != 1 || a.s_addr == 0)
      bad(where, "\"" + ip + "\"", "expected an IPv4 address");
    if (!mac.is_string() || !parse_mac(mac.as_string().str, n.mac))
      bad(where, show(mac), "expected a MAC address such as \"02:00:00:00:00:02\"");
    n.ipv4 = a.s_addr;
    p->neighbours.push_back(n);
  }
}

/** bind = "IP[:PORT]" of a uring port: the address it serves and its UDP port (21316 if none). */
uint32_t parse_bind(const std::string& s, const std::string& key, PortConfig* p) {
  std::string addr = s;
  p->bind_port = 21316;
  if (auto colon = s.find(':'); colon != std::string::npos) {
    addr = s.substr(0, colon);
    std::string port = s.substr(colon + 1);
    bool digits = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string::npos;
    long v = digits ? std::strtol(port.c_str(), nullptr, 10) : 0;
    if (v < 1 || v > 65535) bad(key, "\"" + s + "\"", "expected a UDP port 1..65535 after the colon");
    p->bind_port = static_cast<uint16_t>(v);
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1 || a.s_addr == 0 || a.s_addr == INADDR_BROADCAST)
    bad(key, "\"" + s + "\"", "expected a local IPv4 address and optional port, such as 198.18.0.2:21316");
  return a.s_addr;
}

/** What a [[port]] table said beyond its device and address: the uring keys. */
struct UringKeys {
  bool uring = false, have_bind = false, have_gso = false, have_device = false;
  uint32_t bind_ip = 0;
};

/**
 * A uring port needs bind; ipv4, if given too, must name the same address (its prefix then
 * tells which destinations the port is for); no device, no neighbours (the kernel resolves).
 * Other ports may not have the uring keys.
 */
void check_uring_keys(PortConfig* p, const std::string& where, const UringKeys& u, bool have_ip) {
  if (!u.uring) {
    if (u.have_bind) bad(where + ".bind", "(set)", "only a backend = \"uring\" port binds a UDP socket");
    if (u.have_gso) bad(where + ".gso", "(set)", "only a backend = \"uring\" port has it");
    return;
  }
  if (!u.have_bind) bad(where + ".bind", "(missing)", "a backend = \"uring\" port needs bind = \"IP[:PORT]\"");
  if (u.have_device) bad(where + ".device", "\"" + p->device + "\"", "a uring port has no device");
  if (!p->neighbours.empty()) bad(where + ".neighbours", "(set)", "a uring port's kernel resolves its neighbours");
  if (have_ip && p->ipv4 != u.bind_ip) bad(where + ".ipv4", "(differs from bind)", "must be the address of bind");
  p->kind = PortConfig::Kind::kUring;
  p->ipv4 = u.bind_ip;
  if (!have_ip) p->prefix = 32;  // ipv4's prefix, when given, says which peers are on this port
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &u.bind_ip, ip, sizeof ip);
  p->device = "uring:" + std::string(ip) + ":" + std::to_string(p->bind_port);  // for messages
}

void parse_ports(const toml::value& v, Config* c) {
  if (!v.is_array()) bad("port", show(v), "expected [[port]] tables");
  c->ports.clear();
  size_t i = 0;
  for (const auto& t : v.as_array()) {
    PortConfig p;
    std::string where = "port[" + std::to_string(i++) + "]";
    bool have_ip = false;
    UringKeys u;
    for_keys(t, where, [&](const std::string& k, const toml::value& x, const std::string& key) {
      if (k == "device") {
        if (!x.is_string()) bad(key, show(x), "expected a string");
        parse_device(x.as_string().str, key, &p);
        u.have_device = true;
      } else if (k == "backend") {
        if (!x.is_string() || (x.as_string().str != "ethdev" && x.as_string().str != "uring"))
          bad(key, show(x), "expected \"ethdev\" or \"uring\"");
        u.uring = x.as_string().str == "uring";
      } else if (k == "bind") {
        if (!x.is_string()) bad(key, show(x), "expected a string such as \"198.18.0.2:21316\"");
        u.bind_ip = parse_bind(x.as_string().str, key, &p);
        u.have_bind = true;
      } else if (k == "gso") {
        if (!x.is_boolean()) bad(key, show(x), "expected true or false");
        p.gso = x.as_boolean();
        u.have_gso = true;
      } else if (k == "mtu") {
        p.mtu = static_cast<uint16_t>(as_uint(x, key, fastpath::kMtuMin, fastpath::kMtuMax));
      } else if (k == "ipv4") {
        if (!x.is_string()) bad(key, show(x), "expected a string such as \"198.18.0.1/24\"");
        parse_ipv4_prefix(x.as_string().str, key, &p);
        have_ip = true;
      } else if (k == "neighbours") {
        parse_neighbours(x, key, &p);
      } else {
        bad(key, show(x), "unknown key");
      }
    });
    check_uring_keys(&p, where, u, have_ip);
    if (p.device.empty()) bad(where + ".device", "(missing)", "every port needs a device");
    if (!have_ip && !u.uring) bad(where + ".ipv4", "(missing)", "every port needs an address");
    for (const PortConfig& q : c->ports) {
      if (q.ipv4 == p.ipv4)
        bad(where + (u.uring ? ".bind" : ".ipv4"),
            show(t.as_table().at(u.uring ? "bind" : "ipv4")), "another port serves it");
      if (q.device == p.device) bad(where + ".device", "\"" + p.device + "\"", "another port uses it");
    }
    c->ports.push_back(p);
  }
  if (c->ports.empty() || c->ports.size() > fastpath::kMaxPorts)
    bad("port", show(v), "expected 1.." + std::to_string(fastpath::kMaxPorts) + " [[port]] tables");
}

/** What the engine needs to know of the ports: the address each serves. */
void fill_port_addrs(Config* c) {
  auto& e = c->engine;
  e.ports = static_cast<uint32_t>(c->ports.size());
  for (size_t i = 0; i < c->ports.size(); i++) {
    const PortConfig& p = c->ports[i];
    e.port_addr[i].ip = p.ipv4;
    e.port_addr[i].mask = p.prefix == 0 ? 0 : htonl(~0u << (32 - p.prefix));
  }
}

uint32_t env_uint(const char* name, uint32_t lo, uint32_t hi, uint32_t dflt) {
  const char* s = std::getenv(name);
  if (s == nullptr) return dflt;
  char* end = nullptr;
  unsigned long v = std::strtoul(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi)
    bad(name, std::string("\"") + s + "\"",
        "expected " + std::to_string(lo) + ".." + std::to_string(hi) + " (environment)");
  return static_cast<uint32_t>(v);
}

void apply_env(Config* c) {
  auto& e = c->engine;
  e.connect_timeout_ms = env_uint("DPSAN_CONNECT_TIMEOUT_MS", 10, 600000, e.connect_timeout_ms);
  if (const char* s = std::getenv("DPSAN_IDLE")) e.idle = parse_idle(s, "DPSAN_IDLE");
  if (std::getenv("DPSAN_FAULT_SEED"))
    c->fault.seed = env_uint("DPSAN_FAULT_SEED", 0, UINT32_MAX, 1);
  if (const char* s = std::getenv("DPSAN_NO_HUGE")) {
    std::string v = s;
    if (v != "0" && v != "1") bad("DPSAN_NO_HUGE", "\"" + v + "\"", "expected 0 or 1 (environment)");
    c->force_no_huge = v == "1";
  }
}

}  // namespace

Config embedded_default() {
  Config c;
  PortConfig lo;
  lo.device = "loopback";
  lo.ipv4 = htonl(INADDR_LOOPBACK);
  lo.prefix = 32;
  c.ports.push_back(lo);
  fill_port_addrs(&c);
  return c;
}

bool serves_ip(const Config& c, uint32_t ip) {
  for (const PortConfig& p : c.ports)
    if (p.ipv4 == ip) return true;
  return false;
}

uint32_t source_ip_for(const Config& c, uint32_t dst) {
  for (unsigned i = 0; i < c.engine.ports; i++)
    if (c.engine.port_addr[i].contains(dst)) return c.engine.port_addr[i].ip;
  return c.ports.front().ipv4;
}

bool parse_config_text(const std::string& text, const std::string& origin, Config* out,
                       std::string* error) {
  try {
    if (size_t at = invalid_utf8_at(text); at != std::string::npos)
      bad("(file)", "byte " + std::to_string(at), "not valid UTF-8");
    std::istringstream in(text);
    toml::value root = toml::parse(in, origin);
    for_keys(root, "", [&](const std::string& k, const toml::value& v, const std::string& key) {
      if (k == "eal") parse_eal(v, out);
      else if (k == "fastpath") parse_fastpath(v, out);
      else if (k == "port") parse_ports(v, out);
      else if (k == "fault") parse_fault(v, out);
      else bad(key, show(v), "unknown key");
    });
    if (out->ports.empty()) bad("port", "(missing)", "at least one [[port]] is needed");
    fill_port_addrs(out);
    return true;
  } catch (const ConfigError& e) {
    *error = origin + ": " + e.msg;
  } catch (const std::exception& e) {
    *error = origin + ": " + one_line(e.what());
  }
  return false;
}

bool load_config(Config* out, std::string* error) {
  *out = embedded_default();
  if (const char* path = std::getenv("DPSAN_CONFIG")) {
    std::error_code ec;
    std::ifstream f(path);
    if (!std::filesystem::is_regular_file(path, ec) || !f) {
      *error = std::string("DPSAN_CONFIG = \"") + path + "\": not a readable file";
      return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    if (f.bad()) {
      *error = std::string("DPSAN_CONFIG = \"") + path + "\": read error";
      return false;
    }
    if (!parse_config_text(ss.str(), path, out, error)) return false;
  }
  try {
    apply_env(out);
  } catch (const ConfigError& e) {
    *error = e.msg;
    return false;
  }
  return true;
}

}  // namespace dpsan::control
