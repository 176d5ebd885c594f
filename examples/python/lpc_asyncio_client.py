#!/usr/bin/env python3
"""Sends each message on a connection of its own, all at once, with asyncio.

usage: lpc_asyncio_client.py PORT_PATH MESSAGE...

Prints "MESSAGE -> REPLY" per message, in argument order. A port's file
descriptor works with the event loop like a socket: lpc.7 POLL says a client
port is readable when a message is queued (and POLLIN|POLLHUP once the
server has gone), so loop.add_reader() calls back when read() will not
wait. The descriptor is made O_NONBLOCK so that a read the loop was wrong
about fails with EAGAIN instead of blocking the loop.

Only open() cannot be waited for by the loop: it is the connection request
and blocks until the server answers, so it runs in the loop's default
thread pool (run_in_executor). Each reply is awaited with a timeout.
"""

import asyncio
import os
import sys

MAX_MESSAGE = 256  # LPC_MAX_MESSAGE in include/lpc.h
REPLY_TIMEOUT = 10.0


async def readable(loop, fd):
    """Waits until fd is readable (poll says POLLIN or POLLHUP)."""
    ready = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def read_message(loop, fd):
    while True:
        try:
            return os.read(fd, MAX_MESSAGE)  # b"" once the server has gone
        except BlockingIOError:
            await readable(loop, fd)


async def exchange(loop, path, message):
    fd = await loop.run_in_executor(None, os.open, path,
                                    os.O_RDWR | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, False)
        # A write with room in the queue never waits (POLLOUT); a full queue
        # would fail EAGAIN here, which a long-running client would await
        # with loop.add_writer().
        os.write(fd, message)
        reply = await asyncio.wait_for(read_message(loop, fd), REPLY_TIMEOUT)
        if not reply:
            raise ConnectionResetError("server closed the connection")
        return reply
    finally:
        os.close(fd)


async def run(path, messages):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(exchange(loop, path, m) for m in messages))


def main(argv):
    if len(argv) < 3:
        print("usage: %s PORT_PATH MESSAGE..." % argv[0], file=sys.stderr)
        return 2
    path, messages = argv[1], [m.encode() for m in argv[2:]]
    if not all(messages):
        print("lpc_asyncio_client.py: empty messages cannot be sent",
              file=sys.stderr)
        return 1
    try:
        replies = asyncio.run(run(path, messages))
    except (OSError, asyncio.TimeoutError) as e:
        print("lpc_asyncio_client.py: %s: %s" % (
            path, getattr(e, "strerror", None) or e or "timed out"),
              file=sys.stderr)
        return 1
    for message, reply in zip(messages, replies):
        print("%s -> %s" % (message.decode(errors="replace"),
                            reply.decode(errors="replace")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
