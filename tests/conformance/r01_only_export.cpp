/* SPDX-License-Identifier: BSD-3-Clause */
// R1: the library exports WSPStartupEx as its only entry point; everything else is reached
// through the WSPPROC_TABLE or WSPIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER).

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <fstream>
#include <iterator>
#include <set>

#include "test_switch.h"

using namespace dpsan_conf;

namespace {

// Defined, globally visible dynamic symbols of an ELF64 shared object.
bool exported_symbols(const std::string& path, std::set<std::string>* out, std::string* why) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *why = "cannot open " + path;
    return false;
  }
  std::vector<char> img((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (img.size() < sizeof(Elf64_Ehdr)) {
    *why = "short file";
    return false;
  }
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(img.data());
  if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
    *why = "not an ELF64 file";
    return false;
  }
  if (eh->e_shoff + size_t{eh->e_shnum} * sizeof(Elf64_Shdr) > img.size()) {
    *why = "bad section table";
    return false;
  }
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(img.data() + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_DYNSYM) continue;
    const Elf64_Shdr& strs = sh[sh[i].sh_link];
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(img.data() + sh[i].sh_offset);
    size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < n; ++k) {
      const Elf64_Sym& s = syms[k];
      int bind = ELF64_ST_BIND(s.st_info), type = ELF64_ST_TYPE(s.st_info);
      if (s.st_shndx == SHN_UNDEF || s.st_shndx == SHN_ABS) continue;
      if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) continue;
      if (ELF64_ST_VISIBILITY(s.st_other) != STV_DEFAULT &&
          ELF64_ST_VISIBILITY(s.st_other) != STV_PROTECTED)
        continue;
      if (type != STT_FUNC && type != STT_OBJECT && type != STT_GNU_IFUNC && type != STT_TLS &&
          type != STT_NOTYPE)
        continue;
      out->insert(std::string(img.data() + strs.sh_offset + s.st_name));
    }
    return true;
  }
  *why = "no .dynsym section";
  return false;
}

}  // namespace

TEST(Conformance, R1_OnlyWSPStartupExIsExported) {
  Session ses;
  // Given: the provider library the suite is linked against.
  Dl_info info{};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(&WSPStartupEx), &info), 0);
  ASSERT_NE(info.dli_fname, nullptr);
  std::string path = info.dli_fname;

  // Expect: its dynamic symbol table defines WSPStartupEx and nothing else
  // (the linker's _init/_fini aside).
  std::set<std::string> syms;
  std::string why;
  ASSERT_TRUE(exported_symbols(path, &syms, &why)) << path << ": " << why;
  EXPECT_EQ(syms.count("WSPStartupEx"), 1u) << path;
  std::vector<std::string> extra;
  for (const auto& s : syms)
    if (s != "WSPStartupEx" && s != "_init" && s != "_fini") extra.push_back(s);
  std::string list;
  for (size_t i = 0; i < extra.size() && i < 25; ++i) list += "  " + extra[i] + "\n";
  EXPECT_TRUE(extra.empty()) << path << " exports " << extra.size()
                             << " symbols besides WSPStartupEx, e.g.:\n" << list;

  // Expect: the entry points are reached through the tables; no SPI name is exported.
  for (const char* name : {"WSPCleanup", "WSPSocket", "WSPSend", "WSPRecv", "WSPRegisterMemory",
                           "WSPStartup", "WSPAccept", "WSPIoctl"})
    EXPECT_EQ(syms.count(name), 0u) << name << " must not be exported";

  // And the one export works: it fills the proc table, the extension functions answer.
  WSPPROC_TABLE proc{};
  ASSERT_EQ(sw().startup(MAKEWORD(2, 2), 0, nullptr, &proc), 0);
  EXPECT_NE(proc.lpWSPSocket, nullptr);
  Sock s;
  ASSERT_TRUE(new_socket(&s));
  Ext ext;
  EXPECT_TRUE(load_ext(s.s, &ext));
  EXPECT_TRUE(close_socket(s.s));
  EXPECT_EQ(sw().cleanup(), 0);
}
