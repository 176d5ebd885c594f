// Memory windows (lpc.7 "MEMORY WINDOWS"): a caller attaches a range of
// its own memory to an LPC_IOC_CALL, and the server side of the
// connection reads and writes it through /lpc/.windows/ID while the call
// is outstanding; never outside the range, never after the call ended,
// never by anyone else. Servers run as lpct_alice, so the daemon (nobody)
// needs the CAP_SYS_PTRACE that -o memory_windows keeps.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ioctl_buffer.h"
#include "test_users.h"

namespace lpctest {
namespace {

// The payload of a MESSAGE record that carries a window: the struct
// lpc_window, then the message bytes.
std::string WindowPayload(const lpc_window& w, std::string_view message) {
  std::string p(reinterpret_cast<const char*>(&w), sizeof w);
  p.append(message);
  return p;
}

lpc_window Window(const void* address, uint64_t length, uint32_t access) {
  lpc_window w{};
  w.address = reinterpret_cast<uint64_t>(address);
  w.length = length;
  w.access = access;
  return w;
}

// LPC_IOC_CALL of `message` with window `w` attached. 0 or errno; the
// reply's payload in *reply.
int CallWithWindow(int fd, const lpc_window& w, std::string_view message,
                   std::string* reply = nullptr, uint32_t timeout_ms = 0) {
  IoctlBuffer buf(1024);
  buf.header().timeout_ms = timeout_ms;
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  h.flags = LPC_MESSAGE_WINDOW;
  if (!buf.Add(h, WindowPayload(w, message))) return ENOBUFS;
  int err = buf.Call(fd);
  if (err != 0) return err;
  std::vector<Record> got;
  if (!buf.Parse(&got) || got.size() != 1) return EPROTO;
  if (reply) *reply = got[0].payload;
  return 0;
}

// A call's record as the server reads it: its window, and the message.
struct WindowCall {
  Record record;
  lpc_window window{};
  std::string message;
};

// Reads the next record of `srv`, which must be a call with a window. 0
// or errno (EPROTO: some other record).
int ReadWindowCall(int srv, WindowCall* out) {
  int err = ReadRecord(srv, &out->record);
  if (err != 0) return err;
  const Record& r = out->record;
  if (r.h.type != LPC_REC_MESSAGE ||
      (r.h.flags & (LPC_MESSAGE_CALL | LPC_MESSAGE_WINDOW)) !=
          (LPC_MESSAGE_CALL | LPC_MESSAGE_WINDOW) ||
      r.payload.size() < sizeof(lpc_window)) {
    return EPROTO;
  }
  std::memcpy(&out->window, r.payload.data(), sizeof out->window);
  out->message = r.payload.substr(sizeof(lpc_window));
  return 0;
}

// pread/pwrite that keep the errno: the count, or -errno.
ssize_t PRead(int fd, std::string* out, size_t count, off_t offset) {
  out->assign(count, '\0');
  ssize_t n = pread(fd, out->data(), count, offset);
  if (n < 0) return -errno;
  out->resize(static_cast<size_t>(n));
  return n;
}
ssize_t PWrite(int fd, std::string_view data, off_t offset) {
  ssize_t n = pwrite(fd, data.data(), data.size(), offset);
  return n < 0 ? -errno : n;
}

// The names in a folder, "." and ".." left out; empty if it cannot be
// listed.
std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  return names;
}

// A one-shot signal between processes whose fds are known, so that a
// child running as another user keeps them across CloseOtherFds (Gate's
// are not).
class Notice {
 public:
  Notice() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) == 0) {
      r_.reset(fds[0]);
      w_.reset(fds[1]);
    }
  }
  std::vector<int> fds() const { return {r_.get(), w_.get()}; }
  void Give() const {
    char c = 1;
    ssize_t ignored = write(w_.get(), &c, 1);
    (void)ignored;
  }
  // False if the pipe broke or the watchdog fired.
  bool Wait() const {
    char c;
    ssize_t n;
    do {
      n = read(r_.get(), &c, 1);
    } while (n < 0 && errno == EINTR && !WatchdogFired());
    return n == 1;
  }

 private:
  UniqueFd r_, w_;
};

