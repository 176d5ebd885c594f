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

#include <lpc.h>

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
                            lpcfs-bound, rtt-call (adds uds), statfs,
                            oneway-batch, conc256, connect-uds,
                            connect-lpcfs, connect-lpcfs-auto, idle10k,
                            large-4k, large-64k, large-1000k (large means
                            all three), window-read, handoff (64 MiB
                            through a section view, a stream socket and
                            memcpy)
  --oneway-messages N       one-way messages per transport, over all
                            rounds (default 200000)
  --batch N                 messages per LPC_IOC_TRANSFER in oneway-batch,
                            1..145 (default 32)
  --clients N               client threads of conc256 (default 256)
  --load-duration MS        conc256: milliseconds per transport and round
                            (default 1000)
  --idle-connections N      idle10k: connections to hold open (default
                            10000)
  --daemon-pid PID          with --mount: the lpcfs process, whose memory
                            idle10k reads (else idle10k is skipped)
  --large-duration MS       large: timed milliseconds per row and round, after
                            a tenth of that as warm-up (default 300)
  --timeout SECONDS         per measurement (default 120)
  -- LPCFS_OPTIONS...       passed to the lpcfs it starts (e.g. -o backlog=8),
                            after the quota options lpc-bench gives it so
                            that idle10k and conc256 fit (README.md)

The last lines are machine readable: RESULT <name> <value>.
)";

const std::vector<std::string> kAllGroups = {
    "uds",         "pipe",          "mq",
    "lpcfs",       "lpcfs-bound",   "rtt-call",
    "statfs",      "oneway-batch",  "conc256",
    "connect-uds", "connect-lpcfs", "connect-lpcfs-auto",
    "idle10k",     "large-4k",      "large-64k",
    "large-1000k", "window-read",   "handoff"};

// Names --only takes for several groups.
const std::map<std::string, std::vector<std::string>> kGroupAliases = {
    {"large", {"large-4k", "large-64k", "large-1000k"}}};

// Groups whose ratios need another group's figure: --only adds it.
const std::map<std::string, std::string> kPeerGroup = {{"rtt-call", "uds"}};

// The descriptor limit lpc-bench sets for itself and the daemon it starts.
constexpr size_t kDescriptorLimit = 1 << 16;

