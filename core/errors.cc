#include "errors.h"

#include <cerrno>

namespace lpc {

int ToErrno(Error e) {
  switch (e) {
    case Error::kNotFound:
      return ENOENT;
    case Error::kExists:
      return EEXIST;
    case Error::kNotDirectory:
      return ENOTDIR;
    case Error::kIsDirectory:
      return EISDIR;
    case Error::kNotEmpty:
      return ENOTEMPTY;
    case Error::kAccessDenied:
      return EACCES;
    case Error::kNotPermitted:
      return EPERM;
    case Error::kInvalid:
      return EINVAL;
    case Error::kMessageTooLong:
      return EMSGSIZE;
    case Error::kWouldBlock:
      return EAGAIN;
    case Error::kInterrupted:
      return EINTR;
    case Error::kBrokenPipe:
      return EPIPE;
    case Error::kNotConnected:
      return ENOTCONN;
    case Error::kConnectionRefused:
      return ECONNREFUSED;
    case Error::kAlreadyConnected:
      return EISCONN;
    case Error::kNoMessage:
      return ENOMSG;
    case Error::kTimedOut:
      return ETIMEDOUT;
    case Error::kNameTooLong:
      return ENAMETOOLONG;
    case Error::kBadHandle:
      return EBADF;
    case Error::kBusy:
      return EBUSY;
    case Error::kAborted:
      return ECONNABORTED;
    case Error::kNoData:
      return ENODATA;
    case Error::kNotSupported:
      return EOPNOTSUPP;
    case Error::kQuotaExceeded:
      return EDQUOT;
    case Error::kNoBuffers:
      return ENOBUFS;
    case Error::kTooManyOpen:
      return EMFILE;
    case Error::kNotTty:
      return ENOTTY;
    case Error::kFileTooBig:
      return EFBIG;
    case Error::kBadAddress:
      return EFAULT;
    case Error::kNoSpace:
      return ENOSPC;
  }
  return EIO;
}

const char* Describe(Error e) {
  switch (e) {
    case Error::kNotFound:
      return "no such name";
    case Error::kExists:
      return "name exists";
    case Error::kNotDirectory:
      return "not a directory";
    case Error::kIsDirectory:
      return "is a directory";
    case Error::kNotEmpty:
      return "directory not empty";
    case Error::kAccessDenied:
      return "access denied";
    case Error::kNotPermitted:
      return "operation not permitted on a port";
    case Error::kInvalid:
      return "invalid argument or malformed record";
    case Error::kMessageTooLong:
      return "message too long";
    case Error::kWouldBlock:
      return "would block";
    case Error::kInterrupted:
      return "interrupted";
    case Error::kBrokenPipe:
      return "peer has gone";
    case Error::kNotConnected:
      return "unknown or ended connection";
    case Error::kConnectionRefused:
      return "connection refused";
    case Error::kAlreadyConnected:
      return "connection already accepted";
    case Error::kNoMessage:
      return "unknown or answered message id";
    case Error::kTimedOut:
      return "connection request timed out";
    case Error::kNameTooLong:
      return "name too long";
    case Error::kBadHandle:
      return "unknown handle";
    case Error::kBusy:
      return "busy";
    case Error::kAborted:
      return "daemon stopping";
    case Error::kNoData:
      return "no such attribute";
    case Error::kNotSupported:
      return "not supported";
    case Error::kQuotaExceeded:
      return "user quota exceeded";
    case Error::kNoBuffers:
      return "user's queued bytes at quota";
    case Error::kTooManyOpen:
      return "too many open .stats files";
    case Error::kNotTty:
      return "no such ioctl for this file";
    case Error::kFileTooBig:
      return "too large for the file";
    case Error::kBadAddress:
      return "bad address in the client";
    case Error::kNoSpace:
      return "no memory for the section";
  }
  return "unknown error";
}

bool RejectStatusToError(int status, Error* out) {
  switch (status) {
    case 0:
    case ECONNREFUSED:
      *out = Error::kConnectionRefused;
      return true;
    case EACCES:
      *out = Error::kAccessDenied;
      return true;
    case EPERM:
      *out = Error::kNotPermitted;
      return true;
    case EBUSY:
      *out = Error::kBusy;
      return true;
    case EAGAIN:
      *out = Error::kWouldBlock;
      return true;
    default:
      return false;
  }
}

}  // namespace lpc
