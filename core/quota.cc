#include "quota.h"

#include <algorithm>
#include <cassert>

namespace lpc {

const char* QuotaOptionName(QuotaKind kind) {
  switch (kind) {
    case QuotaKind::kPorts:
      return "quota_ports";
    case QuotaKind::kClientConnections:
      return "quota_connections";
    case QuotaKind::kServedConnections:
      return "quota_served";
    case QuotaKind::kPending:
      return "quota_pending";
    case QuotaKind::kBytes:
      return "quota_bytes";
    case QuotaKind::kFolders:
      return "quota_folders";
    case QuotaKind::kSectionBytes:
      return "quota_section_bytes";
  }
  return "quota";
}

bool QuotaUsage::zero() const {
  return std::all_of(used.begin(), used.end(), [](size_t n) { return n == 0; });
}

QuotaCharge& QuotaCharge::operator=(QuotaCharge&& other) noexcept {
  if (this != &other) {
    Reset();
    ledger_ = std::exchange(other.ledger_, nullptr);
    uid_ = other.uid_;
    kind_ = other.kind_;
    amount_ = std::exchange(other.amount_, 0);
  }
  return *this;
}

void QuotaCharge::Reset() {
  if (QuotaLedger* ledger = std::exchange(ledger_, nullptr)) {
    ledger->Release(uid_, kind_, std::exchange(amount_, 0));
  }
}

Status QuotaCharge::Resize(size_t amount) {
  if (!ledger_) return Error::kInvalid;
  if (amount > amount_) {
    if (!ledger_->Allows(uid_, kind_, amount - amount_)) {
      return Error::kQuotaExceeded;
    }
    ledger_->Add(uid_, kind_, amount - amount_);
  } else {
    ledger_->Release(uid_, kind_, amount_ - amount);
  }
  amount_ = amount;
  return Ok{};
}

bool QuotaLedger::Allows(uint32_t uid, QuotaKind kind, size_t amount) const {
  if (uid == 0 && limits_.exempt_root) return true;
  size_t used = 0;
  if (auto it = usage_.find(uid); it != usage_.end()) used = it->second[kind];
  size_t max = limits_[kind];
  return used <= max && amount <= max - used;
}

Result<QuotaCharge> QuotaLedger::Charge(uint32_t uid, QuotaKind kind,
                                        size_t amount) {
  if (!Allows(uid, kind, amount)) return Error::kQuotaExceeded;
  Add(uid, kind, amount);
  return QuotaCharge(this, uid, kind, amount);
}

void QuotaLedger::Add(uint32_t uid, QuotaKind kind, size_t amount) {
  if (amount == 0) return;
  usage_[uid].used[static_cast<size_t>(kind)] += amount;
}

void QuotaLedger::Release(uint32_t uid, QuotaKind kind, size_t amount) {
  if (amount == 0) return;
  auto it = usage_.find(uid);
  assert(it != usage_.end());
  if (it == usage_.end()) return;
  size_t& used = it->second.used[static_cast<size_t>(kind)];
  assert(used >= amount);
  used -= std::min(used, amount);
  if (it->second.zero()) usage_.erase(it);
  if (kind != QuotaKind::kBytes) return;
  if (auto w = byte_waiters_.find(uid); w != byte_waiters_.end()) {
    ready_.insert(ready_.end(), w->second.begin(), w->second.end());
    byte_waiters_.erase(w);
  }
}

QuotaUsage QuotaLedger::UsageOf(uint32_t uid) const {
  auto it = usage_.find(uid);
  return it == usage_.end() ? QuotaUsage{} : it->second;
}

std::vector<std::pair<uint32_t, QuotaUsage>> QuotaLedger::Users() const {
  return {usage_.begin(), usage_.end()};
}

void QuotaLedger::WaitForBytes(uint32_t uid, QuotaWaiter waiter) {
  byte_waiters_[uid].insert(waiter);
}

std::vector<QuotaWaiter> QuotaLedger::TakeReady() {
  return std::exchange(ready_, {});
}

}  // namespace lpc