// The fds of `lists`, in one list.
std::vector<int> Fds(std::initializer_list<std::vector<int>> lists) {
  std::vector<int> all;
  for (const auto& l : lists) all.insert(all.end(), l.begin(), l.end());
  return all;
}

// Bytes the client's buffer starts with: the server checks it read them.
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('A' + i % 23);
  return s;
}

class MemoryWindowTest : public TwoUsersTest {
 protected:
  std::string DaemonOptions() const override { return "memory_windows"; }

  // A port of alice's that accepts at once, with the test (root)
  // connected to it as the client.
  void SetUp() override {
    TwoUsersTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    srv_ = OpenedAs(alice_, P("svc"), O_CREAT | O_EXCL | O_RDWR, 0666);
    ASSERT_TRUE(srv_.valid());
    ASSERT_OK(SetPortOptions(srv_.get(), LPC_PORT_AUTO_ACCEPT));
    Opened client = Open(P("svc"), O_RDWR);
    ASSERT_OK(client.err);
    client_ = std::move(client.fd);
    conn_ = Expect(srv_.get(), LPC_REC_CONNECT).h.conn_id;
    ASSERT_NE(0u, conn_);
  }

  // `serve` in a child as alice, holding the server handle: it gets the
  // call's record and the path of its window file.
  // `keep`: more fds it keeps (Notice::fds()).
  pid_t ServeAsAlice(std::function<int(int srv, const WindowCall& call,
                                       const std::string& file)>
                         serve,
                     std::vector<int> keep = {}) {
    int srv = srv_.get();
    std::string windows = P(LPC_WINDOWS_DIR);
    keep.push_back(srv);
    return RunAs(alice_, keep, [srv, windows, serve] {
      WindowCall call;
      CHILD_CHECK_ERR(0, ReadWindowCall(srv, &call));
      return serve(srv, call, windows + "/" + std::to_string(call.window.id));
    });
  }

  UniqueFd srv_;
  UniqueFd client_;
  uint64_t conn_ = 0;
};

TEST_F(MemoryWindowTest, ServerReadsAndWritesTheWindowDuringTheCall) {
  constexpr size_t kSize = 3 * 4096 + 100;
  std::string buffer = Pattern(kSize);
  const uint64_t address = reinterpret_cast<uint64_t>(buffer.data());
  const uint32_t alice = alice_.uid;
  std::string windows = P(LPC_WINDOWS_DIR);
  pid_t server = ServeAsAlice([=](int srv, const WindowCall& call,
                                  const std::string& file) {
    CHILD_CHECK(call.message == "fill it");
    CHILD_CHECK(call.window.id != 0);
    CHILD_CHECK(call.window.address == address);
    CHILD_CHECK(call.window.length == kSize);
    CHILD_CHECK(call.window.access == (LPC_WINDOW_READ | LPC_WINDOW_WRITE));
    CHILD_CHECK(call.window.reserved == 0);
    struct stat st {};
    CHILD_CHECK(stat(file.c_str(), &st) == 0);
    CHILD_CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600);
    CHILD_CHECK(st.st_uid == alice);
    CHILD_CHECK(st.st_size == static_cast<off_t>(kSize));
    CHILD_CHECK(Names(windows) ==
                std::vector<std::string>{std::to_string(call.window.id)});
    Opened w = Open(file, O_RDWR);
    CHILD_CHECK_ERR(0, w.err);
    int fd = w.fd.get();
    std::string got;
    CHILD_CHECK(PRead(fd, &got, kSize, 0) == static_cast<ssize_t>(kSize));
    CHILD_CHECK(got == Pattern(kSize));
    // Reads stop at the end; at the end they read nothing.
    CHILD_CHECK(PRead(fd, &got, 64, kSize - 10) == 10);
    CHILD_CHECK(got == Pattern(kSize).substr(kSize - 10));
    CHILD_CHECK(PRead(fd, &got, 64, kSize) == 0);
    CHILD_CHECK(PRead(fd, &got, 64, kSize + 4096) == 0);
    // Seekable: read(2) goes on from where the last one ended.
    CHILD_CHECK(lseek(fd, 5, SEEK_SET) == 5);
    char two[2];
    CHILD_CHECK(read(fd, two, 2) == 2 && two[0] == 'F' && two[1] == 'G');
    CHILD_CHECK(PWrite(fd, "SERVER", 100) == 6);
    CHILD_CHECK(PWrite(fd, "END", kSize - 3) == 3);
    // A write that would pass the end writes nothing at all.
    CHILD_CHECK(PWrite(fd, "0123456789", kSize - 5) == -EFBIG);
    CHILD_CHECK(PWrite(fd, "x", kSize) == -EFBIG);
    CHILD_CHECK_ERR(
        0, Reply(srv, call.record.h.conn_id, call.record.h.msg_id, "filled"));
    // The call is answered: the window is gone, and the file with it.
    CHILD_CHECK(PRead(fd, &got, 4, 0) == -EPIPE);
    CHILD_CHECK(PWrite(fd, "late", 0) == -EPIPE);
    CHILD_CHECK(Open(file, O_RDONLY).err == ENOENT);
    CHILD_CHECK(stat(file.c_str(), &st) == -1 && errno == ENOENT);
    CHILD_CHECK(Names(windows).empty());
    return 0;
  });
  std::string reply;
  ASSERT_OK(CallWithWindow(
      client_.get(),
      Window(buffer.data(), kSize, LPC_WINDOW_READ | LPC_WINDOW_WRITE),
      "fill it", &reply));
  EXPECT_EQ("filled", reply);
  EXPECT_EQ(0, WaitExit(server));
  std::string want = Pattern(kSize);
  want.replace(100, 6, "SERVER");
  want.replace(kSize - 3, 3, "END");
  EXPECT_EQ(want, buffer) << "the server's writes, and nothing else";
}

