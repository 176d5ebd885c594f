#!/usr/bin/env python3
"""Sends messages to an lpcfs port and prints one reply per message.

usage: lpc_client.py PORT_PATH MESSAGE...

Opening the port is the connection request: it succeeds once the server
accepts, or fails with the errno the server rejected it with (default
ECONNREFUSED). Each write() is one message (1..256 bytes, EMSGSIZE above);
each read() returns at most one message. Exits 1 with the error text when
the connection or a message fails.
"""

import os
import sys

MAX_MESSAGE = 256  # LPC_MAX_MESSAGE in include/lpc.h


def fail(text):
    print("lpc_client.py: %s" % text, file=sys.stderr)
    return 1


def main(argv):
    if len(argv) < 3:
        print("usage: %s PORT_PATH MESSAGE..." % argv[0], file=sys.stderr)
        return 2
    path = argv[1]
    messages = [m.encode() for m in argv[2:]]
    if not all(messages):
        # write() of 0 bytes sends nothing, so no reply would ever come.
        return fail("empty messages cannot be sent")

    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as e:
        return fail("%s: %s" % (path, e.strerror))
    try:
        for message in messages:
            os.write(fd, message)
            reply = os.read(fd, MAX_MESSAGE)
            if not reply:
                return fail("%s: server closed the connection" % path)
            print(reply.decode(errors="replace"), flush=True)
    except OSError as e:
        return fail("%s: %s" % (path, e.strerror))
    finally:
        os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
