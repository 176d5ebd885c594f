#!/usr/bin/env python3
"""Sends messages to an lpcfs port and prints one reply per message.

usage: lpc_client.py [--call] PORT_PATH MESSAGE...

Opening the port is the connection request: it succeeds once the server
accepts, or fails with the errno the server rejected it with (default
ECONNREFUSED). Each write() is one message (1 byte up to the port's largest,
64 KiB unless its server allows more; EMSGSIZE above);
each read() returns at most one message. Exits 1 with the error text when
the connection or a message fails.

With --call, each message is a call instead: one ioctl(LPC_IOC_CALL) sends
it and waits for the server's LPC_REC_REPLY to that very message (see
call() below and "ioctls" in include/lpc.h). Only a server that answers
with LPC_REC_REPLY, like lpc_server.py, answers calls; the reply line
also names the server process that wrote it.
"""

import errno
import fcntl
import os
import struct
import sys

MAX_MESSAGE = 65536  # LPC_DEFAULT_MAX_MESSAGE in include/lpc.h

# struct lpc_record and struct lpc_transfer from include/lpc.h: native
# (little-endian) order, no padding.
RECORD = struct.Struct("<IIQQIIIIiI")  # type, length, conn_id, msg_id, pid,
                                       # uid, gid, flags, status, reserved
TRANSFER = struct.Struct("<IIIIIiIIQQ")  # flags, timeout_ms, send_length,
                                         # max_records, sent, send_error,
                                         # received, received_length,
                                         # first_msg_id, reserved
assert RECORD.size == 48 and TRANSFER.size == 48
REC_MESSAGE = 2
REC_REPLY = 19

# _IOC() of <asm-generic/ioctl.h>: direction, size, type and number packed
# into one command. The kernel copies `size` bytes in before the ioctl and
# out after it, so the size is part of the command (lpc.h LPC_IOC_CALL).
_IOC_NRSHIFT, _IOC_TYPESHIFT, _IOC_SIZESHIFT, _IOC_DIRSHIFT = 0, 8, 16, 30
_IOC_WRITE, _IOC_READ = 1, 2
LPC_IOC_MAGIC = 0xB6
LPC_IOCTL_MAX = 16383  # the size field has 14 bits


def _ioc(direction, magic, number, size):
    assert 0 <= size <= LPC_IOCTL_MAX
    return (direction << _IOC_DIRSHIFT | size << _IOC_SIZESHIFT |
            magic << _IOC_TYPESHIFT | number << _IOC_NRSHIFT)


def lpc_ioc_call(size):
    return _ioc(_IOC_READ | _IOC_WRITE, LPC_IOC_MAGIC, 1, size)


# The call buffer: the transfer header, then data[] with the request record
# going in and the reply record coming back. The kernel copies at most
# LPC_IOCTL_MAX bytes each way, and a reply may have at most size - 96
# bytes of payload: larger messages go by write() and read().
CALL_SIZE = LPC_IOCTL_MAX
CALL_MAX_MESSAGE = CALL_SIZE - TRANSFER.size - RECORD.size


def call(fd, message, timeout_ms=0):
    """Sends `message` as one call and returns (reply payload, pid, uid,
    gid of the server's writer). Raises OSError: EPIPE when the server
    side has gone, ETIMEDOUT after timeout_ms (0: no limit), EINTR when a
    signal came (the server is then told with LPC_REC_CANCEL)."""
    buf = bytearray(CALL_SIZE)
    request = RECORD.pack(REC_MESSAGE, len(message), 0, 0, 0, 0, 0, 0, 0, 0)
    TRANSFER.pack_into(buf, 0, 0, timeout_ms, len(request) + len(message),
                       0, 0, 0, 0, 0, 0, 0)
    buf[TRANSFER.size:TRANSFER.size + len(request)] = request
    start = TRANSFER.size + len(request)
    buf[start:start + len(message)] = message
    # A mutable buffer with mutate_flag True: the kernel's copy-out after
    # the ioctl lands in `buf` itself (an immutable bytes would be copied,
    # and the reply lost).
    fcntl.ioctl(fd, lpc_ioc_call(len(buf)), buf, True)
    (_, _, _, _, sent, _, received, received_length, first_msg_id,
     _) = TRANSFER.unpack_from(buf)
    (rec_type, length, _, msg_id, pid, uid, gid, _, _,
     _) = RECORD.unpack_from(buf, TRANSFER.size)
    if (sent, received) != (1, 1) or rec_type != REC_REPLY or \
            msg_id != first_msg_id or RECORD.size + length > received_length:
        raise OSError(errno.EPROTO, "malformed reply from the daemon")
    start = TRANSFER.size + RECORD.size
    return bytes(buf[start:start + length]), pid, uid, gid


def fail(text):
    print("lpc_client.py: %s" % text, file=sys.stderr)
    return 1


def main(argv):
    use_call = len(argv) > 1 and argv[1] == "--call"
    if use_call:
        argv = argv[:1] + argv[2:]
    if len(argv) < 3:
        print("usage: %s [--call] PORT_PATH MESSAGE..." % argv[0],
              file=sys.stderr)
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
            if use_call:
                if len(message) > CALL_MAX_MESSAGE:
                    # The daemon would say so too (EMSGSIZE), but the
                    # request must first fit the call buffer.
                    raise OSError(errno.EMSGSIZE, os.strerror(errno.EMSGSIZE))
                reply, pid, uid, gid = call(fd, message)
                print("%s (from pid %d uid %d gid %d)" % (
                    reply.decode(errors="replace"), pid, uid, gid),
                    flush=True)
                continue
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
