// Per-user quotas (lpcfs.8 "Quota options", lpc.7 "QUOTAS"): what the daemon
// holds on each user's behalf, and the limits that keep one user from starving
// another. The Broker charges at the one place each resource is created
// and the charge is released where it ends: a QuotaCharge releases itself
// when destroyed, so an object that holds one (a port, a connection, a
// folder) gives its charge back on every path that frees it. Queued bytes
// are charged message by message by the MessageQueue that holds them.
//
// Plain data, no locking: the Broker owns one and guards it with its lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "errors.h"
#include "ids.h"

namespace lpc {

// What a user is charged for.
enum class QuotaKind : uint8_t {
  kPorts,              // ports created, until their server handle closes
  kClientConnections,  // connections as client, from open(2) until reaped
  kServedConnections,  // connections to ports the user owns, until reaped
  kPending,            // connection requests not yet accepted or refused
  kBytes,              // message payload bytes queued that the user wrote
  kFolders,            // folders made, until removed
  kSectionBytes,       // bytes of the sections a user created, while alive
};
inline constexpr size_t kQuotaKinds = 7;

// The -o option that sets a kind's limit ("quota_ports", ...).
const char* QuotaOptionName(QuotaKind kind);

// The limits, each per user; lpcfs.8 names the -o option of each.
struct QuotaLimits {
  std::array<size_t, kQuotaKinds> max = {
      1024,              // kPorts: quota_ports
      1024,              // kClientConnections: quota_connections
      16384,             // kServedConnections: quota_served
      256,               // kPending: quota_pending
      16 * 1024 * 1024,  // kBytes: quota_bytes
      4096,              // kFolders: quota_folders
      size_t{2} << 30,   // kSectionBytes: quota_section_bytes
  };
  // Root is counted but never refused (-o quota_root_exempt).
  bool exempt_root = false;

  size_t& operator[](QuotaKind k) { return max[static_cast<size_t>(k)]; }
  size_t operator[](QuotaKind k) const { return max[static_cast<size_t>(k)]; }
};

// One user's usage, by QuotaKind.
struct QuotaUsage {
  std::array<size_t, kQuotaKinds> used{};
  size_t operator[](QuotaKind k) const { return used[static_cast<size_t>(k)]; }
  bool zero() const;
};

class QuotaLedger;

// An amount charged to one user, given back when the charge is destroyed
// or Reset(). Move-only; an empty charge holds nothing.
class QuotaCharge {
 public:
  QuotaCharge() = default;
  QuotaCharge(QuotaCharge&& other) noexcept { *this = std::move(other); }
  QuotaCharge& operator=(QuotaCharge&& other) noexcept;
  QuotaCharge(const QuotaCharge&) = delete;
  QuotaCharge& operator=(const QuotaCharge&) = delete;
  ~QuotaCharge() { Reset(); }

  void Reset();
  bool empty() const { return ledger_ == nullptr; }
  uint32_t uid() const { return uid_; }
  size_t amount() const { return amount_; }
  // Makes the charge `amount`: more only if the user's quota allows it
  // (kQuotaExceeded otherwise, and nothing changes), less always. For
  // what grows and shrinks in place, such as a section's size.
  Status Resize(size_t amount);

 private:
  friend class QuotaLedger;
  QuotaCharge(QuotaLedger* ledger, uint32_t uid, QuotaKind kind, size_t amount)
      : ledger_(ledger), uid_(uid), kind_(kind), amount_(amount) {}

  QuotaLedger* ledger_ = nullptr;
  uint32_t uid_ = 0;
  QuotaKind kind_ = QuotaKind::kPorts;
  size_t amount_ = 0;
};

// A channel whose first waiting writer waits for its user's queued bytes
// to drop (lpc.7 "QUOTAS").
struct QuotaWaiter {
  ConnId conn;
  Direction direction;
  auto operator<=>(const QuotaWaiter&) const = default;
};

class QuotaLedger {
 public:
  explicit QuotaLedger(QuotaLimits limits = {}) : limits_(limits) {}
  // Every charge must have been given back first.
  QuotaLedger(const QuotaLedger&) = delete;
  QuotaLedger& operator=(const QuotaLedger&) = delete;

  const QuotaLimits& limits() const { return limits_; }

  // Whether `uid` may be charged `amount` more of `kind`.
  bool Allows(uint32_t uid, QuotaKind kind, size_t amount = 1) const;
  // Charges `amount` of `kind` to `uid`, or fails kQuotaExceeded and
  // charges nothing.
  Result<QuotaCharge> Charge(uint32_t uid, QuotaKind kind, size_t amount = 1);

  // Explicit pairing, for queued bytes: the MessageQueue that holds a
  // message charges its writer on Push and releases on every way out.
  void Add(uint32_t uid, QuotaKind kind, size_t amount);
  void Release(uint32_t uid, QuotaKind kind, size_t amount);

  // The usage of `uid` (all zero for a user never charged).
  QuotaUsage UsageOf(uint32_t uid) const;
  // Every user with a nonzero usage, in increasing uid.
  std::vector<std::pair<uint32_t, QuotaUsage>> Users() const;
  // True when nothing is charged to anyone (tests: every path released).
  bool empty() const { return usage_.empty(); }

  // A writer of `waiter` waits for room in `uid`'s byte quota. When bytes
  // of `uid` are released the waiter moves to the ready list.
  void WaitForBytes(uint32_t uid, QuotaWaiter waiter);
  // The waiters whose user's bytes dropped since the last call; each is
  // handed out once (it registers again if it still does not fit).
  std::vector<QuotaWaiter> TakeReady();
  bool has_ready() const { return !ready_.empty(); }

 private:
  QuotaLimits limits_;
  // Only users with a nonzero usage have an entry, so .stats lists them
  // and a user that holds nothing costs nothing.
  std::map<uint32_t, QuotaUsage> usage_;
  std::map<uint32_t, std::set<QuotaWaiter>> byte_waiters_;
  std::vector<QuotaWaiter> ready_;
};

}  // namespace lpc
