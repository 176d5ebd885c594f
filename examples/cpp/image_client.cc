// image_client: hands an image to lpc-example-image-server through a view
// (lpc.7 "VIEWS"), and sees the server's result in its own memory.
//
//   lpc-example-image-client MOUNT [WIDTH HEIGHT]
//
// Creates a section MOUNT/.sections/image-PID of WIDTH x HEIGHT RGBA pixels
// (default 2048 x 1024: 8 MiB), draws a gradient into its mapping, and calls
// MOUNT/imaging with LPC_IOC_CALL and a read-write view of the whole image.
// The server inverts the pixels in place; the client prints the reply and
// checks every byte of its mapping. Nothing of the image is copied: both
// processes map the same pages. The section goes when the client exits.
#include <fcntl.h>
#include <lpc.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "lpc-example-image-client: %s: %s\n", what.c_str(),
               std::strerror(errno));
  return 1;
}

unsigned char Gradient(size_t i) { return static_cast<unsigned char>(i * 7); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr,
                 "usage: lpc-example-image-client MOUNT [WIDTH HEIGHT]\n");
    return 2;
  }
  const std::string mount = argv[1];
  const size_t width = argc == 4 ? std::strtoul(argv[2], nullptr, 10) : 2048;
  const size_t height = argc == 4 ? std::strtoul(argv[3], nullptr, 10) : 1024;
  const size_t size = width * height * 4;

  // The section: created, sized and mapped; unlinked at once, since only
  // this process and the view need it (its handle and mapping keep it).
  const std::string path =
      mount + "/" LPC_SECTIONS_DIR "/image-" + std::to_string(getpid());
  int section = open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (section < 0) return Fail(path);
  unlink(path.c_str());
  if (ftruncate(section, static_cast<off_t>(size)) != 0) return Fail("size");
  struct stat st;
  if (fstat(section, &st) != 0) return Fail("fstat");
  auto* image = static_cast<unsigned char*>(
      mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, section, 0));
  if (image == MAP_FAILED) return Fail("mmap");
  for (size_t i = 0; i < size; ++i) image[i] = Gradient(i);

  const std::string port = mount + "/imaging";
  int conn = open(port.c_str(), O_RDWR | O_CLOEXEC);
  if (conn < 0) return Fail(port);

  // One MESSAGE record: the view, then the message bytes.
  const std::string request = "invert";
  lpc_view view{};
  view.section = st.st_ino;
  view.offset = 0;
  view.length = size;
  view.access = LPC_VIEW_READ | LPC_VIEW_WRITE;
  std::vector<uint64_t> words(512);  // 4 KiB, 8-byte aligned
  auto* buf = reinterpret_cast<char*>(words.data());
  lpc_transfer t{};
  lpc_record h{};
  h.type = LPC_REC_MESSAGE;
  h.flags = LPC_MESSAGE_VIEW;
  h.length = static_cast<uint32_t>(sizeof view + request.size());
  t.send_length = static_cast<uint32_t>(sizeof h + h.length);
  std::memcpy(buf, &t, sizeof t);
  std::memcpy(buf + sizeof t, &h, sizeof h);
  std::memcpy(buf + sizeof t + sizeof h, &view, sizeof view);
  std::memcpy(buf + sizeof t + sizeof h + sizeof view, request.data(),
              request.size());
  if (ioctl(conn, LPC_IOC_CALL(4096), buf) != 0) return Fail("call");
  lpc_record reply;
  std::memcpy(&reply, buf + sizeof t, sizeof reply);
  std::printf("reply: %.*s\n", static_cast<int>(reply.length),
              buf + sizeof t + sizeof reply);

  // The server's stores are in this process's mapping already.
  size_t wrong = 0;
  for (size_t i = 0; i < size; ++i) {
    wrong += image[i] != static_cast<unsigned char>(255 - Gradient(i));
  }
  if (wrong) {
    std::fprintf(stderr, "%zu bytes not inverted\n", wrong);
    return 1;
  }
  std::printf("%zu bytes inverted in place\n", size);
  return 0;
}
