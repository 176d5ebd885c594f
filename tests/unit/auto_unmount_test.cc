// Finding the daemon's mount in /proc/self/mountinfo (fs/auto_unmount.h).
#include "auto_unmount.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace lpc {
namespace {

const char kMountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:35 / /tmp/lpc rw,nosuid,nodev - tmpfs tmpfs rw\n"
    "41 40 0:40 / /tmp/lpc rw,nosuid,nodev,relatime - fuse.lpcfs lpcfs "
    "rw,user_id=0,group_id=0,default_permissions,allow_other\n"
    "42 41 0:41 / /tmp/lpc rw,nosuid,nodev,relatime shared:7 master:3 - "
    "fuse.lpcfs lpcfs rw,user_id=0,group_id=0\n"
    "43 22 0:42 / /tmp/my\\040mount\\134x rw - fuse lpcfs rw\n";

TEST(FuseMountDevice, TopmostFuseMountAtThePath) {
  EXPECT_EQ("0:41", FuseMountDevice(kMountinfo, "/tmp/lpc").value_or(""));
}

TEST(FuseMountDevice, PathsWithEscapedCharacters) {
  EXPECT_EQ("0:42",
            FuseMountDevice(kMountinfo, "/tmp/my mount\\x").value_or(""));
}

TEST(FuseMountDevice, NoneForOtherFileSystemsOrPaths) {
  EXPECT_FALSE(FuseMountDevice(kMountinfo, "/"));
  EXPECT_FALSE(FuseMountDevice(kMountinfo, "/tmp"));
  EXPECT_FALSE(FuseMountDevice("garbage\n\n", "/tmp/lpc"));
}

TEST(MountinfoHasDevice, MatchesTheDeviceField) {
  EXPECT_TRUE(MountinfoHasDevice(kMountinfo, "0:40"));
  EXPECT_TRUE(MountinfoHasDevice(kMountinfo, "8:1"));
  EXPECT_FALSE(MountinfoHasDevice(kMountinfo, "0:4"));
  EXPECT_FALSE(MountinfoHasDevice(kMountinfo, "/tmp/lpc"));
}

TEST(OpenDescriptors, SeesADescriptorOpenedAndClosed) {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(1u, OpenDescriptors().count(fd));
  ::close(fd);
  EXPECT_EQ(0u, OpenDescriptors().count(fd));
}

}  // namespace
}  // namespace lpc
