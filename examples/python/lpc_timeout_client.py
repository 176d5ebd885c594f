#!/usr/bin/env python3
"""Connects to an lpcfs port, but gives up after a timeout.

usage: lpc_timeout_client.py SECONDS PORT_PATH MESSAGE...

open() of a port waits until the server accepts or rejects the request
(lpc.7 CONNECTING); a server that never reads its records keeps it waiting
(up to the daemon's connect timeout, if it has one). Python's os.open has
no timeout, so a timer signal interrupts it.

The trap: since PEP 475 (Python 3.5) a system call that fails with EINTR
is retried after the signal handler has run, unless the handler raises.
A handler that only prints or sets a flag therefore does not stop the
wait: the daemon fails the interrupted open() with EINTR and withdraws the
request (lpc.7 CONNECTING), Python opens again, and the server reads
LPC_REC_CONNECT, LPC_REC_DISCONNECT (withdrawn), LPC_REC_CONNECT again. The handler below raises, which is what ends the
open(); the daemon then withdraws the request (the server reads an
LPC_REC_DISCONNECT with LPC_DISCONNECT_WITHDRAWN).

Exits 0 after printing one reply per message, 3 when the connect timed
out, 1 on any other error.
"""

import os
import signal
import sys

MAX_MESSAGE = 256  # LPC_MAX_MESSAGE in include/lpc.h


class ConnectTimeout(Exception):
    pass


def _raise_timeout(signum, frame):
    raise ConnectTimeout()


def connect(path, seconds):
    """Opens `path` O_RDWR; raises ConnectTimeout after `seconds`."""
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        # If the timer fires after open() returned but before `fd` is bound,
        # the exception leaks the descriptor (the connection then lasts until
        # the process exits). The window is a few bytecodes; a process that
        # cannot afford it connects in a child thread or process instead.
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return fd


def main(argv):
    if len(argv) < 4:
        print("usage: %s SECONDS PORT_PATH MESSAGE..." % argv[0],
              file=sys.stderr)
        return 2
    seconds, path, messages = float(argv[1]), argv[2], argv[3:]
    try:
        fd = connect(path, seconds)
    except ConnectTimeout:
        print("lpc_timeout_client.py: %s: no answer within %g s"
              % (path, seconds), file=sys.stderr)
        return 3
    except OSError as e:
        print("lpc_timeout_client.py: %s: %s" % (path, e.strerror),
              file=sys.stderr)
        return 1
    try:
        for message in messages:
            os.write(fd, message.encode())
            print(os.read(fd, MAX_MESSAGE).decode(errors="replace"),
                  flush=True)
    except OSError as e:
        print("lpc_timeout_client.py: %s: %s" % (path, e.strerror),
              file=sys.stderr)
        return 1
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
