// The FUSE low-level operations of lpcfs. Each decodes its request, calls
// the broker and replies (or lets the broker reply later, through the
// Daemon): adapter -> Broker -> reply. The session's userdata must be the
// Daemon.
#pragma once

#include <fuse_lowlevel.h>

#include <cerrno>
#include <exception>
#include <new>

#include "daemon.h"

namespace lpc {

const fuse_lowlevel_ops& LpcfsOperations();

namespace ops {

// The errno an operation answers when it threw: inside a catch block.
inline int ErrnoOfCurrentException() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  } catch (const std::exception& e) {
    fuse_log(FUSE_LOG_ERR, "lpcfs: %s\n", e.what());
  } catch (...) {
  }
  return EIO;
}

// The exception boundary of every operation: no exception unwinds into
// libfuse. An operation answers its request last, so one that threw has
// not answered yet: std::bad_alloc becomes ENOMEM, anything else EIO.
template <class F>
void Guarded(fuse_req_t req, F&& f) noexcept {
  try {
    f();
  } catch (...) {
    fuse_reply_err(req, ErrnoOfCurrentException());
  }
}

// The same for an operation the broker answers: it gets the request's
// token; if it throws, the request is taken back and answered.
template <class F>
void GuardedDeferred(fuse_req_t req, F&& f) noexcept {
  Daemon& daemon = Daemon::Of(req);
  Token token;
  try {
    token = daemon.Defer(req);
  } catch (...) {
    fuse_reply_err(req, ENOMEM);
    return;
  }
  try {
    f(daemon, token);
  } catch (...) {
    daemon.Abandon(token, ErrnoOfCurrentException());
  }
}

inline void ReplyError(fuse_req_t req, Error e) {
  fuse_reply_err(req, ToErrno(e));
}

// Operation families: names (ops_names.cc), files (ops_files.cc) and
// extended attributes (ops_xattr.cc).
void AddNameOperations(fuse_lowlevel_ops& ops);
// The file operations of sections (ops_sections.cc), which those of
// ops_files.cc hand over to (fs/file_handles.h).
void CreateSection(fuse_req_t req, fuse_ino_t parent, const char* name,
                   mode_t mode, fuse_file_info* fi);
void ReadSection(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
void WriteSection(fuse_req_t req, const char* buf, size_t size, off_t off,
                  fuse_file_info* fi);
void PollSection(fuse_req_t req, fuse_pollhandle* ph);
void AddFileOperations(fuse_lowlevel_ops& ops);
void AddXattrOperations(fuse_lowlevel_ops& ops);

}  // namespace ops
}  // namespace lpc
