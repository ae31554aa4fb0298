/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * control/config.h: parse_config_text() and load_config().
 *
 * The contract under test: a valid file sets every documented key; any unknown key, wrong type,
 * out-of-range number, bad string or unsupported device is an error whose one-line message names
 * the key (as a path such as "fastpath.idle_sleep_us" or "port[0].device") and the bad value,
 * prefixed by the origin. load_config() reads DPSAN_CONFIG and then the DPSAN_* overrides; a bad
 * variable is an error naming the variable and its value.
 */
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "control/config.h"

namespace dpsan::control {
namespace {

const char* kOrigin = "unit.toml";

/** The README's full example. */
const char* kFullFile = R"(
[eal]
args = ["--no-huge", "-m", "1024"]
[fastpath]
lcores = [1, 3]
idle = "busy"
idle_sleep_us = 50
max_connections = 2048
max_operations = 65535
mbufs = 8191
early_slots = 8
zerocopy_min = 1024
dma_map = "always"
max_registrations = 4096
connect_timeout_ms = 5000
connect_retry_ms = 100
no_huge = true
[[port]]
device = "loopback"
ipv4 = "127.0.0.1/32"
)";

/** A minimal valid port, appended to texts that test other sections. */
const char* kPort = "\n[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n";

struct Parsed {
  bool ok;
  Config cfg;
  std::string err;
};

Parsed parse(const std::string& text) {
  Parsed p{false, embedded_default(), {}};
  p.ok = parse_config_text(text, kOrigin, &p.cfg, &p.err);
  return p;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------
// embedded_default()

TEST(Config, EmbeddedDefault_OneLoopbackPortServing127001) {
  Config c = embedded_default();
  // Expect: one loopback port at 127.0.0.1/32, served, one poll core, no EAL extras
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].device, "loopback");
  EXPECT_EQ(c.ports[0].ipv4, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(c.ports[0].prefix, 32);
  EXPECT_EQ(c.engine.port_addr[0].ip, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(c.engine.cores, 1u);
  EXPECT_TRUE(c.eal_args.empty());
  EXPECT_FALSE(c.force_no_huge);
}

// ---------------------------------------------------------------------------------------------
// parse_config_text(): valid input

TEST(Config, ParseConfigText_FullFileSetsEveryKey) {
  // Given the README's example with non-default values
  Parsed p = parse(kFullFile);
  ASSERT_TRUE(p.ok) << p.err;
  const Config& c = p.cfg;
  // Expect: every key lands where it belongs
  EXPECT_EQ(c.eal_args, (std::vector<std::string>{"--no-huge", "-m", "1024"}));
  EXPECT_EQ(c.lcores, (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(c.engine.cores, 2u);
  EXPECT_EQ(c.engine.idle, fastpath::IdlePolicy::kBusy);
  EXPECT_EQ(c.engine.idle_sleep_us, 50u);
  EXPECT_EQ(c.engine.max_conns_per_core, 2048u);
  EXPECT_EQ(c.engine.max_requests, 65535u);
  EXPECT_EQ(c.engine.mbufs, 8191u);
  EXPECT_EQ(c.engine.early_slots, 8u);
  EXPECT_EQ(c.engine.zerocopy_min, 1024u);
  EXPECT_EQ(c.engine.dma_map, fastpath::DmaPolicy::kAlways);
  EXPECT_EQ(c.engine.max_registrations, 4096u);
  EXPECT_EQ(c.engine.connect_timeout_ms, 5000u);
  EXPECT_EQ(c.engine.connect_retry_ms, 100u);
  EXPECT_TRUE(c.force_no_huge);
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].device, "loopback");
  EXPECT_EQ(c.ports[0].ipv4, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(c.ports[0].prefix, 32);
  EXPECT_EQ(c.engine.port_addr[0].ip, htonl(INADDR_LOOPBACK));
  EXPECT_TRUE(p.err.empty());
}

TEST(Config, ParseConfigText_EmptyTextKeepsTheDefault) {
  // Given an empty file over the embedded default
  Parsed p = parse("");
  // Expect: success, nothing changed
  ASSERT_TRUE(p.ok) << p.err;
  Config d = embedded_default();
  EXPECT_EQ(p.cfg.ports.size(), 1u);
  EXPECT_EQ(p.cfg.engine.port_addr[0].ip, d.engine.port_addr[0].ip);
  EXPECT_EQ(p.cfg.engine.idle_sleep_us, d.engine.idle_sleep_us);
  EXPECT_EQ(p.cfg.engine.connect_timeout_ms, d.engine.connect_timeout_ms);
  // Given only comments and an empty [fastpath]
  Parsed q = parse("# nothing\n[fastpath]\n");
  EXPECT_TRUE(q.ok) << q.err;
}

TEST(Config, ParseConfigText_RangeEdgesAreAccepted) {
  struct Case {
    const char* text;
    const char* what;
  } cases[] = {
      {"[fastpath]\nidle_sleep_us = 1", "idle_sleep_us low edge"},
      {"[fastpath]\nidle_sleep_us = 1000", "idle_sleep_us high edge"},
      {"[fastpath]\nmax_connections = 16", "max_connections low"},
      {"[fastpath]\nmax_connections = 65536", "max_connections high"},
      {"[fastpath]\nmax_operations = 1024", "max_operations low"},
      {"[fastpath]\nmax_operations = 4194304", "max_operations high"},
      {"[fastpath]\nmbufs = 1023", "mbufs low"},
      {"[fastpath]\nmbufs = 1048576", "mbufs high"},
      {"[fastpath]\nearly_slots = 1", "early_slots low"},
      {"[fastpath]\nearly_slots = 64", "early_slots high"},
      {"[fastpath]\nmax_registrations = 16", "max_registrations low"},
      {"[fastpath]\nmax_registrations = 1048576", "max_registrations high"},
      {"[fastpath]\nconnect_timeout_ms = 10", "connect_timeout_ms low"},
      {"[fastpath]\nconnect_timeout_ms = 600000", "connect_timeout_ms high"},
      {"[fastpath]\nconnect_retry_ms = 1", "connect_retry_ms low"},
      {"[fastpath]\nconnect_retry_ms = 60000", "connect_retry_ms high"},
      {"[fastpath]\nlcores = [0]", "lcore 0"},
      {"[fastpath]\nlcores = [1023]", "lcore 1023"},
      {"[fastpath]\nlcores = [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", "16 lcores"},
      {"[fastpath]\nidle = \"adaptive\"", "idle adaptive"},
      {"[fastpath]\nno_huge = false", "no_huge false"},
      {"[eal]\nargs = []", "no EAL arguments"},
  };
  for (const Case& c : cases) {
    // Given a value at the edge of its documented range
    Parsed p = parse(std::string(c.text) + kPort);
    // Expect: accepted
    EXPECT_TRUE(p.ok) << c.what << ": " << p.err;
  }
}

TEST(Config, ParseConfigText_Ipv4WithAndWithoutPrefix) {
  struct Case {
    const char* ipv4;
    uint32_t host_order;
    uint8_t prefix;
  } cases[] = {
      {"127.0.0.1", 0x7F000001, 32},
      {"127.0.0.1/32", 0x7F000001, 32},
      {"198.18.0.1/24", 0xC6120001, 24},
      {"10.1.2.3/0", 0x0A010203, 0},
  };
  for (const Case& c : cases) {
    // Given a port address with or without a prefix length
    Parsed p = parse(std::string("[[port]]\ndevice = \"loopback\"\nipv4 = \"") + c.ipv4 + "\"\n");
    ASSERT_TRUE(p.ok) << c.ipv4 << ": " << p.err;
    // Expect: address in network order, the prefix (32 when absent), and it is the served IP
    EXPECT_EQ(p.cfg.ports[0].ipv4, htonl(c.host_order)) << c.ipv4;
    EXPECT_EQ(p.cfg.ports[0].prefix, c.prefix) << c.ipv4;
    EXPECT_EQ(p.cfg.engine.port_addr[0].ip, htonl(c.host_order)) << c.ipv4;
  }
}

// ---------------------------------------------------------------------------------------------
// parse_config_text(): every error names the key and the value.

struct BadCase {
  const char* what;
  std::string text;
  const char* key;    // must appear in the message
  const char* value;  // must appear in the message
};

void expect_error(const BadCase& c) {
  SCOPED_TRACE(c.what);
  Parsed p = parse(c.text);
  // Expect: refused, with "origin: key = value: why"
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(contains(p.err, kOrigin)) << "message lacks the origin: " << p.err;
  EXPECT_TRUE(contains(p.err, c.key)) << "message lacks the key '" << c.key << "': " << p.err;
  EXPECT_TRUE(contains(p.err, c.value)) << "message lacks the value '" << c.value << "': " << p.err;
}

TEST(Config, ParseConfigText_UnknownKeysAreNamed) {
  const BadCase cases[] = {
      {"unknown top-level key", std::string("colour = \"red\"\n") + kPort, "colour", "\"red\""},
      {"unknown top-level table", std::string("[telemetry]\nenabled = true\n") + kPort, "telemetry",
       "enabled"},
      {"unknown key in [fastpath]", std::string("[fastpath]\nidle_sleep = 20\n") + kPort,
       "fastpath.idle_sleep", "20"},
      {"misspelt lcores", std::string("[fastpath]\nlcore = [1]\n") + kPort, "fastpath.lcore", "1"},
      {"unknown key in [eal]", std::string("[eal]\nargv = [\"-l\"]\n") + kPort, "eal.argv", "-l"},
      {"unknown key in [[port]]", "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\nspeed = 100\n",
       "port[0].speed", "100"},
  };
  for (const BadCase& c : cases) expect_error(c);
}

TEST(Config, ParseConfigText_WrongTypesAreNamed) {
  const BadCase cases[] = {
      {"string for an integer", std::string("[fastpath]\nidle_sleep_us = \"20\"\n") + kPort,
       "fastpath.idle_sleep_us", "\"20\""},
      {"float for an integer", std::string("[fastpath]\nconnect_timeout_ms = 2.5\n") + kPort,
       "fastpath.connect_timeout_ms", "2.5"},
      {"bool for an integer", std::string("[fastpath]\nearly_slots = true\n") + kPort,
       "fastpath.early_slots", "true"},
      {"integer for idle", std::string("[fastpath]\nidle = 1\n") + kPort, "fastpath.idle", "1"},
      {"integer for no_huge", std::string("[fastpath]\nno_huge = 1\n") + kPort, "fastpath.no_huge",
       "1"},
      {"lcores not an array", std::string("[fastpath]\nlcores = 1\n") + kPort, "fastpath.lcores",
       "1"},
      {"lcores of strings", std::string("[fastpath]\nlcores = [\"a\"]\n") + kPort,
       "fastpath.lcores", "\"a\""},
      {"eal args not an array", std::string("[eal]\nargs = \"--no-huge\"\n") + kPort, "eal.args",
       "\"--no-huge\""},
      {"eal args of integers", std::string("[eal]\nargs = [1]\n") + kPort, "eal.args", "1"},
      {"[fastpath] not a table", std::string("fastpath = 3\n") + kPort, "fastpath", "3"},
      {"[eal] not a table", std::string("eal = \"x\"\n") + kPort, "eal", "\"x\""},
      {"port as a table, not [[port]]", "[port]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\n",
       "port", "loopback"},
      {"device not a string", "[[port]]\ndevice = 1\nipv4 = \"127.0.0.1\"\n", "port[0].device", "1"},
      {"ipv4 not a string", "[[port]]\ndevice = \"loopback\"\nipv4 = 2130706433\n", "port[0].ipv4",
       "2130706433"},
  };
  for (const BadCase& c : cases) expect_error(c);
}

TEST(Config, ParseConfigText_OutOfRangeNumbersAreNamed) {
  struct Range {
    const char* key;
    long long below, above;  // just outside the documented range
  } ranges[] = {
      {"idle_sleep_us", 0, 1001},
      {"max_connections", 15, 65537},
      {"max_operations", 1023, 4194305},
      {"mbufs", 1022, 1048577},
      {"early_slots", 0, 65},
      {"max_registrations", 15, 1048577},
      {"connect_timeout_ms", 9, 600001},
      {"connect_retry_ms", 0, 60001},
      {"zerocopy_min", -1, 65536},
  };
  for (const Range& r : ranges) {
    for (long long v : {r.below, r.above, -1LL, 9223372036854775807LL}) {
      std::string value = std::to_string(v);
      std::string key = std::string("fastpath.") + r.key;
      // Given a value just outside the range, a negative one, and the largest TOML integer
      expect_error({r.key, std::string("[fastpath]\n") + r.key + " = " + value + "\n" + kPort,
                    key.c_str(), value.c_str()});
    }
  }
  const BadCase lcores[] = {
      {"lcore 1024", std::string("[fastpath]\nlcores = [1024]\n") + kPort, "fastpath.lcores", "1024"},
      {"negative lcore", std::string("[fastpath]\nlcores = [-1]\n") + kPort, "fastpath.lcores", "-1"},
      {"no lcores", std::string("[fastpath]\nlcores = []\n") + kPort, "fastpath.lcores", "[]"},
      {"17 lcores",
       std::string("[fastpath]\nlcores = [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]\n") + kPort,
       "fastpath.lcores", "16"},
  };
  for (const BadCase& c : lcores) expect_error(c);
}

TEST(Config, ParseConfigText_BadStringsAreNamed) {
  const BadCase cases[] = {
      {"idle policy", std::string("[fastpath]\nidle = \"lazy\"\n") + kPort, "fastpath.idle",
       "\"lazy\""},
      {"idle policy case", std::string("[fastpath]\nidle = \"Busy\"\n") + kPort, "fastpath.idle",
       "\"Busy\""},
      {"empty idle policy", std::string("[fastpath]\nidle = \"\"\n") + kPort, "fastpath.idle",
       "\"\""},
      {"dma_map policy", std::string("[fastpath]\ndma_map = \"sometimes\"\n") + kPort,
       "fastpath.dma_map", "\"sometimes\""},
      {"dma_map case", std::string("[fastpath]\ndma_map = \"Always\"\n") + kPort,
       "fastpath.dma_map", "\"Always\""},
      {"dma_map boolean", std::string("[fastpath]\ndma_map = true\n") + kPort, "fastpath.dma_map",
       "true"},
  };
  for (const BadCase& c : cases) expect_error(c);
}

TEST(Config, ParseConfigText_BadIpv4IsNamed) {
  for (const char* ip : {"300.0.0.1/32", "127.0.0.1/33", "127.0.0.1/", "127.0.0.1/-1", "127.0.0.1/8x",
                         "0.0.0.0/32", "localhost", "", "127.0.0", "::1", "127.0.0.1/32/1"}) {
    // Given a port address that is not an IPv4 address with an optional 0..32 prefix
    std::string quoted = std::string("\"") + ip + "\"";
    expect_error({ip, "[[port]]\ndevice = \"loopback\"\nipv4 = " + quoted + "\n", "port[0].ipv4",
                  quoted.c_str()});
  }
}

TEST(Config, ParseConfigText_PortDevicesAccepted) {
  // Given two ports of a ring pair, a vdev and a PCI address, with a static neighbour
  Parsed p = parse(
      "[[port]]\ndevice = \"ringpair:ab:0\"\nipv4 = \"198.18.0.1/24\"\n"
      "neighbours = { \"198.18.0.9\" = \"02:00:00:00:00:09\" }\n"
      "[[port]]\ndevice = \"ringpair:ab:1\"\nipv4 = \"198.18.0.2/24\"\n"
      "[[port]]\ndevice = \"net_memif0,role=server,socket=/tmp/x.sock\"\nipv4 = \"198.18.1.1/16\"\n"
      "[[port]]\ndevice = \"0000:03:00.0\"\nipv4 = \"198.19.0.1\"\n");
  // Expect: all four, with their kinds, and the engine told each address and mask
  ASSERT_TRUE(p.ok) << p.err;
  ASSERT_EQ(p.cfg.ports.size(), 4u);
  EXPECT_EQ(p.cfg.ports[0].kind, dpsan::control::PortConfig::Kind::kRingPair);
  EXPECT_EQ(p.cfg.ports[0].pair, "ab");
  EXPECT_EQ(p.cfg.ports[1].side, 1u);
  ASSERT_EQ(p.cfg.ports[0].neighbours.size(), 1u);
  EXPECT_EQ(p.cfg.ports[0].neighbours[0].mac[5], 9);
  EXPECT_EQ(p.cfg.ports[2].kind, dpsan::control::PortConfig::Kind::kDpdk);
  EXPECT_FALSE(p.cfg.ports[2].pci);
  EXPECT_TRUE(p.cfg.ports[3].pci);
  EXPECT_EQ(p.cfg.engine.ports, 4u);
  EXPECT_EQ(p.cfg.engine.port_addr[2].mask, htonl(0xffff0000u));
  EXPECT_EQ(p.cfg.engine.port_addr[3].mask, 0xffffffffu);
  // Expect: an unbound connection leaves by the port whose subnet holds the peer
  EXPECT_EQ(dpsan::control::source_ip_for(p.cfg, p.cfg.engine.port_addr[2].ip ^ htonl(0x0200)),
            p.cfg.engine.port_addr[2].ip);
  EXPECT_EQ(dpsan::control::source_ip_for(p.cfg, htonl(0x0a000001)), p.cfg.ports[0].ipv4);
}

TEST(Config, ParseConfigText_PortDeviceRules) {
  const BadCase cases[] = {
      {"missing device", "[[port]]\nipv4 = \"127.0.0.1/32\"\n", "port[0].device", "(missing)"},
      {"missing ipv4", "[[port]]\ndevice = \"loopback\"\n", "port[0].ipv4", "(missing)"},
      {"empty device", "[[port]]\ndevice = \"\"\nipv4 = \"127.0.0.1/32\"\n", "port[0].device",
       "\"\""},
      {"not a device string", "[[port]]\ndevice = \"memif0\"\nipv4 = \"198.18.0.1/24\"\n",
       "port[0].device", "\"memif0\""},
      {"ring pair without side", "[[port]]\ndevice = \"ringpair:a\"\nipv4 = \"198.18.0.1/24\"\n",
       "port[0].device", "\"ringpair:a\""},
      {"ring pair side 2", "[[port]]\ndevice = \"ringpair:a:2\"\nipv4 = \"198.18.0.1/24\"\n",
       "port[0].device", "\"ringpair:a:2\""},
      {"same address twice",
       "[[port]]\ndevice = \"ringpair:a:0\"\nipv4 = \"198.18.0.1/24\"\n"
       "[[port]]\ndevice = \"ringpair:a:1\"\nipv4 = \"198.18.0.1/24\"\n",
       "port[1].ipv4", "198.18.0.1/24"},
      {"bad static neighbour MAC",
       "[[port]]\ndevice = \"loopback\"\nipv4 = \"198.18.0.1/24\"\n"
       "neighbours = { \"198.18.0.2\" = \"02:00:00:00:00\" }\n",
       "port[0].neighbours.198.18.0.2", "02:00:00:00:00"},
      {"bad static neighbour address",
       "[[port]]\ndevice = \"loopback\"\nipv4 = \"198.18.0.1/24\"\n"
       "neighbours = { \"198.18.0\" = \"02:00:00:00:00:02\" }\n",
       "port[0].neighbours.198.18.0", "198.18.0"},
      {"loopback misspelt", "[[port]]\ndevice = \"Loopback\"\nipv4 = \"127.0.0.1/32\"\n",
       "port[0].device", "\"Loopback\""},
      {"two loopback ports",
       std::string(kPort) + "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.2/32\"\n",
       "port[1].device", "\"loopback\""},
      {"second port bad", std::string(kPort) + "[[port]]\ndevice = \"eth1\"\nipv4 = \"127.0.0.2\"\n",
       "port[1].device", "\"eth1\""},
  };
  for (const BadCase& c : cases) expect_error(c);
}

// A uring port: bind = "IP[:PORT]" names the address it serves (ipv4, if given, must agree) and
// its UDP port, 21316 by default.
TEST(Config, ParseConfigText_UringPortBindsAnAddressAndPort) {
  Parsed p = parse("[[port]]\nbackend = \"uring\"\nbind = \"198.18.0.2\"\n");
  ASSERT_TRUE(p.ok) << p.err;
  ASSERT_EQ(p.cfg.ports.size(), 1u);
  EXPECT_EQ(p.cfg.ports[0].kind, PortConfig::Kind::kUring);
  EXPECT_EQ(p.cfg.ports[0].ipv4, inet_addr("198.18.0.2"));
  EXPECT_EQ(p.cfg.ports[0].bind_port, 21316);
  EXPECT_EQ(p.cfg.ports[0].prefix, 32);
  EXPECT_EQ(p.cfg.engine.port_addr[0].ip, inet_addr("198.18.0.2"));
  EXPECT_EQ(p.cfg.ports[0].device, "uring:198.18.0.2:21316");

  p = parse("[[port]]\nbind = \"127.0.0.5:4000\"\nipv4 = \"127.0.0.5/8\"\nbackend = \"uring\"\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.cfg.ports[0].ipv4, inet_addr("127.0.0.5"));
  EXPECT_EQ(p.cfg.ports[0].prefix, 8);
  EXPECT_EQ(p.cfg.ports[0].bind_port, 4000);

  EXPECT_TRUE(p.cfg.ports[0].gso);
  p = parse("[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.5\"\ngso = false\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_FALSE(p.cfg.ports[0].gso);

  p = parse("[[port]]\nbackend = \"ethdev\"\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.cfg.ports[0].kind, PortConfig::Kind::kLoopback);

  // A uring port among others: two uring ports on two addresses, and an ethdev port.
  p = parse("[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.5\"\n"
            "[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.6\"\n"
            "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.cfg.ports.size(), 3u);
}

TEST(Config, ParseConfigText_UringPortRules) {
  const std::string u = "[[port]]\nbackend = \"uring\"\n";
  const BadCase cases[] = {
      {"unknown backend", "[[port]]\nbackend = \"xdp\"\nbind = \"127.0.0.2\"\n", "port[0].backend", "\"xdp\""},
      {"backend not a string", "[[port]]\nbackend = 1\n", "port[0].backend", "1"},
      {"no bind", u + "ipv4 = \"127.0.0.2/32\"\n", "port[0].bind", "(missing)"},
      {"bind not a string", u + "bind = 5\n", "port[0].bind", "5"},
      {"bind any", u + "bind = \"0.0.0.0:21316\"\n", "port[0].bind", "\"0.0.0.0:21316\""},
      {"bind a name", u + "bind = \"localhost\"\n", "port[0].bind", "\"localhost\""},
      {"bind port 0", u + "bind = \"127.0.0.2:0\"\n", "port[0].bind", "\"127.0.0.2:0\""},
      {"bind port too big", u + "bind = \"127.0.0.2:65536\"\n", "port[0].bind", "\"127.0.0.2:65536\""},
      {"bind port empty", u + "bind = \"127.0.0.2:\"\n", "port[0].bind", "\"127.0.0.2:\""},
      {"bind port not a number", u + "bind = \"127.0.0.2:x1\"\n", "port[0].bind", "\"127.0.0.2:x1\""},
      {"ipv4 differs", u + "bind = \"127.0.0.2\"\nipv4 = \"127.0.0.3/32\"\n", "port[0].ipv4", "differs"},
      {"a device too", u + "bind = \"127.0.0.2\"\ndevice = \"loopback\"\n", "port[0].device", "\"loopback\""},
      {"gso not a boolean", u + "bind = \"127.0.0.2\"\ngso = 1\n", "port[0].gso", "1"},
      {"gso on an ethdev port", "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\ngso = false\n",
       "port[0].gso", "(set)"},
      {"neighbours on a uring port", u + "bind = \"127.0.0.2\"\nneighbours = { \"127.0.0.9\" = \"02:00:00:00:00:09\" }\n",
       "port[0].neighbours", "(set)"},
      {"two uring ports on one address", u + "bind = \"127.0.0.2\"\n" + u + "bind = \"127.0.0.2:4000\"\n",
       "port[1].bind", "127.0.0.2:4000"},
      {"bind on an ethdev port", "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\nbind = \"127.0.0.1\"\n",
       "port[0].bind", "(set)"},
  };
  for (const BadCase& c : cases) expect_error(c);
}

TEST(Config, ParseConfigText_PortMtu) {
  // Given no mtu; Expect: 0 (the port's default: 9000 on in-process ports, README "Ports")
  Parsed p = parse("[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.cfg.ports[0].mtu, 0);
  // Given the range edges on every kind of port; Expect: taken as written
  p = parse("[[port]]\ndevice = \"ringpair:m:0\"\nipv4 = \"198.18.0.1/24\"\nmtu = 576\n"
            "[[port]]\ndevice = \"ringpair:m:1\"\nipv4 = \"198.18.0.2/24\"\nmtu = 9000\n"
            "[[port]]\nbackend = \"uring\"\nbind = \"127.0.0.5\"\nmtu = 1500\n"
            "[[port]]\ndevice = \"net_ring0\"\nipv4 = \"198.18.1.1/24\"\nmtu = 4000\n");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.cfg.ports[0].mtu, 576);
  EXPECT_EQ(p.cfg.ports[1].mtu, 9000);
  EXPECT_EQ(p.cfg.ports[2].mtu, 1500);
  EXPECT_EQ(p.cfg.ports[3].mtu, 4000);
  // Given values out of range or of the wrong type; Expect: the key and the value named
  const std::string lo = "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/32\"\n";
  const BadCase cases[] = {
      {"below IPv4's minimum", lo + "mtu = 575\n", "port[0].mtu", "575"},
      {"above jumbo", lo + "mtu = 9001\n", "port[0].mtu", "9001"},
      {"zero", lo + "mtu = 0\n", "port[0].mtu", "0"},
      {"negative", lo + "mtu = -1500\n", "port[0].mtu", "-1500"},
      {"a string", lo + "mtu = \"jumbo\"\n", "port[0].mtu", "\"jumbo\""},
      {"second port", lo + "[[port]]\ndevice = \"ringpair:x:0\"\nipv4 = \"198.18.0.1/24\"\nmtu = 65536\n",
       "port[1].mtu", "65536"},
  };
  for (const BadCase& c : cases) expect_error(c);
}

TEST(Config, ParseConfigText_ErrorMessageIsOneLine) {
  // The contract (config.h) promises "a one-line message naming the key and value", and
  // WSPStartupEx prints it as one stderr line. Values that are arrays or tables must be shown
  // on that line too.
  const BadCase cases[] = {
      {"integer value", std::string("[fastpath]\nidle_sleep_us = 0\n") + kPort,
       "fastpath.idle_sleep_us", "0"},
      {"array value, unknown key", std::string("[fastpath]\nlcore = [1]\n") + kPort,
       "fastpath.lcore", "1"},
      {"array value, wrong element type", std::string("[eal]\nargs = [1]\n") + kPort, "eal.args",
       "1"},
      {"array value, out of range", std::string("[fastpath]\nlcores = [1024]\n") + kPort,
       "fastpath.lcores", "1024"},
      {"table value", "[port]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1\"\n", "port",
       "loopback"},
      {"array of tables value", "port = [1, 2]\n", "port", "2"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.what);
    // Given a bad value of this shape
    Parsed p = parse(c.text);
    ASSERT_FALSE(p.ok);
    // Expect: the message is a single line
    EXPECT_EQ(p.err.find('\n'), std::string::npos) << "not one line:\n" << p.err;
  }
}

TEST(Config, ParseConfigText_TomlSyntaxErrorNamesTheOrigin) {
  for (const char* text : {"[fastpath\nidle = \"busy\"\n", "[fastpath]\nidle = \n",
                           "[fastpath]\nidle = \"busy\"\nidle = \"busy\"\n",  // duplicate key
                           "[fastpath]\nidle_sleep_us = 99999999999999999999\n",
                           "= 3\n", "[fastpath]\nidle = 'busy\n"}) {
    SCOPED_TRACE(text);
    // Given text that is not TOML
    Parsed p = parse(text);
    // Expect: refused, the message names the origin
    EXPECT_FALSE(p.ok);
    EXPECT_TRUE(contains(p.err, kOrigin)) << p.err;
  }
}

TEST(Config, ParseConfigText_NoPortOnEmptyConfigIsAnError) {
  // Given a Config with no port (not the embedded default) and text without [[port]]
  Config c;
  std::string err;
  bool ok = parse_config_text("[fastpath]\nidle = \"busy\"\n", kOrigin, &c, &err);
  // Expect: refused with a message about the port, not a bare library exception
  EXPECT_FALSE(ok);
  EXPECT_TRUE(contains(err, "port")) << err;
}

// ---------------------------------------------------------------------------------------------
// load_config(): DPSAN_CONFIG, then DPSAN_* overrides. The environment is restored after each.

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class LoadConfig : public ::testing::Test {
 protected:
  // Every test starts with none of dpsan's variables set.
  ScopedEnv config_{"DPSAN_CONFIG", nullptr};
  ScopedEnv timeout_{"DPSAN_CONNECT_TIMEOUT_MS", nullptr};
  ScopedEnv idle_{"DPSAN_IDLE", nullptr};
  ScopedEnv no_huge_{"DPSAN_NO_HUGE", nullptr};

  std::string write_file(const std::string& text) {
    std::string path = ::testing::TempDir() + "dpsan_unit_config_XXXXXX";
    std::vector<char> buf(path.begin(), path.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0) {
      EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
      close(fd);
    }
    files_.push_back(buf.data());
    return buf.data();
  }
  void TearDown() override {
    for (const auto& f : files_) unlink(f.c_str());
  }
  std::vector<std::string> files_;
};

TEST_F(LoadConfig, NoVariablesGivesTheEmbeddedDefault) {
  // Given no DPSAN_* variable
  Config c;
  std::string err;
  // Expect: success with the embedded default
  ASSERT_TRUE(load_config(&c, &err)) << err;
  Config d = embedded_default();
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].device, "loopback");
  EXPECT_EQ(c.engine.port_addr[0].ip, d.engine.port_addr[0].ip);
  EXPECT_EQ(c.engine.connect_timeout_ms, d.engine.connect_timeout_ms);
  EXPECT_EQ(c.engine.idle, d.engine.idle);
}

TEST_F(LoadConfig, ConnectTimeoutVariable) {
  struct Case {
    const char* value;
    bool ok;
    uint32_t want;
  } cases[] = {
      {"10", true, 10},       {"600000", true, 600000}, {"1234", true, 1234},
      {"abc", false, 0},      {"", false, 0},           {"9", false, 0},
      {"600001", false, 0},   {"-1", false, 0},         {"12ms", false, 0},
      {"18446744073709551617", false, 0},  // past unsigned long
      {"4294967306", false, 0},            // 2^32 + 10: must not wrap into range
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "DPSAN_CONNECT_TIMEOUT_MS=\"" << c.value << "\"");
    // Given DPSAN_CONNECT_TIMEOUT_MS set to the value
    ScopedEnv env("DPSAN_CONNECT_TIMEOUT_MS", c.value);
    Config cfg;
    std::string err;
    bool ok = load_config(&cfg, &err);
    // Expect: applied when in 10..600000; otherwise an error naming the variable and value
    EXPECT_EQ(ok, c.ok) << err;
    if (c.ok) {
      EXPECT_EQ(cfg.engine.connect_timeout_ms, c.want);
    } else {
      EXPECT_TRUE(contains(err, "DPSAN_CONNECT_TIMEOUT_MS")) << err;
      EXPECT_TRUE(contains(err, std::string("\"") + c.value + "\"")) << err;
    }
  }
}

TEST_F(LoadConfig, IdleAndNoHugeVariables) {
  {
    // Given DPSAN_IDLE=busy and DPSAN_NO_HUGE=1
    ScopedEnv a("DPSAN_IDLE", "busy"), b("DPSAN_NO_HUGE", "1");
    Config c;
    std::string err;
    // Expect: applied
    ASSERT_TRUE(load_config(&c, &err)) << err;
    EXPECT_EQ(c.engine.idle, fastpath::IdlePolicy::kBusy);
    EXPECT_TRUE(c.force_no_huge);
  }
  for (auto [name, value] : {std::pair{"DPSAN_IDLE", "lazy"}, std::pair{"DPSAN_IDLE", ""},
                             std::pair{"DPSAN_NO_HUGE", "2"}, std::pair{"DPSAN_NO_HUGE", "yes"},
                             std::pair{"DPSAN_NO_HUGE", ""}}) {
    SCOPED_TRACE(testing::Message() << name << "=\"" << value << "\"");
    // Given a bad value
    ScopedEnv e(name, value);
    Config c;
    std::string err;
    // Expect: an error naming the variable and the value
    EXPECT_FALSE(load_config(&c, &err));
    EXPECT_TRUE(contains(err, name)) << err;
    EXPECT_TRUE(contains(err, std::string("\"") + value + "\"")) << err;
  }
}

TEST_F(LoadConfig, ConfigFileIsReadThenEnvironmentOverrides) {
  // Given a file setting connect_timeout_ms = 5000 and idle = busy
  std::string path = write_file(
      "[fastpath]\nconnect_timeout_ms = 5000\nidle = \"busy\"\n"
      "[[port]]\ndevice = \"loopback\"\nipv4 = \"127.0.0.1/8\"\n");
  ScopedEnv env("DPSAN_CONFIG", path.c_str());
  {
    Config c;
    std::string err;
    // Expect: the file's values
    ASSERT_TRUE(load_config(&c, &err)) << err;
    EXPECT_EQ(c.engine.connect_timeout_ms, 5000u);
    EXPECT_EQ(c.engine.idle, fastpath::IdlePolicy::kBusy);
    EXPECT_EQ(c.ports[0].prefix, 8);
  }
  {
    // Given also DPSAN_CONNECT_TIMEOUT_MS=20 and DPSAN_IDLE=adaptive
    ScopedEnv t("DPSAN_CONNECT_TIMEOUT_MS", "20"), i("DPSAN_IDLE", "adaptive");
    Config c;
    std::string err;
    // Expect: the environment wins
    ASSERT_TRUE(load_config(&c, &err)) << err;
    EXPECT_EQ(c.engine.connect_timeout_ms, 20u);
    EXPECT_EQ(c.engine.idle, fastpath::IdlePolicy::kAdaptive);
  }
}

TEST_F(LoadConfig, ErrorInTheFileNamesFileKeyAndValue) {
  // Given DPSAN_CONFIG naming a file with a bad value
  std::string path = write_file(std::string("[fastpath]\nidle_sleep_us = 0\n") + kPort);
  ScopedEnv env("DPSAN_CONFIG", path.c_str());
  Config c;
  std::string err;
  // Expect: refused; the message names the file, the key and the value
  EXPECT_FALSE(load_config(&c, &err));
  EXPECT_TRUE(contains(err, path)) << err;
  EXPECT_TRUE(contains(err, "fastpath.idle_sleep_us = 0")) << err;
}

TEST_F(LoadConfig, MissingConfigFileNamesDpsanConfig) {
  // Given DPSAN_CONFIG naming a file that does not exist
  std::string path = ::testing::TempDir() + "dpsan_unit_no_such_file.toml";
  unlink(path.c_str());
  ScopedEnv env("DPSAN_CONFIG", path.c_str());
  Config c;
  std::string err;
  // Expect: refused; the message names the variable and the path
  EXPECT_FALSE(load_config(&c, &err));
  EXPECT_TRUE(contains(err, "DPSAN_CONFIG")) << err;
  EXPECT_TRUE(contains(err, path)) << err;
}

TEST_F(LoadConfig, UnreadableConfigPathNamesDpsanConfig) {
  // Given DPSAN_CONFIG naming a directory (it opens, but it is not a file that can be read)
  std::string dir = ::testing::TempDir();
  ScopedEnv env("DPSAN_CONFIG", dir.c_str());
  Config c;
  std::string err;
  bool ok = load_config(&c, &err);
  // Expect: refused with a message naming DPSAN_CONFIG, not a silent fall-back to the default
  EXPECT_FALSE(ok);
  EXPECT_TRUE(contains(err, "DPSAN_CONFIG")) << err;
}

TEST_F(LoadConfig, EmptyDpsanConfigValue) {
  // Given DPSAN_CONFIG set to the empty string
  ScopedEnv env("DPSAN_CONFIG", "");
  Config c;
  std::string err;
  // Expect: refused, naming DPSAN_CONFIG (no file named "" exists)
  EXPECT_FALSE(load_config(&c, &err));
  EXPECT_TRUE(contains(err, "DPSAN_CONFIG")) << err;
}

}  // namespace
}  // namespace dpsan::control