TEST_F(MemoryWindowTest, AccessDecidesTheModeAndTheOpens) {
  std::string buffer = Pattern(64);
  pid_t server = ServeAsAlice([](int srv, const WindowCall& call,
                                 const std::string& file) {
    struct stat st {};
    CHILD_CHECK(stat(file.c_str(), &st) == 0);
    CHILD_CHECK((st.st_mode & 07777) == 0400);
    CHILD_CHECK(Open(file, O_WRONLY).err == EACCES);
    CHILD_CHECK(Open(file, O_RDWR).err == EACCES);
    CHILD_CHECK(chmod(file.c_str(), 0600) == -1);
    Opened r = Open(file, O_RDONLY);
    CHILD_CHECK_ERR(0, r.err);
    std::string got;
    CHILD_CHECK(PRead(r.fd.get(), &got, 64, 0) == 64);
    CHILD_CHECK(PWrite(r.fd.get(), "x", 0) == -EBADF);
    CHILD_CHECK_ERR(
        0, Reply(srv, call.record.h.conn_id, call.record.h.msg_id, "read"));
    // A write-only window: open for reading is refused.
    WindowCall second;
    CHILD_CHECK_ERR(0, ReadWindowCall(srv, &second));
    std::string second_file =
        file.substr(0, file.rfind('/') + 1) + std::to_string(second.window.id);
    CHILD_CHECK(stat(second_file.c_str(), &st) == 0);
    CHILD_CHECK((st.st_mode & 07777) == 0200);
    CHILD_CHECK(Open(second_file, O_RDONLY).err == EACCES);
    Opened w = Open(second_file, O_WRONLY);
    CHILD_CHECK_ERR(0, w.err);
    CHILD_CHECK(PWrite(w.fd.get(), "w", 0) == 1);
    CHILD_CHECK_ERR(0, Reply(srv, second.record.h.conn_id,
                             second.record.h.msg_id, "written"));
    return 0;
  });
  ASSERT_OK(CallWithWindow(client_.get(),
                           Window(buffer.data(), 64, LPC_WINDOW_READ), "r"));
  EXPECT_EQ(Pattern(64), buffer) << "a read-only window stays as it was";
  ASSERT_OK(CallWithWindow(client_.get(),
                           Window(buffer.data(), 64, LPC_WINDOW_WRITE), "w"));
  EXPECT_EQ('w', buffer[0]);
  EXPECT_EQ(0, WaitExit(server));
}

