/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The soak's violation record: any thread (the notifier's completion hook included) reports a
 * broken guarantee here; the driving thread polls it and stops the run at the first one.
 */
#pragma once

#include <cstdint>
#include <string>

namespace dpsan::soak {

/** Records a violation; the first one's text is kept and printed at once on stderr. */
void violation(const std::string& what);

uint64_t violation_count();

/** The first violation's text ("" while there is none). Driving thread only. */
std::string first_violation();

}  // namespace dpsan::soak
