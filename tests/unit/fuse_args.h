// fuse_args for unit tests of the daemon's option parsing.
#pragma once

#include <fuse_opt.h>

#include <string>
#include <vector>

namespace lpc {

// fuse_args from a list of strings, freed at the end of the scope.
class Args {
 public:
  explicit Args(std::vector<std::string> argv) : strings_(std::move(argv)) {
    for (auto& s : strings_) ptrs_.push_back(s.data());
    args_ = FUSE_ARGS_INIT(static_cast<int>(ptrs_.size()), ptrs_.data());
  }
  ~Args() { fuse_opt_free_args(&args_); }
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;
  fuse_args* get() { return &args_; }
  // What parsing left of the arguments.
  std::vector<std::string> Left() const {
    return {args_.argv, args_.argv + args_.argc};
  }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
  fuse_args args_;
};

}  // namespace lpc
