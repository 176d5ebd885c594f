#include "requests.h"

#include "outbox.h"

namespace lpc {

Request::~Request() {
  if (list_) list_->Unlink(this);
}

Request* WaitRegistry::Find(Token token) const {
  auto it = parked_.find(token);
  return it == parked_.end() ? nullptr : it->second;
}

WaitList::~WaitList() {
  while (!empty()) context_.outbox->Fail(PopFront(), Error::kAborted);
}

void WaitList::PushBack(std::unique_ptr<Request> request) {
  Request* r = request.release();
  context_.registry->parked_.emplace(r->token_, r);
  r->list_ = this;
  r->prev_ = tail_;
  r->next_ = nullptr;
  (tail_ ? tail_->next_ : head_) = r;
  tail_ = r;
  ++size_;
}

std::unique_ptr<Request> WaitList::Remove(Request* request) {
  Unlink(request);
  return std::unique_ptr<Request>(request);
}

void WaitList::Unlink(Request* r) {
  (r->prev_ ? r->prev_->next_ : head_) = r->next_;
  (r->next_ ? r->next_->prev_ : tail_) = r->prev_;
  r->prev_ = r->next_ = nullptr;
  r->list_ = nullptr;
  --size_;
  auto& parked = context_.registry->parked_;
  auto it = parked.find(r->token_);
  if (it != parked.end() && it->second == r) parked.erase(it);
}

}  // namespace lpc
