// lpc-section-bench: what a section costs (fs/README.md "Sections"), next
// to the same through tmpfs (/dev/shm) and a memfd, which is what FUSE
// passthrough of a memfd would give a mapping. A measurement, not a test.
//
//   lpc-section-bench [SECTIONS_DIR [MIB]]
//
// SECTIONS_DIR defaults to /lpc/.sections, MIB to 64. For each kind of
// file: the ftruncate, the first process's faulting in and filling of
// every page through its mapping, a second process mapping it and
// reading every page (served from the page cache), and for the section
// the same read once its pages were dropped (each page a FUSE_READ); and
// whether a direct_io file (a port next to SECTIONS_DIR) maps MAP_SHARED.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Reads every 8-byte word so that no page is skipped; returns their sum
// so that the compiler keeps the reads.
uint64_t ReadAll(const volatile uint64_t* p, size_t bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes / 8; ++i) sum += p[i];
  return sum;
}

// The second process: maps fd and reads it all; returns the seconds that
// took, -1 if it could not.
double ReadInChild(int fd, size_t bytes) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    void* p = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
    double took = -1;
    if (p != MAP_FAILED) {
      auto start = Clock::now();
      uint64_t sum = ReadAll(static_cast<const uint64_t*>(p), bytes);
      took = Seconds(start);
      if (sum == 42) std::fputs("", stderr);
    }
    if (write(pipefd[1], &took, sizeof took) != sizeof took) _exit(1);
    _exit(0);
  }
  close(pipefd[1]);
  double took = -1;
  if (read(pipefd[0], &took, sizeof took) != sizeof took) took = -1;
  close(pipefd[0]);
  waitpid(pid, nullptr, 0);
  return took;
}

void Report(const char* kind, const char* what, size_t bytes, double s) {
  double mib = static_cast<double>(bytes) / (1 << 20);
  std::printf("%-8s %-36s %9.2f ms %9.0f MiB/s\n", kind, what, s * 1e3,
              s > 0 ? mib / s : 0.0);
}

bool Measure(const char* kind, int fd, size_t bytes, bool drop) {
  auto start = Clock::now();
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    std::perror("ftruncate");
    return false;
  }
  Report(kind, "ftruncate", bytes, Seconds(start));
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    return false;
  }
  start = Clock::now();
  std::memset(p, 0xa5, bytes);
  Report(kind, "first fault-in and fill", bytes, Seconds(start));
  start = Clock::now();
  std::memset(p, 0x5a, bytes);
  Report(kind, "fill again (pages present)", bytes, Seconds(start));
  Report(kind, "second process maps and reads", bytes, ReadInChild(fd, bytes));
  start = Clock::now();
  msync(p, bytes, MS_SYNC);
  Report(kind, "msync (write-back to the daemon)", bytes, Seconds(start));
  munmap(p, bytes);
  if (drop) {
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    Report(kind, "second process, pages dropped", bytes,
           ReadInChild(fd, bytes));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = argc > 1 ? argv[1] : "/lpc/.sections";
  size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 64;
  size_t bytes = mib << 20;
  std::string section = dir + "/lpc-section-bench." + std::to_string(getpid());
  int fd = open(section.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) {
    std::perror(section.c_str());
    return 1;
  }
  unlink(section.c_str());
  bool ok = Measure("section", fd, bytes, true);
  close(fd);

  std::string shm = "/dev/shm/lpc-section-bench." + std::to_string(getpid());
  fd = open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd >= 0) {
    unlink(shm.c_str());
    ok = Measure("tmpfs", fd, bytes, false) && ok;
    close(fd);
  }
  fd = memfd_create("lpc-section-bench", 0);
  if (fd >= 0) {
    ok = Measure("memfd", fd, bytes, false) && ok;
    close(fd);
  }
  // A port's server handle is opened with direct_io: at protocol 7.31 it
  // cannot be mapped shared (FUSE_DIRECT_IO_ALLOW_MMAP is 7.39).
  std::string port = dir + "/../lpc-section-bench." + std::to_string(getpid());
  fd = open(port.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd >= 0) {
    void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
    std::printf("direct_io file (a port): mmap(MAP_SHARED): %s\n",
                p == MAP_FAILED ? std::strerror(errno) : "mapped");
    close(fd);
  }
  return ok ? 0 : 1;
}
