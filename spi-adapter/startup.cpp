/* SPDX-License-Identifier: BSD-3-Clause */
/** @file WSPStartupEx (the only export, R1) and WSPCleanup. */
#include "control/provider.h"
#include "validate.h"
#include "wsp.h"

using dpsan::control::Provider;

namespace dpsan::spi {

int WSPCleanup(LPINT lpErrno) {
  static const control::TeardownHooks hooks{close_all_sockets, drop_all_registrations};
  int rc = Provider::get().cleanup(hooks);
  if (rc != 0) return fail(lpErrno, rc);  // R10 (and never WSAEINVAL, R11)
  return 0;
}

}  // namespace dpsan::spi

extern "C" DPSAN_EXPORT int WSPAPI WSPStartupEx(WORD wVersionRequested, LPWSPDATA lpWSPData,
                                                LPWSAPROTOCOL_INFOW lpProtocolInfo,
                                                LPWSPUPCALLTABLEEX lpUpcallTable,
                                                LPWSPPROC_TABLE lpProcTable) {
  (void)lpProtocolInfo;  // R7: the TCP/IP provider's info is accepted whatever it says
  // R5: the errors are the function value (R2).
  if (lpWSPData == nullptr || lpProcTable == nullptr || lpUpcallTable == nullptr) return WSAEFAULT;
  // Decision 4 / R3: 2.2 or higher is answered with 2.2; lower is refused, count unchanged.
  unsigned major = LOBYTE(wVersionRequested), minor = HIBYTE(wVersionRequested);
  if (major < 2 || (major == 2 && minor < 2)) return WSAVERNOTSUPPORTED;
  static const bool registered = (dpsan::spi::register_close_handler(), true);
  (void)registered;
  int rc = Provider::get().startup(*lpUpcallTable);
  if (rc != 0) return rc;
  lpWSPData->wVersion = MAKEWORD(2, 2);
  lpWSPData->wHighVersion = MAKEWORD(2, 2);
  static const char kDescription[] = "dpsan: SAN service provider over DPDK";
  size_t i = 0;
  for (; kDescription[i] && i < WSPDESCRIPTION_LEN; i++)
    lpWSPData->szDescription[i] = static_cast<WCHAR>(kDescription[i]);
  lpWSPData->szDescription[i] = 0;  // R4
  dpsan::spi::fill_proc_table(lpProcTable);
  return 0;
}