const std::set<std::string> kValueOptions = {"--mount",
                                             "--lpcfs",
                                             "--iterations",
                                             "--warmup",
                                             "--rounds",
                                             "--connect-iterations",
                                             "--connect-warmup",
                                             "--size",
                                             "--pin",
                                             "--only",
                                             "--timeout",
                                             "--oneway-messages",
                                             "--batch",
                                             "--clients",
                                             "--load-duration",
                                             "--idle-connections",
                                             "--daemon-pid",
                                             "--large-duration"};

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
    } else if (a == "--oneway-messages") {
      o.cfg.oneway_messages = ParseCount(a, value, 1, kMax);
    } else if (a == "--batch") {
      // The most 64-byte records one ioctl buffer holds.
      o.cfg.batch = ParseCount(
          a, value, 1,
          (LPC_IOCTL_MAX - sizeof(lpc_transfer)) / LPC_RECORD_SPACE(64));
    } else if (a == "--clients") {
      o.cfg.clients = ParseCount(a, value, 1, 4096);
    } else if (a == "--load-duration") {
      o.cfg.load_duration =
          std::chrono::milliseconds(ParseCount(a, value, 1, 3'600'000));
    } else if (a == "--large-duration") {
      o.cfg.large_duration =
          std::chrono::milliseconds(ParseCount(a, value, 1, 3'600'000));
    } else if (a == "--daemon-pid") {
      o.cfg.daemon_pid = pid_t(ParseCount(a, value, 1, 1 << 22));
    } else if (a == "--idle-connections") {
      o.cfg.idle_connections = ParseCount(a, value, 1, 1'000'000);
    } else if (a == "--only") {
      for (auto& g : Split(value, ',')) {
        if (auto alias = kGroupAliases.find(g); alias != kGroupAliases.end()) {
          o.only.insert(alias->second.begin(), alias->second.end());
          continue;
        }
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
  for (auto& [group, peer] : kPeerGroup) {
    if (o.only.count(group)) o.only.insert(peer);
  }
  if (o.cfg.batch * LPC_RECORD_SPACE(o.cfg.message_size) +
          sizeof(lpc_transfer) >
      LPC_IOCTL_MAX) {
    UsageError("--batch " + std::to_string(o.cfg.batch) + " of " +
               std::to_string(o.cfg.message_size) +
               "-byte messages does not fit one ioctl buffer");
  }
  return o;
}

// The started daemon's arguments: limits that hold idle10k's and conc256's
// connections (lpcfs.8: quota_connections, quota_served,
// port_connections; the defaults are 1024, 16384 and 4096), then the
// user's, which override them.
std::vector<std::string> DaemonArgs(const Options& o) {
  size_t n =
      std::max<size_t>(16384, o.cfg.idle_connections + o.cfg.clients + 1024);
  std::string limit = std::to_string(n);
  std::vector<std::string> args = {"-o", "quota_connections=" + limit +
                                             ",quota_served=" + limit +
                                             ",port_connections=" + limit};
  // window-read needs memory windows (lpcfs.8: the daemon then keeps
  // CAP_SYS_PTRACE).
  args.push_back("-o");
  args.push_back("memory_windows");
  args.insert(args.end(), o.lpcfs_args.begin(), o.lpcfs_args.end());
  return args;
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

// What one run of a measurement yields for one figure: latency samples, a
// count of events over a time, both, or one plain value.
struct Outcome {
  std::vector<uint64_t> latencies;  // nanoseconds
  Throughput throughput;
  std::optional<double> value;
};

struct Figure {
  std::string name;        // RESULT prefix: <name>_p50_us, <name>_p99_us
  std::string label;       // table row
  std::string baseline;    // figure the ratios compare with ("" = none)
  std::string ratio_name;  // RESULT name of the p50 ratio ("" = none)
  // Rate figures: RESULT name and unit of events per second, and of the
  // rate divided by the baseline's rate.
  std::string rate_name, rate_unit, rate_ratio_name;
  std::string spread_name;  // RESULT name of this figure's p99/p50
  // More p50 ratios: {baseline figure, RESULT name}.
  std::vector<std::pair<std::string, std::string>> more_ratios;
  // Bytes a sample moves, both ways together: its RESULT <name>_mib_per_s
  // is these bytes over the p50 sample time.
  size_t bytes_per_sample = 0;
  // Value figures: RESULT name and unit.
  std::string value_name, value_unit;

  // Pooled over rounds.
  std::vector<uint64_t> samples;  // nanoseconds
  Throughput throughput;
  std::vector<double> values;

  std::optional<Summary> summary;
  std::optional<double> rate;   // events per second
  std::optional<double> value;  // the median of the rounds' values
  std::string problem;          // why there is no figure

  void Add(Outcome o) {
    samples.insert(samples.end(), o.latencies.begin(), o.latencies.end());
    throughput.events += o.throughput.events;
    throughput.elapsed_ns += o.throughput.elapsed_ns;
    if (o.value) values.push_back(*o.value);
  }
  void Finish() {
    if (!problem.empty()) return;
    if (!samples.empty()) summary = Summarize(std::move(samples));
    if (throughput.elapsed_ns > 0) {
      rate = double(throughput.events) * 1e9 / double(throughput.elapsed_ns);
    }
    if (!values.empty()) {
      std::sort(values.begin(), values.end());
      value = values[values.size() / 2];
    }
  }
};

// One measurement: a group name for --only, the figures it fills, and the
// function that returns one outcome per figure.
struct Step {
  std::string group;
  std::vector<Figure> figures;
  std::function<std::vector<Outcome>(const Config&)> measure;
  bool lpcfs = false;  // needs a mount
  bool once = false;   // in the first round only (it changes the daemon)
  bool dead = false;   // failed or unavailable: not run again
};

std::vector<Step> MakeSteps(const Config& cfg) {
  using Outcomes = std::vector<Outcome>;
  auto one = [](std::vector<uint64_t> (*f)(const Config&)) {
    return [f](const Config& c) { return Outcomes{{f(c), {}, {}}}; };
  };
  auto two = [](ConnectSamples s) {
    return Outcomes{{std::move(s.cycle), {}, {}},
                    {std::move(s.call), {}, {}},
                    {std::move(s.close), {}, {}}};
  };
  auto fig = [](const std::string& name, const std::string& label,
                const char* baseline, const char* ratio) {
    Figure f;
    f.name = name;
    f.label = label;
    f.baseline = baseline;
    f.ratio_name = ratio;
    return f;
  };
  auto rate = [](Figure f, const char* rate_name, const char* unit,
                 const char* rate_ratio) {
    f.rate_name = rate_name;
    f.rate_unit = unit;
    f.rate_ratio_name = rate_ratio;
    return f;
  };
  std::string clients = std::to_string(cfg.clients);
  std::string batch = std::to_string(cfg.batch);
  std::vector<Step> steps;
  // First: it measures the daemon's heap growth, before other rows have
  // left freed memory in it to reuse.
  {
    Figure idle =
        fig("idle_rss", "lpcfs daemon RSS per idle connection", "", "");
    idle.value_name = "idle_rss_kb_per_conn";
    idle.value_unit = "KiB";
    steps.push_back({"idle10k",
                     {idle},
                     [](const Config& c) {
                       IdleFootprint f = IdleLpcfsConnections(c);
                       std::printf("(%zu connections: VmRSS %.0f -> %.0f KiB)",
                                   f.connections, f.rss_before_kib,
                                   f.rss_after_kib);
                       return Outcomes{{{},
                                        {},
                                        (f.rss_after_kib - f.rss_before_kib) /
                                            double(f.connections)}};
                     },
                     true,
                     true});
  }
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
                   one(RttLpcfs),
                   true});
  steps.push_back({"lpcfs-bound",
                   {fig("lpcfs_bound_rtt", "lpcfs round trip (.conn/ID bound)",
                        "uds_rtt", "lpcfs_bound_rtt_ratio_vs_uds")},
                   one(RttLpcfsBound),
                   true});
  steps.push_back({"rtt-call",
                   {fig("rtt_call", "lpcfs round trip (CALL, TRANSFER)",
                        "uds_rtt", "rtt_call_ratio_vs_uds")},
                   one(RttLpcfsCall),
                   true});
  steps.push_back({"statfs",
                   {fig("lpcfs_statfs", "lpcfs one FUSE request (statfs)",
                        "uds_rtt", "statfs_ratio_vs_uds")},
                   one(FuseRequestStatfs),
                   true});
  // Each transport is a step of its own, so that one failing keeps the
  // others' figures; --only selects them together.
  auto rate_of = [](Throughput (*f)(const Config&)) {
    return [f](const Config& c) { return Outcomes{{{}, f(c), {}}}; };
  };
  steps.push_back({"oneway-batch",
                   {rate(fig("uds_oneway", "unix seqpacket one-way, send()",
                             "uds_oneway", ""),
                         "uds_oneway_msgs_per_s", "msg/s", "")},
                   rate_of(OnewayUnixSeqpacket)});
  steps.push_back(
      {"oneway-batch",
       {rate(fig("oneway_plain", "lpcfs one-way, write()", "uds_oneway", ""),
             "oneway_plain_msgs_per_s", "msg/s", "oneway_plain_ratio_vs_uds")},
       rate_of(OnewayLpcfsPlain),
       true});
  // The server that binds the connection and receives from .conn/ID is the
  // oneway_batch figure: it was the faster of the two in every run on the
  // project's VM (README.md); the server-handle one is shown below it.
  steps.push_back(
      {"oneway-batch",
       {rate(fig("oneway_batch",
                 "lpcfs one-way, TRANSFER x" + batch + ", .conn/ID",
                 "uds_oneway", ""),
             "oneway_batch_msgs_per_s", "msg/s", "oneway_batch_ratio_vs_uds")},
       rate_of(OnewayLpcfsBatchBound),
       true});
  steps.push_back(
      {"oneway-batch",
       {rate(fig("oneway_batch_handle", "  the same, server on its handle",
                 "uds_oneway", ""),
             "oneway_batch_handle_msgs_per_s", "msg/s",
             "oneway_batch_handle_ratio_vs_uds")},
       rate_of(OnewayLpcfsBatch),
       true});
  steps.push_back({"oneway-batch",
                   {rate(fig("oneway_batch_read",
                             "  the same, server read()s batches of records",
                             "uds_oneway", ""),
                         "oneway_batch_read_msgs_per_s", "msg/s",
                         "oneway_batch_read_ratio_vs_uds")},
                   rate_of(OnewayLpcfsBatchRead),
                   true});
  auto load_of = [](LoadSamples (*f)(const Config&)) {
    return [f](const Config& c) {
      LoadSamples l = f(c);
      return Outcomes{{std::move(l.latencies), l.throughput, {}}};
    };
  };
  steps.push_back({"conc256",
                   {rate(fig("uds_conc256",
                             "unix seqpacket, " + clients + " clients, epoll",
                             "uds_conc256", ""),
                         "uds_conc256_req_per_s", "req/s", "")},
                   load_of(LoadUnixSeqpacket)});
  {
    Figure lpc =
        rate(fig("conc256", "lpcfs CALL, " + clients + " clients",
                 "uds_conc256", "conc256_p50_ratio_vs_uds"),
             "conc256_req_per_s", "req/s", "conc256_throughput_ratio_vs_uds");
    lpc.spread_name = "conc256_p99_over_p50";
    steps.push_back({"conc256", {lpc}, load_of(LoadLpcfsCall), true});
  }
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
       [two](const Config& c) { return two(ConnectLpcfs(c, false)); },
       true});
  steps.push_back(
      {"connect-lpcfs-auto",
       {fig("lpcfs_auto_connect", "lpcfs connect cycle, auto-accept",
            "uds_connect", "connect_auto_ratio_vs_uds"),
        fig("lpcfs_auto_open_call", "  of which open() call",
            "uds_connect_call", "auto_open_call_ratio_vs_uds"),
        fig("lpcfs_auto_close_call", "  of which close() call",
            "uds_close_call", "")},
       [two](const Config& c) { return two(ConnectLpcfs(c, true)); },
       true});
  // Large messages (issue 8), each size's socket rows before its lpcfs row
  // so that the table reads top down. No goal: the issue names none.
  for (size_t size : {size_t(4096), size_t(65536), kLargeMaxSize}) {
    std::string k = std::to_string(size / 1024);
    std::string kib = k + " KiB";
    std::string name = "large_rtt_" + k + "k";
    std::string seq = "seqpacket_" + name, stream = "stream_" + name;
    std::string group = "large-" + k + "k";
    auto large = [size](std::vector<uint64_t> (*f)(const Config&, size_t)) {
      return [f, size](const Config& c) {
        return Outcomes{{f(c, size), {}, {}}};
      };
    };
    auto sized = [size](Figure f) {
      f.bytes_per_sample = 2 * size;
      return f;
    };
    steps.push_back({group,
                     {sized(fig(seq, "unix seqpacket " + kib + " round trip",
                                seq.c_str(), ""))},
                     large(RttLargeSeqpacket)});
    steps.push_back({group,
                     {sized(fig(stream, "unix stream " + kib + " round trip",
                                seq.c_str(), ""))},
                     large(RttLargeStream)});
    Figure lpc = sized(fig(name, "lpcfs " + kib + " round trip", seq.c_str(),
                           (name + "_ratio_vs_seqpacket").c_str()));
    lpc.more_ratios.push_back({stream, name + "_ratio_vs_stream"});
    steps.push_back({group, {lpc}, large(RttLargeLpcfs), true});
  }
  // A 64 MiB buffer read in 1 MiB chunks: by the server itself with
  // process_vm_readv, then through a memory window.
  steps.push_back(
      {"window-read",
       {rate(fig("process_vm_readv", "process_vm_readv, 1 MiB chunks (MiB/s)",
                 "process_vm_readv", ""),
             "process_vm_readv_mib_s", "MiB/s", "")},
       rate_of(ProcessVmReadv),
       true});
  steps.push_back(
      {"window-read",
       {rate(fig("window_read", "lpcfs window pread(), 1 MiB chunks (MiB/s)",
                 "process_vm_readv", ""),
             "window_read_mib_s", "MiB/s", "window_read_vs_process_vm_readv")},
       rate_of(WindowRead),
       true});
  // The 64 MiB hand-off (issue 8). Its ratios are computed in PrintReport:
  // the goals are "times faster" and "fraction of a memcpy", the inverse
  // of the other rows' ratios.
  steps.push_back({"handoff",
                   {fig("memcpy_64m", "memcpy of 64 MiB", "", "")},
                   one(Memcpy64MiB)});
  steps.push_back(
      {"handoff",
       {fig("uds_handoff_64m", "unix stream 64 MiB hand-off", "", "")},
       one(HandoffUnixStream)});
  steps.push_back({"handoff",
                   {fig("handoff_64m", "lpcfs 64 MiB hand-off, view", "", "")},
                   [](const Config& c) {
                     return Outcomes{{HandoffView(c, false), {}, {}}};
                   },
                   true});
  steps.push_back({"handoff",
                   {fig("handoff_64m_populated",
                        "lpcfs 64 MiB hand-off, view populated", "", "")},
                   [](const Config& c) {
                     return Outcomes{{HandoffView(c, true), {}, {}}};
                   },
                   true});
  return steps;
}

