// The -o options of the quotas (lpcfs.8 "Quota options"): parsed apart from the
// other options so that each family of options stays in its own place.
#pragma once

#include <fuse_lowlevel.h>

#include "broker_limits.h"

namespace lpc {

// Takes the quota options out of `args` into `limits`. False, with a
// message on stderr, for a value the daemon cannot honour.
bool ParseQuotaOptions(fuse_args* args, Limits* limits);

// The lines of `lpcfs --help` for them.
void PrintQuotaHelp();

}  // namespace lpc