TEST_F(MemoryWindowTest, OnlyTheServerSideSeesTheWindow) {
  std::string buffer = Pattern(64);
  Notice seen, checked;
  const User bob = bob_;
  std::string windows = P(LPC_WINDOWS_DIR);
  pid_t server = ServeAsAlice(
      [&seen, &checked](int srv, const WindowCall& call, const std::string&) {
        seen.Give();
        CHILD_CHECK(checked.Wait());
        CHILD_CHECK_ERR(
            0, Reply(srv, call.record.h.conn_id, call.record.h.msg_id, "ok"));
        return 0;
      },
      Fds({seen.fds(), checked.fds()}));
  std::thread caller([&] {
    EXPECT_OK(CallWithWindow(
        client_.get(),
        Window(buffer.data(), 64, LPC_WINDOW_READ | LPC_WINDOW_WRITE), "q"));
  });
  ASSERT_TRUE(seen.Wait());
  // The window lives now (its call waits for the reply); it is id 1, the
  // first this daemon gave out. Neither bob nor root (the caller itself)
  // sees it.
  const std::string file = windows + "/1";
  pid_t third = RunAs(bob, [file, windows] {
    struct stat st {};
    CHILD_CHECK(stat(file.c_str(), &st) == -1 && errno == ENOENT);
    CHILD_CHECK(Open(file, O_RDONLY).err == ENOENT);
    CHILD_CHECK(Open(file, O_WRONLY).err == ENOENT);
    CHILD_CHECK(Names(windows).empty());
    return 0;
  });
  EXPECT_EQ(0, WaitExit(third));
  struct stat st {};
  EXPECT_EQ(-1, stat(file.c_str(), &st));
  EXPECT_EQ(ENOENT, errno);
  EXPECT_ERR(ENOENT, Open(file, O_RDONLY).err);
  EXPECT_TRUE(Names(windows).empty());
  // Nobody may add a name there either.
  EXPECT_ERR(EPERM, Open(windows + "/2", O_CREAT | O_EXCL | O_RDWR, 0600).err);
  EXPECT_EQ(-1, mkdir((windows + "/d").c_str(), 0700));
  checked.Give();
  caller.join();
  EXPECT_EQ(0, WaitExit(server));
}

TEST_F(MemoryWindowTest, AFaultInTheClientIsEfaultAndPartialIsShort) {
  // Two pages, the second unmapped: the window covers both.
  long page = sysconf(_SC_PAGESIZE);
  char* two = static_cast<char*>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(MAP_FAILED, two);
  ASSERT_EQ(0, munmap(two + page, page));
  std::memset(two, 'p', page);
  pid_t server = ServeAsAlice(
      [page](int srv, const WindowCall& call, const std::string& file) {
        Opened w = Open(file, O_RDWR);
        CHILD_CHECK_ERR(0, w.err);
        std::string got;
        CHILD_CHECK(PRead(w.fd.get(), &got, 64, page - 16) == 16);
        CHILD_CHECK(got == std::string(16, 'p'));
        CHILD_CHECK(PRead(w.fd.get(), &got, 64, page) == -EFAULT);
        CHILD_CHECK(PWrite(w.fd.get(), "q", page + 1) == -EFAULT);
        CHILD_CHECK(PWrite(w.fd.get(), "0123456789", page - 4) == 4);
        CHILD_CHECK_ERR(
            0, Reply(srv, call.record.h.conn_id, call.record.h.msg_id, "ok"));
        return 0;
      });
  EXPECT_OK(CallWithWindow(
      client_.get(), Window(two, 2 * page, LPC_WINDOW_READ | LPC_WINDOW_WRITE),
      "q"));
  EXPECT_EQ(0, WaitExit(server));
  EXPECT_EQ("0123", std::string(two + page - 4, 4));
  munmap(two, page);
}