// The project's goals for the figures (issue 7; README.md).
struct Goal {
  const char* result;
  bool at_most;  // else: at least
  double bound;
  const char* what;
};
const Goal kGoals[] = {
    {"rtt_ratio_vs_uds", true, 2.5, "lpcfs round trip p50 / socket's"},
    {"rtt_call_ratio_vs_uds", true, 1.5, "CALL round trip p50 / socket's"},
    {"oneway_batch_ratio_vs_uds", false, 5.0,
     "batched one-way rate / socket's"},
    {"conc256_throughput_ratio_vs_uds", false, 1.0,
     "256 callers' rate / epoll's"},
    {"conc256_p99_over_p50", true, 3.0, "256 callers' p99 / own p50"},
    {"connect_ratio_vs_uds", true, 3.0, "connect cycle p50 / socket's"},
    {"connect_auto_ratio_vs_uds", true, 2.0,
     "auto-accept connect p50 / socket's"},
    {"idle_rss_kb_per_conn", true, 4.0, "daemon KiB per idle connection"},
    // Issue 8.
    {"handoff_64m_ratio_vs_uds", false, 10.0, "socket hand-off p50 / view's"},
    {"handoff_64m_vs_memcpy", false, 0.5, "memcpy p50 / view hand-off's"},
};

