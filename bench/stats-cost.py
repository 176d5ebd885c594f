#!/usr/bin/env python3
"""What one .stats open costs the daemon (lpc.7 "STATS", "Cost").

Run against a mount, as root, with the daemon's pid:

  tests/with-mount.sh build/fs/lpcfs -- sh -c \
    'bench/stats-cost.py "$LPC_MNT" auto 300 50 40'

(arguments: MOUNT PID|auto DEPTH CONNS HOLD). Builds a port DEPTH folders deep (255-byte names) with CONNS connections,
then reports the daemon's VmRSS (/proc/PID/status) and the time of one
open, of reading the whole text, and of holding HOLD opens at once.
"""
import errno
import os
import struct
import sys
import time

REC = "<IIQQIIIIiI"
PORT_OPTIONS, AUTO_ACCEPT = 20, 0x1


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def daemon_pid(mnt):
    """The lpcfs process serving mnt (its last argument)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if (argv and os.path.basename(argv[0]).startswith(b"lpcfs")
                and argv[-1] == os.fsencode(mnt)):
            return int(entry)
    sys.exit(f"no lpcfs process serves {mnt}")


def main():
    mnt = sys.argv[1]
    pid = daemon_pid(mnt) if sys.argv[2] == "auto" else int(sys.argv[2])
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    conns = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    hold = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    fd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    for i in range(depth):
        name = ("%03d" % (i % 1000)) + "x" * 252
        os.mkdir(name, 0o755, dir_fd=fd)
        nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    server = os.open("port", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666,
                     dir_fd=fd)
    os.write(server, struct.pack(REC, PORT_OPTIONS, 0, 0, 0, 0, 0, 0,
                                 AUTO_ACCEPT, 0, 0))
    clients = [os.open("port", os.O_RDWR, dir_fd=fd) for _ in range(conns)]
    stats = os.path.join(mnt, ".stats")
    base = rss_kib(pid)
    print(f"depth={depth} conns={conns} rss_before_kib={base}")

    t = time.monotonic()
    sfd = os.open(stats, os.O_RDONLY)
    open_ms = (time.monotonic() - t) * 1e3
    rss_one = rss_kib(pid)
    t = time.monotonic()
    size = 0
    while True:
        chunk = os.read(sfd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
    read_ms = (time.monotonic() - t) * 1e3
    os.close(sfd)
    print(f"one_open_ms={open_ms:.1f} rss_one_open_kib={rss_one} "
          f"(+{rss_one - base}) text_bytes={size} read_all_ms={read_ms:.1f}")

    held, refused = [], None
    for _ in range(hold):
        try:
            held.append(os.open(stats, os.O_RDONLY))
        except OSError as e:
            refused = errno.errorcode.get(e.errno, str(e.errno))
            break
    rss_held = rss_kib(pid)
    print(f"held_opens={len(held)} refused_with={refused} "
          f"rss_held_kib={rss_held} (+{rss_held - base})")
    for h in held:
        os.close(h)
    for c in clients:
        os.close(c)
    os.close(server)
    os.close(fd)


if __name__ == "__main__":
    main()