// A window over a mapping of an lpcfs file: reading it would need the
// daemon to answer the page fault it caused itself. The daemon refuses it
// (EFAULT) instead of hanging, and keeps serving.
TEST_F(MemoryWindowTest, AWindowOverAnLpcfsMappingIsEfault) {
  long page = sysconf(_SC_PAGESIZE);
  // The client's own port, mapped privately: faults would be FUSE reads
  // that wait for a message.
  void* mapped = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                      client_.get(), 0);
  ASSERT_NE(MAP_FAILED, mapped) << strerror(errno);
  pid_t server = ServeAsAlice([](int srv, const WindowCall& call,
                                 const std::string& file) {
    Opened w = Open(file, O_RDWR);
    CHILD_CHECK_ERR(0, w.err);
    std::string got;
    CHILD_CHECK(PRead(w.fd.get(), &got, 16, 0) == -EFAULT);
    CHILD_CHECK(PWrite(w.fd.get(), "x", 0) == -EFAULT);
    CHILD_CHECK_ERR(
        0, Reply(srv, call.record.h.conn_id, call.record.h.msg_id, "refused"));
    return 0;
  });
  std::string reply;
  EXPECT_OK(CallWithWindow(
      client_.get(), Window(mapped, page, LPC_WINDOW_READ | LPC_WINDOW_WRITE),
      "q", &reply));
  EXPECT_EQ("refused", reply);
  EXPECT_EQ(0, WaitExit(server));
  munmap(mapped, page);
  EXPECT_NE("", StatsText()) << "the daemon still answers";
}

// The client is killed while its call waits: the daemon ends the call
// (the kernel's interrupt), and with it the window, before the server
// learns of it; from then on the window is never reached.
TEST_F(MemoryWindowTest, AKilledClientsWindowIsNeverReached) {
  std::string path = P("svc");
  Notice called;
  pid_t client = RunAs(bob_, called.fds(), [path, &called] {
    Opened c = Open(path, O_RDWR);
    CHILD_CHECK_ERR(0, c.err);
    std::string buffer = Pattern(4096);
    called.Give();
    CallWithWindow(c.fd.get(),
                   Window(buffer.data(), buffer.size(), LPC_WINDOW_READ), "q");
    return 1;  // never: the test kills it first
  });
  Record c = Expect(srv_.get(), LPC_REC_CONNECT);
  ASSERT_TRUE(called.Wait());
  Notice opened;
  int srv = srv_.get();
  std::string windows = P(LPC_WINDOWS_DIR);
  pid_t server =
      RunAs(alice_, Fds({{srv}, opened.fds()}), [srv, &opened, windows, c] {
        WindowCall call;
        CHILD_CHECK_ERR(0, ReadWindowCall(srv, &call));
        CHILD_CHECK(call.record.h.conn_id == c.h.conn_id);
        std::string file = windows + "/" + std::to_string(call.window.id);
        Opened w = Open(file, O_RDONLY);
        CHILD_CHECK_ERR(0, w.err);
        std::string got;
        CHILD_CHECK(PRead(w.fd.get(), &got, 16, 0) == 16);
        opened.Give();
        // The CANCEL record comes after the window ended.
        Record cancel;
        CHILD_CHECK_ERR(0, ReadRecord(srv, &cancel));
        CHILD_CHECK(cancel.h.type == LPC_REC_CANCEL);
        CHILD_CHECK(cancel.h.msg_id == call.record.h.msg_id);
        CHILD_CHECK(PRead(w.fd.get(), &got, 16, 0) == -EPIPE);
        CHILD_CHECK(Open(file, O_RDONLY).err == ENOENT);
        return 0;
      });
  ASSERT_TRUE(opened.Wait());
  ASSERT_EQ(0, kill(client, SIGKILL));
  EXPECT_EQ(128 + SIGKILL, WaitExit(client));
  EXPECT_EQ(0, WaitExit(server));
}

