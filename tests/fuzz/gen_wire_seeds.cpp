/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Writes the seed corpus of fuzz_wire_decode: valid frames of every opcode, made by
 * wire::encode() (so they pass every check in decode(), checksums included), each one checked
 * with wire::decode() before it is written. Deterministic: the same files on every run.
 *
 * Usage: gen_wire_seeds DIR           write the seeds (DIR is normally tests/fuzz/corpus/wire_decode)
 *        gen_wire_seeds --check DIR   fail if a seed in DIR is missing or differs (the wire format
 *                                     changed and the seeds were not regenerated)
 */
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "fastpath/wire/codec.h"
#include "fastpath/wire/header.h"
#include "fastpath/wire/mss.h"
#include "fastpath/wire/rdma.h"

namespace wire = dpsan::fastpath::wire;

namespace {

struct Seed {
  std::string name;
  wire::Fields f;
  std::vector<uint8_t> payload;
  size_t pad = 0;  ///< trailing bytes after the IP packet (Ethernet minimum-size padding)
};

wire::L3Addr addr_a() {
  wire::L3Addr a{};
  const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::memcpy(a.src_mac, src, 6);
  std::memcpy(a.dst_mac, dst, 6);
  a.src_ip = htonl(0xc6120001);  // 198.18.0.1
  a.dst_ip = htonl(0xc6120002);  // 198.18.0.2
  return a;
}

wire::L3Addr addr_loopback() {
  wire::L3Addr a{};
  a.src_ip = a.dst_ip = htonl(INADDR_LOOPBACK);
  return a;
}

wire::Fields fields(uint8_t op, uint32_t dst, uint32_t src, uint32_t psn, uint32_t ack) {
  wire::Fields f{};
  f.opcode = op;
  f.dst_conn = dst;
  f.src_conn = src;
  f.psn = psn;
  f.ack_psn = ack;
  f.recv_limit = 8;
  f.early_limit = 12;
  return f;
}

/** `word`: the reason of a REJECT, the rx_mss of a CONNECT_REQ / ACCEPT (header.h). */
std::vector<uint8_t> connect_body(uint32_t ip, uint16_t sport, uint16_t dport, uint32_t word) {
  wire::ConnectBody b{};
  b.src_ip = wire::be32::of(ip);
  b.src_port = wire::be16::of(sport);
  b.dst_port = wire::be16::of(dport);
  b.reason = wire::be32::of(word);
  std::vector<uint8_t> v(sizeof b);
  std::memcpy(v.data(), &b, sizeof b);
  return v;
}

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

wire::Fields data_fields(uint16_t flags, uint32_t seq, uint32_t len, uint32_t off, uint32_t psn) {
  wire::Fields f = fields(wire::kData, 0x10002, 0x20001, psn, 41);
  f.flags = flags;
  f.msg_seq = seq;
  f.msg_len = len;
  f.msg_offset = off;
  return f;
}

std::vector<uint8_t> reset_body(uint32_t reason) {
  wire::ResetBody b{wire::be32::of(reason)};
  std::vector<uint8_t> v(sizeof b);
  std::memcpy(v.data(), &b, sizeof b);
  return v;
}

wire::Fields rdma_fields(uint8_t op, uint16_t flags, uint32_t seq, uint32_t len, uint32_t off,
                         uint32_t psn) {
  wire::Fields f = fields(op, 0x10002, 0x20001, psn, 41);
  f.flags = flags;
  f.msg_seq = seq;
  f.msg_len = len;
  f.msg_offset = off;
  return f;
}

std::vector<uint8_t> rdma_payload(const wire::RdmaRef& ref, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> v(sizeof(wire::RdmaBody));
  wire::put_rdma_body(v.data(), ref);
  v.insert(v.end(), data.begin(), data.end());
  return v;
}

std::vector<Seed> seeds() {
  std::vector<Seed> s;
  const uint32_t ip_a = 0xc6120001;
  // rx_mss: 8,916 (MTU 9000), 1,416 (MTU 1500), and 0 (a peer older than the field).
  s.push_back({"01-connect_req", fields(wire::kConnectReq, 0, 0x20001, 0, 0),
               connect_body(ip_a, 40000, 5001, wire::mss_of_mtu(9000))});
  s.push_back({"01-connect_req-retry", fields(wire::kConnectReq, 0, 0x20001, 1, 0),
               connect_body(ip_a, 40000, 5001, wire::mss_of_mtu(9000))});
  s.push_back({"01-connect_req-old-peer", fields(wire::kConnectReq, 0, 0x20001, 0, 0),
               connect_body(ip_a, 40000, 5001, 0)});
  s.push_back({"02-accept", fields(wire::kAccept, 0x20001, 0x10002, 0, 0),
               connect_body(0xc6120002, 5001, 40000, wire::kMssConservative)});
  s.push_back({"02-accept-old-peer", fields(wire::kAccept, 0x20001, 0x10002, 0, 0),
               connect_body(0xc6120002, 5001, 40000, 0)});
  s.push_back({"03-reject-refused", fields(wire::kReject, 0x20001, 0, 0, 0),
               connect_body(0xc6120002, 5001, 40000, wire::kRefused)});
  s.push_back({"03-reject-nobufs", fields(wire::kReject, 0x20001, 0, 0, 0),
               connect_body(0xc6120002, 5001, 40000, wire::kNoResources)});
  // DATA: one-segment messages, an empty one, and the first, middle and last of three segments.
  s.push_back({"04-data-single", data_fields(wire::kFirst | wire::kLast, 1, 64, 0, 1),
               bytes(64, 1)});
  s.push_back({"04-data-empty", data_fields(wire::kFirst | wire::kLast, 2, 0, 0, 2), {}});
  s.push_back({"04-data-first", data_fields(wire::kFirst, 3, 300, 0, 3), bytes(128, 3)});
  s.push_back({"04-data-middle", data_fields(0, 3, 300, 128, 4), bytes(128, 4)});
  s.push_back({"04-data-last", data_fields(wire::kLast, 3, 300, 256, 5), bytes(44, 5)});
  s.push_back({"04-data-1byte-padded", data_fields(wire::kFirst | wire::kLast, 4, 1, 0, 6),
               bytes(1, 6), 5});
  {
    // Packed DATA (header.h, kPacked): three whole messages of 5, 0 and 64 bytes.
    std::vector<uint8_t> p;
    for (uint32_t n : {5u, 0u, 64u}) {
      uint8_t len[wire::kPackedLenBytes];
      wire::packed_put_len(len, n);
      p.insert(p.end(), len, len + sizeof len);
      std::vector<uint8_t> b = bytes(n, static_cast<uint8_t>(n));
      p.insert(p.end(), b.begin(), b.end());
    }
    s.push_back({"04-data-packed",
                 data_fields(wire::kFirst | wire::kLast | wire::kPacked, 5, 3, 0, 7), p});
  }
  s.push_back({"05-ack", fields(wire::kAck, 0x10002, 0x20001, 0, 6), {}});
  s.push_back({"05-ack-padded", fields(wire::kAck, 0x10002, 0x20001, 0, 7), {}, 12});
  s.push_back({"06-credit", fields(wire::kCredit, 0x10002, 0x20001, 0, 6), {}});
  s.push_back({"07-reset", fields(wire::kReset, 0x10002, 0x20001, 7, 6), {}});
  s.push_back({"08-keepalive", fields(wire::kKeepalive, 0x10002, 0x20001, 7, 6), {}});
  s.push_back({"08-keepalive-payload", fields(wire::kKeepalive, 0x10002, 0x20001, 7, 6),
               bytes(16, 8)});
  s.push_back({"07-reset-reason", fields(wire::kReset, 0x10002, 0x20001, 7, 6),
               reset_body(wire::kConnAborted)});
  // RDMA: a one-frame write, the first/middle/last of a segmented one, a read request and the
  // first and last frames of its response.
  wire::RdmaRef ref{0x10002, 3, 7, 0x0123456789abcdefull, 4096};
  s.push_back({"09-rdma-write-single", rdma_fields(wire::kRdmaWrite, wire::kFirst | wire::kLast, 0, 64, 0, 8),
               rdma_payload(ref, bytes(64, 9))});
  s.push_back({"09-rdma-write-empty", rdma_fields(wire::kRdmaWrite, wire::kFirst | wire::kLast, 0, 0, 0, 9),
               rdma_payload(ref, {})});
  s.push_back({"09-rdma-write-first", rdma_fields(wire::kRdmaWrite, wire::kFirst, 0, 300, 0, 10),
               rdma_payload(ref, bytes(128, 10))});
  s.push_back({"09-rdma-write-middle", rdma_fields(wire::kRdmaWrite, 0, 0, 300, 128, 11),
               rdma_payload(ref, bytes(128, 11))});
  s.push_back({"09-rdma-write-last", rdma_fields(wire::kRdmaWrite, wire::kLast, 0, 300, 256, 12),
               rdma_payload(ref, bytes(44, 12))});
  s.push_back({"10-rdma-read-req", rdma_fields(wire::kRdmaReadReq, wire::kFirst | wire::kLast, 5, 1u << 20, 0, 13),
               rdma_payload(ref, {})});
  s.push_back({"11-rdma-read-resp-first", rdma_fields(wire::kRdmaReadResp, wire::kFirst, 5, 300, 0, 14),
               bytes(200, 14)});
  s.push_back({"11-rdma-read-resp-last", rdma_fields(wire::kRdmaReadResp, wire::kLast, 5, 300, 200, 15),
               bytes(100, 15)});
  return s;
}

/** The bytes of every seed file, by file name. */
bool build_all(std::vector<std::pair<std::string, std::vector<uint8_t>>>* files) {
  for (const Seed& sd : seeds()) {
    for (int variant = 0; variant < 2; variant++) {
      const wire::L3Addr addr = variant == 0 ? addr_a() : addr_loopback();
      const auto payload_len = static_cast<uint16_t>(sd.payload.size());
      std::vector<uint8_t> buf(wire::kFrameOverhead + payload_len + sd.pad, 0);
      if (payload_len) std::memcpy(buf.data() + wire::kFrameOverhead, sd.payload.data(), payload_len);
      const uint32_t len = wire::encode(buf.data(), addr, sd.f, payload_len);
      buf.resize(len + sd.pad);  // padding bytes stay zero
      wire::Frame fr;
      const wire::DecodeStatus st = wire::decode(buf.data(), buf.size(), &fr);
      if (st != wire::DecodeStatus::kOk) {
        std::fprintf(stderr, "gen_wire_seeds: %s does not decode: %s\n", sd.name.c_str(),
                     wire::decode_status_name(st));
        return false;
      }
      files->emplace_back(sd.name + (variant == 0 ? "" : "-lo") + ".bin", std::move(buf));
    }
  }
  return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* in = std::fopen(path.c_str(), "rb");
  if (in == nullptr) return false;
  uint8_t chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, in)) > 0) out->insert(out->end(), chunk, chunk + n);
  const bool ok = !std::ferror(in);
  std::fclose(in);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool check = argc == 3 && std::string(argv[1]) == "--check";
  if (argc != 2 && !check) {
    std::fprintf(stderr, "usage: %s [--check] DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[argc - 1];
  std::vector<std::pair<std::string, std::vector<uint8_t>>> files;
  if (!build_all(&files)) return 1;

  if (check) {
    // Other files in DIR (regression inputs) are left alone; the generated ones must match.
    int stale = 0;
    for (const auto& [name, bytes] : files) {
      std::vector<uint8_t> have;
      if (!read_file(dir + "/" + name, &have) || have != bytes) {
        std::fprintf(stderr, "gen_wire_seeds: %s/%s is missing or out of date\n", dir.c_str(),
                     name.c_str());
        stale++;
      }
    }
    if (stale) {
      std::fprintf(stderr,
                   "gen_wire_seeds: the wire format changed; regenerate the seeds with\n"
                   "  <build-fuzz>/tests/fuzz/gen_wire_seeds %s\n",
                   dir.c_str());
      return 1;
    }
    std::printf("gen_wire_seeds: %zu seed frames in %s are current\n", files.size(), dir.c_str());
    return 0;
  }

  for (const auto& [name, bytes] : files) {
    const std::string path = dir + "/" + name;
    FILE* out = std::fopen(path.c_str(), "wb");
    if (out == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), out) != bytes.size() ||
        std::fclose(out) != 0) {
      std::perror(path.c_str());
      return 1;
    }
  }
  std::printf("gen_wire_seeds: wrote %zu frames to %s\n", files.size(), dir.c_str());
  return 0;
}
