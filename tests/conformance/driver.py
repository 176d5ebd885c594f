#!/usr/bin/env python3
"""Conformance driver in Python: runs scenarios.tsv against MOUNT.

usage: driver.py SCENARIOS MOUNT
Prints "NAME<TAB>RESULTS" per scenario (scenarios.tsv says how).
"""
import errno
import os
import select
import sys


def unescape(text):
    return text.replace("\\n", "\n").encode()


def escape(data):
    return data.decode(errors="replace").replace("\n", "\\n")


def run(steps, mount):
    results = []
    fd = None
    try:
        for step in steps:
            op, arg = step.split(" ", 1)
            if op == "connect":
                try:
                    fd = os.open(os.path.join(mount, arg), os.O_RDWR)
                except OSError as e:
                    results.append(errno.errorcode[e.errno])
                    break
                results.append("ok")
            elif op == "write":
                os.write(fd, unescape(arg))
                results.append("ok")
            elif op == "read":
                data = os.read(fd, int(arg))
                results.append(escape(data) if data else "eof")
            elif op == "poll":
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                results.append("readable" if poller.poll(int(arg))
                               else "nothing")
            else:
                raise ValueError("unknown step %r" % step)
    finally:
        if fd is not None:
            os.close(fd)
    return " ".join(results)


def main(argv):
    table, mount = argv[1], argv[2]
    with open(table) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, steps, _ = line.rstrip("\n").split("\t")
            print("%s\t%s" % (name, run(steps.split("; "), mount)),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