// A call that times out, and one whose server side ends the connection:
// either way the window ends with the call.
TEST_F(MemoryWindowTest, ATimeoutOrTheServersEndEndsTheWindow) {
  std::string buffer = Pattern(64);
  pid_t server = ServeAsAlice([](int srv, const WindowCall& call,
                                 const std::string& file) {
    Opened w = Open(file, O_RDONLY);
    CHILD_CHECK_ERR(0, w.err);
    std::string got;
    CHILD_CHECK(PRead(w.fd.get(), &got, 8, 0) == 8);
    CHILD_CHECK(call.message == "late");
    // No reply: the call's 100 ms pass, the CANCEL record comes.
    Record cancel;
    CHILD_CHECK_ERR(0, ReadRecord(srv, &cancel));
    CHILD_CHECK(cancel.h.type == LPC_REC_CANCEL);
    CHILD_CHECK(cancel.h.flags == LPC_CANCEL_TIMED_OUT);
    CHILD_CHECK(PRead(w.fd.get(), &got, 8, 0) == -EPIPE);
    CHILD_CHECK(Open(file, O_RDONLY).err == ENOENT);
    // The next call's server side ends the connection instead.
    WindowCall second;
    CHILD_CHECK_ERR(0, ReadWindowCall(srv, &second));
    std::string second_file =
        file.substr(0, file.rfind('/') + 1) + std::to_string(second.window.id);
    Opened w2 = Open(second_file, O_RDONLY);
    CHILD_CHECK_ERR(0, w2.err);
    CHILD_CHECK_ERR(0, Disconnect(srv, second.record.h.conn_id));
    CHILD_CHECK(PRead(w2.fd.get(), &got, 8, 0) == -EPIPE);
    CHILD_CHECK(Open(second_file, O_RDONLY).err == ENOENT);
    return 0;
  });
  lpc_window w = Window(buffer.data(), 64, LPC_WINDOW_READ);
  EXPECT_ERR(ETIMEDOUT, CallWithWindow(client_.get(), w, "late", nullptr, 100));
  EXPECT_ERR(EPIPE, CallWithWindow(client_.get(), w, "dropped"));
  EXPECT_EQ(0, WaitExit(server));
}

TEST_F(MemoryWindowTest, AWindowComesOnlyWithACallAndWellFormed) {
  char buffer[16] = {};
  // With LPC_IOC_TRANSFER the message could outlive any call: EINVAL.
  IoctlBuffer transfer(1024);
  transfer.header().flags = LPC_TRANSFER_NO_RECEIVE;
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  h.flags = LPC_MESSAGE_WINDOW;
  ASSERT_TRUE(
      transfer.Add(h, WindowPayload(Window(buffer, 16, LPC_WINDOW_READ), "m")));
  EXPECT_ERR(EINVAL, transfer.Transfer(client_.get()));
  struct Case {
    const char* what;
    lpc_window w;
  };
  lpc_window id_set = Window(buffer, 16, LPC_WINDOW_READ);
  id_set.id = 5;
  lpc_window reserved_set = Window(buffer, 16, LPC_WINDOW_READ);
  reserved_set.reserved = 1;
  const Case cases[] = {
      {"length 0", Window(buffer, 0, LPC_WINDOW_READ)},
      {"no access", Window(buffer, 16, 0)},
      {"unknown access", Window(buffer, 16, 4)},
      {"id set", id_set},
      {"reserved set", reserved_set},
      {"wraps around",
       Window(reinterpret_cast<void*>(~uint64_t{0} - 4), 16, LPC_WINDOW_READ)},
  };
  for (const Case& c : cases) {
    EXPECT_ERR(EINVAL, CallWithWindow(client_.get(), c.w, "m")) << c.what;
  }
  EXPECT_TRUE(NoRecordQueued(srv_.get()));
}

class WindowsOffTest : public MountTest {};

TEST_F(WindowsOffTest, ACallWithAWindowFailsEopnotsupp) {
  auto [srv, client, c] = ConnectAutoAccepted("svc");
  ASSERT_TRUE(client.valid());
  char buffer[16] = {};
  EXPECT_ERR(
      EOPNOTSUPP,
      CallWithWindow(client.get(),
                     Window(buffer, sizeof buffer, LPC_WINDOW_READ), "q"));
  EXPECT_TRUE(NoRecordQueued(srv.get()));
  // .windows is there, and empty.
  struct stat st {};
  ASSERT_EQ(0, stat(P(LPC_WINDOWS_DIR).c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(Names(P(LPC_WINDOWS_DIR)).empty());
}

}  // namespace
}  // namespace lpctest
