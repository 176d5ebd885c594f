// lpc-bench: lpcfs request/reply latency and connect cost next to a Unix
// SOCK_SEQPACKET socket, a pipe pair and POSIX message queues, measured in
// one run on one machine. See bench/README.md for how to read the output.

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "figures.h"
#include "mount.h"
#include "process.h"

namespace lpcbench {
namespace {

constexpr const char* kUsage =
    R"(usage: lpc-bench [OPTIONS] [-- LPCFS_OPTIONS...]

Measures a request/reply round trip and a connect/accept/close cycle through
lpcfs and, for comparison, through a Unix SOCK_SEQPACKET socket, a pipe pair
and POSIX message queues. Client and server are separate processes, started
afresh for every measurement of every round.

  --mount DIR               use the lpcfs already mounted at DIR
  --lpcfs PATH              without --mount: the lpcfs binary to start in a
                            private mount namespace (needs root); default
                            ../fs/lpcfs next to this executable's directory
  --iterations N            timed round trips per transport, over all
                            rounds (default 20000)
  --connect-iterations N    timed connect cycles, over all rounds
                            (default iterations/4)
  --rounds R                run every measurement R times, interleaved, and
                            pool the samples (default 5): one unlucky
                            scheduling of a process pair does not decide a
                            figure
  --warmup N                untimed round trips before each round's timed
                            ones (default a tenth of them)
  --connect-warmup N        the same for connect cycles
  --size BYTES              request and reply size, 1..256 (default 64)
  --pin C,S[,D]             pin client processes to CPU C, servers to S and
                            the lpcfs this run starts to D (default: no
                            pinning)
  --only LIST               comma-separated subset of: uds, pipe, mq, lpcfs,
                            lpcfs-bound, statfs, connect-uds, connect-lpcfs,
                            connect-lpcfs-auto
  --timeout SECONDS         per measurement (default 120)
  -- LPCFS_OPTIONS...       passed to the lpcfs it starts (e.g. -o backlog=8)

The last lines are machine readable: RESULT <name> <value>.
)";

const std::vector<std::string> kAllGroups = {
    "uds",         "pipe",          "mq",
    "lpcfs",       "lpcfs-bound",   "statfs",
    "connect-uds", "connect-lpcfs", "connect-lpcfs-auto"};

const std::set<std::string> kValueOptions = {
    "--mount",          "--lpcfs",  "--iterations",
    "--warmup",         "--rounds", "--connect-iterations",
    "--connect-warmup", "--size",   "--pin",
    "--only",           "--timeout"};

struct Options {
  Config cfg;  // iterations and connect_iterations: totals over all rounds
  size_t rounds = 5;
  std::optional<size_t> warmup, connect_warmup;  // per round
  std::optional<size_t> connect_iterations;
  int daemon_cpu = -1;
  std::string mount;
  std::string lpcfs;
  std::vector<std::string> lpcfs_args;
  std::set<std::string> only;
};

[[noreturn]] void UsageError(const std::string& msg) {
  std::fprintf(stderr, "lpc-bench: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

size_t ParseCount(const std::string& opt, const std::string& text, size_t min,
                  size_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || text.empty() || *end != '\0' || text[0] == '-' || v < min ||
      v > max) {
    UsageError(opt + " wants a number in " + std::to_string(min) + ".." +
               std::to_string(max) + ", not '" + text + "'");
  }
  return size_t(v);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);) parts.push_back(part);
  return parts;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      o.lpcfs_args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    // Accept both "--opt value" and "--opt=value".
    std::string value;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != a.npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (kValueOptions.count(a) == 0) {
      UsageError("unknown option " + a);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      UsageError("option " + a + " needs a value");
    }
    constexpr size_t kMax = 100'000'000;
    if (a == "--mount") {
      o.mount = value;
    } else if (a == "--lpcfs") {
      o.lpcfs = value;
    } else if (a == "--iterations") {
      o.cfg.iterations = ParseCount(a, value, 1, kMax);
    } else if (a == "--connect-iterations") {
      o.connect_iterations = ParseCount(a, value, 1, kMax);
    } else if (a == "--rounds") {
      o.rounds = ParseCount(a, value, 1, 1000);
    } else if (a == "--warmup") {
      o.warmup = ParseCount(a, value, 0, kMax);
    } else if (a == "--connect-warmup") {
      o.connect_warmup = ParseCount(a, value, 0, kMax);
    } else if (a == "--size") {
      o.cfg.message_size = ParseCount(a, value, 1, 256);
    } else if (a == "--timeout") {
      o.cfg.timeout = std::chrono::seconds(ParseCount(a, value, 1, 86'400));
    } else if (a == "--pin") {
      auto cpus = Split(value, ',');
      if (cpus.size() < 2 || cpus.size() > 3) {
        UsageError("--pin wants CLIENT_CPU,SERVER_CPU[,DAEMON_CPU]");
      }
      o.cfg.client_cpu = int(ParseCount(a, cpus[0], 0, 4095));
      o.cfg.server_cpu = int(ParseCount(a, cpus[1], 0, 4095));
      if (cpus.size() == 3) o.daemon_cpu = int(ParseCount(a, cpus[2], 0, 4095));
    } else if (a == "--only") {
      for (auto& g : Split(value, ',')) {
        if (std::find(kAllGroups.begin(), kAllGroups.end(), g) ==
            kAllGroups.end()) {
          UsageError("unknown measurement '" + g + "' in --only");
        }
        o.only.insert(g);
      }
    } else {
      UsageError("unknown option " + a);
    }
  }
  if (!o.connect_iterations) {
    o.connect_iterations = std::max<size_t>(o.cfg.iterations / 4, 1);
  }
  o.cfg.connect_iterations = *o.connect_iterations;
  if (o.rounds > std::min(o.cfg.iterations, o.cfg.connect_iterations)) {
    o.rounds = std::min(o.cfg.iterations, o.cfg.connect_iterations);
  }
  if (o.only.empty()) o.only.insert(kAllGroups.begin(), kAllGroups.end());
  return o;
}

// ---------------------------------------------------------------------------
// Results

struct Summary {
  size_t n = 0;
  double p50 = 0, p99 = 0, mean = 0, max = 0;  // microseconds
};

// Nearest-rank percentile of sorted samples.
double Percentile(const std::vector<uint64_t>& sorted, double p) {
  size_t rank = size_t(std::ceil(p * double(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return double(sorted[rank - 1]) / 1000.0;
}

Summary Summarize(std::vector<uint64_t> ns) {
  Summary s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  s.n = ns.size();
  s.p50 = Percentile(ns, 0.50);
  s.p99 = Percentile(ns, 0.99);
  s.max = double(ns.back()) / 1000.0;
  s.mean =
      std::accumulate(ns.begin(), ns.end(), 0.0) / double(ns.size()) / 1000.0;
  return s;
}

struct Figure {
  std::string name;               // RESULT prefix: <name>_p50_us, <name>_p99_us
  std::string label;              // table row
  std::string baseline;           // figure the ratios compare with ("" = none)
  std::string ratio_name;         // RESULT name of the p50 ratio ("" = none)
  std::vector<uint64_t> samples;  // nanoseconds, pooled over rounds
  std::optional<Summary> summary;
  std::string problem;  // why there is no summary
};

// One measurement: a group name for --only, the figures it fills, and the
// function that returns one sample vector per figure.
struct Step {
  const char* group;
  std::vector<Figure> figures;
  std::function<std::vector<std::vector<uint64_t>>(const Config&)> measure;
  bool dead = false;  // failed or unavailable: not run again
};

std::vector<Step> MakeSteps() {
  using Samples = std::vector<std::vector<uint64_t>>;
  auto one = [](std::vector<uint64_t> (*f)(const Config&)) {
    return [f](const Config& c) { return Samples{f(c)}; };
  };
  auto two = [](ConnectSamples s) {
    return Samples{std::move(s.cycle), std::move(s.call), std::move(s.close)};
  };
  auto fig = [](const char* name, const char* label, const char* baseline,
                const char* ratio) {
    Figure f;
    f.name = name;
    f.label = label;
    f.baseline = baseline;
    f.ratio_name = ratio;
    return f;
  };
  std::vector<Step> steps;
  steps.push_back({"uds",
                   {fig("uds_rtt", "unix seqpacket round trip", "uds_rtt", "")},
                   one(RttUnixSeqpacket)});
  steps.push_back({"pipe",
                   {fig("pipe_rtt", "pipe pair round trip", "uds_rtt",
                        "pipe_rtt_ratio_vs_uds")},
                   one(RttPipe)});
  steps.push_back({"mq",
                   {fig("mq_rtt", "posix mqueue round trip", "uds_rtt",
                        "mq_rtt_ratio_vs_uds")},
                   one(RttMqueue)});
  steps.push_back({"lpcfs",
                   {fig("lpcfs_rtt", "lpcfs round trip (handle, REPLY)",
                        "uds_rtt", "rtt_ratio_vs_uds")},
                   one(RttLpcfs)});
  steps.push_back({"lpcfs-bound",
                   {fig("lpcfs_bound_rtt", "lpcfs round trip (.conn/ID bound)",
                        "uds_rtt", "lpcfs_bound_rtt_ratio_vs_uds")},
                   one(RttLpcfsBound)});
  steps.push_back({"statfs",
                   {fig("lpcfs_statfs", "lpcfs one FUSE request (statfs)",
                        "uds_rtt", "statfs_ratio_vs_uds")},
                   one(FuseRequestStatfs)});
  steps.push_back(
      {"connect-uds",
       {fig("uds_connect", "unix seqpacket connect cycle", "uds_connect", ""),
        fig("uds_connect_call", "  of which connect() call", "uds_connect_call",
            ""),
        fig("uds_close_call", "  of which close() call", "uds_close_call", "")},
       [two](const Config& c) { return two(ConnectUnixSeqpacket(c)); }});
  steps.push_back(
      {"connect-lpcfs",
       {fig("lpcfs_connect", "lpcfs connect cycle", "uds_connect",
            "connect_ratio_vs_uds"),
        fig("lpcfs_open_call", "  of which open() call", "uds_connect_call",
            "open_call_ratio_vs_uds"),
        fig("lpcfs_close_call", "  of which close() call", "uds_close_call",
            "close_call_ratio_vs_uds")},
       [two](const Config& c) { return two(ConnectLpcfs(c, false)); }});
  steps.push_back(
      {"connect-lpcfs-auto",
       {fig("lpcfs_auto_connect", "lpcfs connect cycle, auto-accept",
            "uds_connect", "auto_connect_ratio_vs_uds"),
        fig("lpcfs_auto_open_call", "  of which open() call",
            "uds_connect_call", "auto_open_call_ratio_vs_uds"),
        fig("lpcfs_auto_close_call", "  of which close() call",
            "uds_close_call", "")},
       [two](const Config& c) { return two(ConnectLpcfs(c, true)); }});
  return steps;
}

void PrintReport(const std::vector<Figure>& figures) {
  std::map<std::string, const Figure*> by_name;
  for (auto& f : figures) by_name[f.name] = &f;
  auto summary_of = [&](const std::string& name) -> const Summary* {
    auto it = by_name.find(name);
    if (it == by_name.end() || !it->second->summary) return nullptr;
    return &*it->second->summary;
  };

  std::printf("\n%-36s %8s %8s %8s %8s %9s %9s\n", "measurement (microseconds)",
              "p50", "p99", "mean", "max", "p50/base", "p99/base");
  for (auto& f : figures) {
    if (!f.summary) {
      std::printf("%-36s %s\n", f.label.c_str(), f.problem.c_str());
      continue;
    }
    const Summary& s = *f.summary;
    std::printf("%-36s %8.1f %8.1f %8.1f %8.0f", f.label.c_str(), s.p50, s.p99,
                s.mean, s.max);
    if (const Summary* b = summary_of(f.baseline)) {
      std::printf(" %8.2fx %8.2fx", s.p50 / b->p50, s.p99 / b->p99);
    }
    std::printf("\n");
  }
  std::printf(
      "(base: the Unix socket row of the same kind, round trip or connect)\n");

  const Summary* lpcfs = summary_of("lpcfs_rtt");
  const Summary* uds = summary_of("uds_rtt");
  if (lpcfs && uds) {
    double r = lpcfs->p50 / uds->p50;
    std::printf(
        "\ntarget: lpcfs round trip p50 within 3x of the Unix socket's: "
        "%.2fx (%s)\n",
        r, r <= 3.0 ? "met" : "NOT met");
  }

  std::printf("\n");
  for (auto& f : figures) {
    if (!f.summary) continue;
    std::printf("RESULT %s_p50_us %.1f\n", f.name.c_str(), f.summary->p50);
    std::printf("RESULT %s_p99_us %.1f\n", f.name.c_str(), f.summary->p99);
  }
  for (auto& f : figures) {
    if (!f.summary || f.ratio_name.empty()) continue;
    if (const Summary* b = summary_of(f.baseline)) {
      std::printf("RESULT %s %.2f\n", f.ratio_name.c_str(),
                  f.summary->p50 / b->p50);
    }
  }
  if (lpcfs && uds) {
    std::printf("RESULT rtt_p99_ratio_vs_uds %.2f\n", lpcfs->p99 / uds->p99);
  }
  const Summary* lc = summary_of("lpcfs_connect");
  const Summary* uc = summary_of("uds_connect");
  if (lc && uc) {
    std::printf("RESULT connect_p99_ratio_vs_uds %.2f\n", lc->p99 / uc->p99);
  }
}

std::string FirstLineOf(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// `total` split over `rounds`: round r gets its share, the remainder goes
// to the first rounds.
size_t Share(size_t total, size_t rounds, size_t r) {
  return total / rounds + (r < total % rounds ? 1 : 0);
}

int Run(const Options& o) {
  auto wants = [&](const std::string& g) { return o.only.count(g) > 0; };
  bool needs_lpcfs = wants("lpcfs") || wants("lpcfs-bound") ||
                     wants("statfs") || wants("connect-lpcfs") ||
                     wants("connect-lpcfs-auto");
  Config cfg = o.cfg;

  utsname u{};
  ::uname(&u);
  size_t rt_round = cfg.iterations / o.rounds;
  size_t cc_round = cfg.connect_iterations / o.rounds;
  std::printf(
      "lpc-bench: %zu-byte round trips: %zu timed; connect cycles: %zu "
      "timed; in %zu rounds, each after %zu/%zu warm-up\n",
      cfg.message_size, cfg.iterations, cfg.connect_iterations, o.rounds,
      o.warmup.value_or(rt_round / 10),
      o.connect_warmup.value_or(cc_round / 10));
  std::printf("machine: Linux %s, %ld CPUs online, load average %s\n",
              u.release, ::sysconf(_SC_NPROCESSORS_ONLN),
              FirstLineOf("/proc/loadavg").c_str());
  if (cfg.client_cpu >= 0) {
    std::printf("pinned: clients to CPU %d, servers to CPU %d", cfg.client_cpu,
                cfg.server_cpu);
    if (o.daemon_cpu >= 0) std::printf(", lpcfs to CPU %d", o.daemon_cpu);
    std::printf("\n");
  }

  std::optional<OwnMount> own;
  if (needs_lpcfs) {
    if (!o.mount.empty()) {
      cfg.mount = o.mount;
      std::printf("lpcfs: existing mount %s\n", cfg.mount.c_str());
    } else {
      std::string lpcfs = o.lpcfs.empty() ? DefaultLpcfsPath() : o.lpcfs;
      EnterPrivateMountNamespace();
      own.emplace(lpcfs, o.lpcfs_args, std::chrono::seconds(10), o.daemon_cpu);
      cfg.mount = own->dir();
      std::printf("lpcfs: started %s at %s (pid %d, private mount namespace)\n",
                  lpcfs.c_str(), cfg.mount.c_str(), int(own->daemon_pid()));
    }
  }

  std::vector<Step> steps = MakeSteps();
  bool failed = false;
  for (size_t r = 0; r < o.rounds; ++r) {
    Config rc = cfg;
    rc.iterations = Share(cfg.iterations, o.rounds, r);
    rc.connect_iterations = Share(cfg.connect_iterations, o.rounds, r);
    rc.warmup = o.warmup.value_or(rc.iterations / 10);
    rc.connect_warmup = o.connect_warmup.value_or(rc.connect_iterations / 10);
    std::printf("round %zu/%zu:", r + 1, o.rounds);
    std::fflush(stdout);
    auto t0 = Clock::now();
    for (auto& step : steps) {
      if (!wants(step.group) || step.dead) continue;
      std::printf(" %s", step.group);
      std::fflush(stdout);
      try {
        auto samples = step.measure(rc);
        for (size_t i = 0; i < step.figures.size(); ++i) {
          auto& pool = step.figures[i].samples;
          pool.insert(pool.end(), samples[i].begin(), samples[i].end());
        }
      } catch (const Unavailable& e) {
        std::printf("(skipped)");
        for (auto& f : step.figures)
          f.problem = "skipped: " + std::string(e.what());
        step.dead = true;
      } catch (const std::exception& e) {
        std::printf("(FAILED)\n");
        std::fflush(stdout);
        std::fprintf(stderr, "lpc-bench: %s: %s\n", step.group, e.what());
        for (auto& f : step.figures)
          f.problem = "FAILED: " + std::string(e.what());
        step.dead = true;
        failed = true;
      }
      if (own && !own->DaemonAlive()) {
        std::fprintf(stderr, "\nlpc-bench: lpcfs exited during %s\n",
                     step.group);
        failed = true;
      }
    }
    std::printf(" (%.1f s)\n",
                std::chrono::duration<double>(Clock::now() - t0).count());
  }

  std::vector<Figure> figures;
  for (auto& step : steps) {
    if (!wants(step.group)) continue;
    for (auto& f : step.figures) {
      if (f.problem.empty()) f.summary = Summarize(std::move(f.samples));
      figures.push_back(std::move(f));
    }
  }
  PrintReport(figures);
  std::fflush(stdout);
  if (own) own->Teardown();
  ReapLeftoverChildren();
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace lpcbench

int main(int argc, char** argv) {
  using namespace lpcbench;
  Options o = ParseOptions(argc, argv);
  InstallInterruptCleanup(&OwnMount::EmergencyTeardown);
  try {
    return Run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "lpc-bench: %s\n", e.what());
    return 1;
  }
}
