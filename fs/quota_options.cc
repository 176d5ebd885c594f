#include "quota_options.h"

#include <cstddef>
#include <cstdio>

namespace lpc {

namespace {

// 0 means "not given": the default stays.
struct QuotaOptions {
  unsigned ports = 0;
  unsigned connections = 0;
  unsigned served = 0;
  unsigned pending = 0;
  unsigned bytes = 0;
  unsigned folders = 0;
  int root_exempt = 0;
  unsigned port_connections = 0;
  unsigned folder_depth = 0;
  unsigned views_per_connection = 0;
  // Bytes: beyond what %u holds.
  unsigned long section_bytes = 0;
  unsigned long section_max = 0;
};

#define LPC_QUOTA_OPT(t, p) \
  { t, offsetof(QuotaOptions, p), 1 }
const fuse_opt kQuotaSpec[] = {
    LPC_QUOTA_OPT("quota_ports=%u", ports),
    LPC_QUOTA_OPT("quota_connections=%u", connections),
    LPC_QUOTA_OPT("quota_served=%u", served),
    LPC_QUOTA_OPT("quota_pending=%u", pending),
    LPC_QUOTA_OPT("quota_bytes=%u", bytes),
    LPC_QUOTA_OPT("quota_folders=%u", folders),
    LPC_QUOTA_OPT("quota_root_exempt", root_exempt),
    LPC_QUOTA_OPT("port_connections=%u", port_connections),
    LPC_QUOTA_OPT("folder_depth=%u", folder_depth),
    LPC_QUOTA_OPT("views_per_connection=%u", views_per_connection),
    LPC_QUOTA_OPT("quota_section_bytes=%lu", section_bytes),
    LPC_QUOTA_OPT("section_max=%lu", section_max),
    FUSE_OPT_END,
};

void Set(unsigned given, size_t* limit) {
  if (given) *limit = given;
}
template <class Limit>
void Set(unsigned long given, Limit* limit) {
  if (given) *limit = given;
}

}  // namespace

bool ParseQuotaOptions(fuse_args* args, Limits* limits) {
  QuotaOptions opts;
  if (fuse_opt_parse(args, &opts, kQuotaSpec, nullptr) == -1) return false;
  QuotaLimits& q = limits->quota;
  Set(opts.ports, &q[QuotaKind::kPorts]);
  Set(opts.connections, &q[QuotaKind::kClientConnections]);
  Set(opts.served, &q[QuotaKind::kServedConnections]);
  Set(opts.pending, &q[QuotaKind::kPending]);
  Set(opts.bytes, &q[QuotaKind::kBytes]);
  Set(opts.folders, &q[QuotaKind::kFolders]);
  q.exempt_root = opts.root_exempt != 0;
  Set(opts.port_connections, &limits->port_connections);
  Set(opts.folder_depth, &limits->folder_depth);
  Set(opts.views_per_connection, &limits->views_per_connection);
  Set(opts.section_bytes, &q[QuotaKind::kSectionBytes]);
  Set(opts.section_max, &limits->section_max);
  // quota_bytes against max_message: fs/main.cc, once both are known.
  return true;
}

void PrintQuotaHelp() {
  const QuotaLimits q;
  const Limits l;
  std::printf(
      "quota options (per user; see Quota options in lpcfs(8)):\n"
      "    -o quota_ports=N        ports a user has created (%zu)\n"
      "    -o quota_connections=N  connections a user holds as client "
      "(%zu)\n"
      "    -o quota_served=N       connections to the ports a user owns "
      "(%zu)\n"
      "    -o quota_pending=N      a user's connection requests not yet "
      "answered (%zu)\n"
      "    -o quota_bytes=N        message bytes queued that a user wrote "
      "(%zu)\n"
      "    -o quota_folders=N      folders a user has made (%zu)\n"
      "    -o quota_root_exempt    count root's usage but never refuse it\n"
      "    -o port_connections=N   connections one port holds until reaped "
      "(%zu)\n"
      "    -o folder_depth=N       folders nested below the root (%zu)\n"
      "    -o quota_section_bytes=N  bytes of the sections a user created "
      "(%zu)\n"
      "    -o section_max=N        bytes of one section (%llu)\n"
      "    -o views_per_connection=N  live views one connection carried "
      "(%zu)\n"
      "\n",
      q[QuotaKind::kPorts], q[QuotaKind::kClientConnections],
      q[QuotaKind::kServedConnections], q[QuotaKind::kPending],
      q[QuotaKind::kBytes], q[QuotaKind::kFolders], l.port_connections,
      l.folder_depth, q[QuotaKind::kSectionBytes],
      static_cast<unsigned long long>(l.section_max), l.views_per_connection);
}

}  // namespace lpc