// A large-message figure's bytes per second over its median round trip,
// in MiB: what a client moving one message each way at a time achieves.
// The median rather than the mean, whose few preempted round trips of
// several milliseconds decide it on a busy machine.
double MibPerSecond(const Figure& f) {
  return double(f.bytes_per_sample) / (f.summary->p50 * 1e-6) / double(1 << 20);
}

void PrintReport(const std::vector<Figure>& figures) {
  std::map<std::string, const Figure*> by_name;
  for (auto& f : figures) by_name[f.name] = &f;
  auto figure_of = [&](const std::string& name) -> const Figure* {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  };
  auto summary_of = [&](const std::string& name) -> const Summary* {
    const Figure* f = figure_of(name);
    return f && f->summary ? &*f->summary : nullptr;
  };

  bool any_latency = false;
  for (auto& f : figures) any_latency |= f.summary || !f.problem.empty();
  if (any_latency) {
    std::printf("\n%-36s %8s %8s %8s %8s %9s %9s\n",
                "measurement (microseconds)", "p50", "p99", "mean", "max",
                "p50/base", "p99/base");
  }
  for (auto& f : figures) {
    if (!f.problem.empty()) {
      std::printf("%-36s %s\n", f.label.c_str(), f.problem.c_str());
      continue;
    }
    if (!f.summary) continue;
    const Summary& s = *f.summary;
    std::printf("%-36s %8.1f %8.1f %8.1f %8.0f", f.label.c_str(), s.p50, s.p99,
                s.mean, s.max);
    if (const Summary* b = summary_of(f.baseline)) {
      std::printf(" %8.2fx %8.2fx", s.p50 / b->p50, s.p99 / b->p99);
    }
    std::printf("\n");
  }
  if (any_latency) {
    std::printf(
        "(base: the Unix socket row of the same kind: round trip, one-way, "
        "load or connect)\n");
  }

  bool any_rate = false;
  for (auto& f : figures) {
    if (!f.rate) continue;
    if (!any_rate) {
      std::printf("\n%-36s %12s %9s\n", "throughput", "per second", "/base");
      any_rate = true;
    }
    std::printf("%-36s %12.0f %-5s", f.label.c_str(), *f.rate,
                f.rate_unit.c_str());
    if (const Figure* b = figure_of(f.baseline); b && b->rate) {
      std::printf(" %7.2fx", *f.rate / *b->rate);
    }
    std::printf("\n");
  }
  bool any_bandwidth = false;
  for (auto& f : figures) {
    if (!f.summary || f.bytes_per_sample == 0) continue;
    if (!any_bandwidth) {
      std::printf("\n%-36s %12s %9s\n", "bytes moved (both ways, p50)", "MiB/s",
                  "/base");
      any_bandwidth = true;
    }
    std::printf("%-36s %12.0f", f.label.c_str(), MibPerSecond(f));
    if (const Figure* b = figure_of(f.baseline); b && b->summary) {
      std::printf(" %8.2fx", MibPerSecond(f) / MibPerSecond(*b));
    }
    std::printf("\n");
  }
  for (auto& f : figures) {
    if (f.value) {
      std::printf("\n%-36s %8.2f %s\n", f.label.c_str(), *f.value,
                  f.value_unit.c_str());
    }
  }

  // RESULT lines, collected first so that the goals can look them up.
  std::vector<std::pair<std::string, std::string>> results;
  std::map<std::string, double> value_of;
  auto result = [&](const std::string& name, double v, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
    results.emplace_back(name, text);
    value_of[name] = v;
  };
  for (auto& f : figures) {
    if (f.summary) {
      result(f.name + "_p50_us", f.summary->p50, 1);
      result(f.name + "_p99_us", f.summary->p99, 1);
    }
    if (f.rate) result(f.rate_name, *f.rate, 0);
    if (f.value) result(f.value_name, *f.value, 2);
    if (f.summary && f.bytes_per_sample > 0) {
      result(f.name + "_mib_per_s", MibPerSecond(f), 0);
    }
  }
  for (auto& f : figures) {
    if (f.summary && !f.ratio_name.empty()) {
      if (const Summary* b = summary_of(f.baseline)) {
        result(f.ratio_name, f.summary->p50 / b->p50, 2);
      }
    }
    if (f.rate && !f.rate_ratio_name.empty()) {
      if (const Figure* b = figure_of(f.baseline); b && b->rate) {
        result(f.rate_ratio_name, *f.rate / *b->rate, 2);
      }
    }
    for (auto& [base, ratio] : f.more_ratios) {
      const Summary* b = summary_of(base);
      if (f.summary && b) result(ratio, f.summary->p50 / b->p50, 2);
    }
    if (f.summary && !f.spread_name.empty()) {
      result(f.spread_name, f.summary->p99 / f.summary->p50, 2);
    }
  }
  const Summary* lpcfs = summary_of("lpcfs_rtt");
  const Summary* uds = summary_of("uds_rtt");
  if (lpcfs && uds) result("rtt_p99_ratio_vs_uds", lpcfs->p99 / uds->p99, 2);
  // The hand-off's figures are "how many times faster" and "what fraction
  // of a memcpy": the socket's and memcpy's time over the view's.
  for (const char* view : {"handoff_64m", "handoff_64m_populated"}) {
    const Summary* h = summary_of(view);
    const Summary* hu = summary_of("uds_handoff_64m");
    const Summary* mc = summary_of("memcpy_64m");
    std::string name = view;
    if (h && hu) result(name + "_ratio_vs_uds", hu->p50 / h->p50, 2);
    if (h && mc) result(name + "_vs_memcpy", mc->p50 / h->p50, 2);
  }
  const Summary* lc = summary_of("lpcfs_connect");
  const Summary* uc = summary_of("uds_connect");
  if (lc && uc) result("connect_p99_ratio_vs_uds", lc->p99 / uc->p99, 2);

  bool any_goal = false;
  for (const Goal& g : kGoals) {
    auto it = value_of.find(g.result);
    if (it == value_of.end()) continue;
    if (!any_goal) std::printf("\n");
    any_goal = true;
    bool met = g.at_most ? it->second <= g.bound : it->second >= g.bound;
    std::printf("goal: %-32s %s %s %.2f: %.2f (%s)\n", g.what, g.result,
                g.at_most ? "<=" : ">=", g.bound, it->second,
                met ? "met" : "NOT met");
  }

  std::printf("\n");
  for (auto& [name, text] : results) {
    std::printf("RESULT %s %s\n", name.c_str(), text.c_str());
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
  std::vector<Step> steps = MakeSteps(o.cfg);
  bool needs_lpcfs = false;
  for (auto& step : steps) needs_lpcfs |= step.lpcfs && wants(step.group);
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
  std::string large_sizes;
  for (const char* k : {"4", "64", "1000"}) {
    if (!wants("large-" + std::string(k) + "k")) continue;
    large_sizes += (large_sizes.empty() ? "" : ", ") + std::string(k) + " KiB";
  }
  if (!large_sizes.empty()) {
    std::printf(
        "large messages: %s round trips, %lld ms timed per row and round "
        "after %lld ms warm-up\n",
        large_sizes.c_str(), (long long)cfg.large_duration.count(),
        (long long)cfg.large_duration.count() / 10);
  }
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
      // The daemon inherits the descriptor limit: its process cache holds
      // up to a quarter of it (fs/README.md), and conc256 has more writer
      // threads than the default limit's quarter.
      RaiseDescriptorLimit(kDescriptorLimit);
      own.emplace(lpcfs, DaemonArgs(o), std::chrono::seconds(10), o.daemon_cpu);
      cfg.mount = own->dir();
      cfg.daemon_pid = own->daemon_pid();
      std::printf("lpcfs: started %s at %s (pid %d, private mount namespace)\n",
                  lpcfs.c_str(), cfg.mount.c_str(), int(own->daemon_pid()));
    }
  }

  bool failed = false;
  for (size_t r = 0; r < o.rounds; ++r) {
    Config rc = cfg;
    rc.iterations = Share(cfg.iterations, o.rounds, r);
    rc.connect_iterations = Share(cfg.connect_iterations, o.rounds, r);
    rc.warmup = o.warmup.value_or(rc.iterations / 10);
    rc.connect_warmup = o.connect_warmup.value_or(rc.connect_iterations / 10);
    rc.oneway_messages = Share(cfg.oneway_messages, o.rounds, r);
    std::printf("round %zu/%zu:", r + 1, o.rounds);
    std::fflush(stdout);
    auto t0 = Clock::now();
    for (auto& step : steps) {
      if (!wants(step.group) || step.dead || (step.once && r > 0)) continue;
      std::printf(" %s", step.group.c_str());
      std::fflush(stdout);
      try {
        auto outcomes = step.measure(rc);
        for (size_t i = 0; i < step.figures.size(); ++i) {
          step.figures[i].Add(std::move(outcomes[i]));
        }
      } catch (const Unavailable& e) {
        std::printf("(skipped)");
        for (auto& f : step.figures)
          f.problem = "skipped: " + std::string(e.what());
        step.dead = true;
      } catch (const std::exception& e) {
        std::printf("(FAILED)\n");
        std::fflush(stdout);
        std::fprintf(stderr, "lpc-bench: %s: %s\n", step.group.c_str(),
                     e.what());
        for (auto& f : step.figures)
          f.problem = "FAILED: " + std::string(e.what());
        step.dead = true;
        failed = true;
      }
      if (own && !own->DaemonAlive()) {
        std::fprintf(stderr, "\nlpc-bench: lpcfs exited during %s\n",
                     step.group.c_str());
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
      f.Finish();
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
