// Pieces every `lpc` subcommand shares: option reading, where the mount is,
// how a PORT argument becomes a path, and how errors are reported.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lpc::shell {

// Exit statuses of `lpc` (documented in `lpc --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // connection refused/failed, I/O error
  kExitUsage = 2,         // bad command line or bad input
  kExitTimeout = 3,       // `lpc call` or `lpc wait --timeout` expired
  kExitServerClosed = 4,  // `lpc call`: the server closed the connection early
  kExitWrongServer = 5,   // `lpc call --server-user`: served by someone else
};

// Reads the options of one subcommand. Options come first; the first
// argument that is not an option (or everything after "--") is an operand.
// Accepted spellings: --name VALUE, --name=VALUE, -x VALUE, -xVALUE.
class ArgReader {
 public:
  // args: the arguments after the subcommand name.
  ArgReader(std::string command, std::vector<std::string> args);

  // The next option ("--mount", "-m"), or nullopt when the options end. A
  // "--" that ends the options is consumed; an operand is not. "-" alone is
  // an operand.
  std::optional<std::string> NextOption();
  // The value of the option NextOption() just returned; a usage error if
  // there is none.
  std::string Value();
  // Whether the option just returned was spelled with "=VALUE", which an
  // option without a value must not have (checked by NoValue()).
  void NoValue();

  bool AtEnd() const { return pos_ >= args_.size(); }
  const std::string& Peek() const { return args_[pos_]; }
  std::string Take() { return args_[pos_++]; }
  std::vector<std::string> TakeRest();

  // Prints "lpc: COMMAND: MESSAGE" and the command's usage line, exits 2.
  [[noreturn]] void Fail(std::string_view message) const;
  const std::string& command() const { return command_; }

 private:
  std::string command_;
  std::vector<std::string> args_;
  size_t pos_ = 0;
  std::optional<std::string> inline_value_;  // from --name=VALUE / -xVALUE
  std::string current_;
};

// The mount directory: --mount DIR if given, else $LPC_MOUNT, else /lpc.
std::string MountDir(const std::optional<std::string>& mount_option);

// PORT as a path: unchanged if it starts with '/', else MOUNT/PORT.
std::string PortPath(std::string_view mount, std::string_view port);

// The root of the file system the existing path real_path (absolute, no
// symlinks: realpath()) is on, given the path's st_dev: its highest
// ancestor on the same device.
std::string MountRootOf(const std::string& real_path, dev_t dev);

// Whether the existing path is on an lpcfs mount, as far as statfs(2) can
// tell: its f_type is FUSE's (lpc cannot tell lpcfs from another FUSE file
// system). Returns 0 and sets *on_lpcfs, or statfs's errno.
int CheckOnLpcfs(const std::string& path, bool* on_lpcfs);

// Why a port path cannot be used because of where it is, as a whole message
// for Die() that says what to do, or nullopt if its folder exists on an
// lpcfs mount. Checks, in order: a dead daemon on the way (ENOTCONN: "WHAT
// PATH: Transport endpoint is not connected: the lpcfs daemon is gone;
// unmount with `fusermount3 -u DIR`"), no lpcfs at `mount` while PATH is
// below it ("no lpcfs mounted at MOUNT: start it with ..."), a missing
// folder (with `mkdir -p` advice when what is "create"), a folder that is
// not on lpcfs. what: "connect", "create", ...; mount: MountDir().
std::optional<std::string> MountProblem(std::string_view what,
                                        const std::string& path,
                                        const std::string& mount);

// The message for an operation on a port path that failed with err:
// MountProblem() when err may come from where the path is (ENOENT, ENOTDIR,
// ENOTCONN) and it finds one, else "WHAT PATH: strerror(err)", followed by
// ": the lpcfs daemon is gone" for ENOTCONN and ECONNABORTED.
std::string FailureText(std::string_view what, const std::string& path, int err,
                        const std::string& mount);

// "0640" -> 0640. Only permission bits (at most 07777); nullopt otherwise.
std::optional<mode_t> ParseMode(std::string_view text);

// "2", "0.5" -> seconds. Must be positive and finite; nullopt otherwise.
std::optional<double> ParseSeconds(std::string_view text);

// "3" -> 3: a count of at least 1, decimal digits only (no sign, no
// space); nullopt otherwise, also past 2^64 - 1.
std::optional<uint64_t> ParseCount(std::string_view text);

// strerror() as a std::string.
std::string ErrorText(int err);

// Prints "lpc: WHAT" on stderr.
void Warn(std::string_view what);
// Prints "lpc: WHAT: strerror(err)" on stderr.
void WarnErrno(std::string_view what, int err);
// Warn(what) and exit with `code`.
[[noreturn]] void Die(int code, std::string_view what);
[[noreturn]] void DieErrno(int code, std::string_view what, int err);

// write() all of data to fd, retrying on EINTR and short writes. Returns 0
// or the errno of the failed write.
int WriteAll(int fd, std::string_view data);

// Makes sure descriptors 0, 1 and 2 are open (on /dev/null if not), so that
// no descriptor we open later is mistaken for a standard stream.
void EnsureStandardDescriptors();

}  // namespace lpc::shell
