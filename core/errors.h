// Typed errors of the broker core, mapped to errno in exactly one place
// (ToErrno) at the edge. Core code never passes raw errno values around.
#pragma once

#include <cstdint>
#include <utility>
#include <variant>

namespace lpc {

enum class Error : uint8_t {
  kNotFound,           // ENOENT: no such name
  kExists,             // EEXIST: name taken, or reserved
  kNotDirectory,       // ENOTDIR
  kIsDirectory,        // EISDIR
  kNotEmpty,           // ENOTEMPTY: rmdir of a folder with entries
  kAccessDenied,       // EACCES
  kNotPermitted,       // EPERM: link, symlink, mknod, reserved names
  kInvalid,            // EINVAL: malformed record, bad argument
  kMessageTooLong,     // EMSGSIZE: payload over the limit, buffer too small
  kWouldBlock,         // EAGAIN: O_NONBLOCK and nothing to do, backlog full
  kInterrupted,        // EINTR: a signal interrupted a waiting call
  kBrokenPipe,         // EPIPE: the peer has gone
  kNotConnected,       // ENOTCONN: unknown or ended connection id
  kConnectionRefused,  // ECONNREFUSED: no such live port, or rejected
  kAlreadyConnected,   // EISCONN: accept/reject of an accepted connection
  kNoMessage,          // ENOMSG: unknown or already answered message id
  kTimedOut,           // ETIMEDOUT: connect_timeout passed
  kNameTooLong,        // ENAMETOOLONG
  kBadHandle,          // EBADF: unknown handle (a bug or a stale fh)
  kBusy,               // EBUSY
  kAborted,            // ECONNABORTED: the daemon is stopping
  kNoData,             // ENODATA: no such extended attribute
  kNotSupported,       // EOPNOTSUPP: no such attribute kind, bad version
  kQuotaExceeded,      // EDQUOT: a per-user quota is used up (lpcfs.8)
  kNoBuffers,          // ENOBUFS: O_NONBLOCK write over the bytes quota
  kTooManyOpen,        // EMFILE: a user's limit of open .stats files
  kNotTty,             // ENOTTY: an ioctl this file does not take
  kFileTooBig,         // EFBIG: a write past the end of a fixed-size file,
                       // a section over -o section_max
  kBadAddress,         // EFAULT: memory a window names is not mapped
  kNoSpace,            // ENOSPC: no memory for a section's bytes
};

// The errno for an error, positive, as fuse_reply_err wants it.
int ToErrno(Error e);

// A short human-readable description, for logs and tests.
const char* Describe(Error e);

// Maps an errno a server put into a reject record to an Error, if it is one
// of the values lpc.h allows there.
bool RejectStatusToError(int status, Error* out);

// Either a value or an Error. A tiny stand-in for std::expected (C++23).
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(e) {}                 // NOLINT: implicit by design
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  Error error() const { return std::get<Error>(v_); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

}  // namespace lpc
