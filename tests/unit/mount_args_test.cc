// What mount.fuse3(8) passes to lpcfs (fs/mount_args.h): the source goes,
// the mount point and the options libfuse or lpcfs know stay.
#include "mount_args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fuse_args.h"

namespace lpc {
namespace {

using Words = std::vector<std::string>;

TEST(DropMountHelperArgs, WhatMountFuse3RunsLosesTheSource) {
  // Exactly what `mount -t fuse.lpcfs lpc /lpc -o queue_messages=128` ran.
  Args args({"lpcfs", "lpc", "/lpc", "-o", "rw,queue_messages=128,dev,suid"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(),
            (Words{"lpcfs", "-o", "rw,queue_messages=128,dev,suid", "/lpc"}));
}

TEST(DropMountHelperArgs, AMountPointAloneStays) {
  Args args({"lpcfs", "-f", "/lpc"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(), (Words{"lpcfs", "-f", "/lpc"}));
}

TEST(DropMountHelperArgs, ThreeOperandsAreLeftForLibfuseToRefuse) {
  Args args({"lpcfs", "a", "b", "c"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(), (Words{"lpcfs", "a", "b", "c"}));
}

TEST(DropMountHelperArgs, NoOperandIsLeftForMainToRefuse) {
  Args args({"lpcfs", "-o", "backlog=3"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(), (Words{"lpcfs", "-o", "backlog=3"}));
}

TEST(DropMountHelperArgs, FlagsLibfuseDoesNotKnowGoKnownOnesStay) {
  // What libmount wrote for -o with every flag it has (see mount_args.cc).
  Args args({"lpcfs", "lpc", "/lpc", "-o",
             "ro,nodev,nosuid,noatime,relatime,nodiratime,noexec,sync,"
             "dirsync,strictatime,lazytime,iversion,silent"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(),
            (Words{"lpcfs", "-o", "ro,nodev,nosuid,noatime,noexec,sync,dirsync",
                   "/lpc"}));
}

TEST(DropMountHelperArgs, FstabWordsGoUserEqualsNameStays) {
  Args args({"lpcfs", "lpc", "/lpc", "-o",
             "defaults,owner,x-systemd.requires=a.service,comment=b,nofail,"
             "_netdev,user,users,nouser,auto,noauto,user=lpcfs"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(), (Words{"lpcfs", "-o", "user=lpcfs", "/lpc"}));
}

TEST(DropMountHelperArgs, OptionsAfterTheMountPointCount) {
  Args args({"lpcfs", "lpc", "/lpc", "-o", "relatime", "-f"});
  ASSERT_TRUE(DropMountHelperArgs(args.get()));
  EXPECT_EQ(args.Left(), (Words{"lpcfs", "-f", "/lpc"}));
}

}  // namespace
}  // namespace lpc
