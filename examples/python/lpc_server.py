#!/usr/bin/env python3
"""An lpcfs port server that answers every message with its upper case.

usage: lpc_server.py [--allow-uid UID]... [MOUNT_DIR [PORT_NAME]]

Creates the port MOUNT_DIR/PORT_NAME (MOUNT_DIR defaults to $LPC_MOUNT or
/lpc, PORT_NAME to "upper") with mode 0666 (less the umask) and serves it
until SIGTERM or SIGINT:

  - every connection request is shown (pid, uid, gid, groups of the client)
    and accepted explicitly, or rejected with ECONNREFUSED when --allow-uid
    is given and the client's uid is not listed;
  - every message gets an LPC_REC_REPLY carrying the message in upper case
    (which also answers a client waiting in ioctl(LPC_IOC_CALL), shown as
    "(call)"; lpc_client.py --call is such a client);
  - every ended connection is shown with the reason.

Closing the server handle removes the port and ends every connection.

Replies are written with a blocking write(): a client that never reads its
replies fills its queue and then stalls this server until it reads.
examples/cpp/epoll_server.cc shows a non-blocking server that does not stall.
"""

import errno
import os
import select
import signal
import struct
import sys

# struct lpc_record from include/lpc.h: type, length, conn_id, msg_id, pid,
# uid, gid, flags, status, reserved; 48 bytes, native (little-endian) order,
# no padding. Every record read or written starts with it, then `length`
# payload bytes.
RECORD = struct.Struct("<IIQQIIIIiI")
assert RECORD.size == 48

# struct lpc_connect_info (payload of LPC_REC_CONNECT): cap_effective,
# cap_permitted, ngroups, reserved; followed by uint32 groups[ngroups], then
# (protocol version 2) by struct lpc_connect_process: start_time (field 22
# of /proc/PID/stat), pid, reserved.
CONNECT_INFO = struct.Struct("<QQII")
assert CONNECT_INFO.size == 24
CONNECT_PROCESS = struct.Struct("<QII")
assert CONNECT_PROCESS.size == 16

# enum lpc_record_type
REC_CONNECT = 1
REC_MESSAGE = 2
REC_DISCONNECT = 3
REC_CANCEL = 4
REC_ACCEPT = 16
REC_REJECT = 17
REC_REPLY = 19

CONNECT_READ = 0x1
CONNECT_WRITE = 0x2
CONNECT_ACCEPTED = 0x4
CONNECT_GROUPS_TRUNCATED = 0x8

# flags of a MESSAGE record: how its writer differs from the client at
# connect, and whether the client waits in a call (LPC_MESSAGE_CALL) for
# the reply.
MESSAGE_FLAGS = {
    0x1: "identity changed",
    0x2: "process changed",
    0x4: "call",
}

# flags of a CANCEL record: why a call stopped waiting for its reply.
CANCEL_REASONS = {
    0x1: "interrupted",
    0x2: "timed out",
}

DISCONNECT_REASONS = {
    0x1: "client closed",
    0x2: "server closed",
    0x4: "withdrawn",
}

RECORD_MAX = 48 + 80 + 65536  # LPC_RECORD_MAX: holds any record of a port
                              # with the default largest message
MAX_MESSAGE = 65536  # LPC_DEFAULT_MAX_MESSAGE


def log(text):
    print(text, flush=True)


def write_record(fd, rec_type, conn_id, msg_id=0, status=0, payload=b""):
    header = RECORD.pack(rec_type, len(payload), conn_id, msg_id,
                         0, 0, 0, 0, status, 0)
    os.write(fd, header + payload)


def describe_client(conn_id, pid, uid, gid, flags, payload):
    _, _, ngroups, _ = CONNECT_INFO.unpack_from(payload)
    groups = struct.unpack_from("<%dI" % ngroups, payload, CONNECT_INFO.size)
    start_time, process_pid, _ = CONNECT_PROCESS.unpack_from(
        payload, CONNECT_INFO.size + 4 * ngroups)
    assert process_pid == pid, "the process is the record's"
    mode = ("r" if flags & CONNECT_READ else "") + \
           ("w" if flags & CONNECT_WRITE else "")
    text = "connect conn=%d pid=%d uid=%d gid=%d groups=%s mode=%s " \
        "start_time=%d" % (conn_id, pid, uid, gid,
                           ",".join(str(g) for g in groups), mode, start_time)
    if flags & CONNECT_GROUPS_TRUNCATED:
        text += " (groups truncated)"
    return text


class Server:
    def __init__(self, fd, allowed_uids):
        self.fd = fd
        self.allowed_uids = allowed_uids  # None: everyone

    def handle(self, record):
        (rec_type, length, conn_id, msg_id, pid, uid, gid, flags, _, _) = \
            RECORD.unpack_from(record)
        payload = record[RECORD.size:RECORD.size + length]
        if rec_type == REC_CONNECT:
            self.on_connect(conn_id, pid, uid, gid, flags, payload)
        elif rec_type == REC_MESSAGE:
            self.on_message(conn_id, msg_id, flags, payload)
        elif rec_type == REC_DISCONNECT:
            reasons = [text for bit, text in DISCONNECT_REASONS.items()
                       if flags & bit]
            log("disconnect conn=%d (%s)" % (conn_id, ", ".join(reasons)))
        elif rec_type == REC_CANCEL:
            # The reply is no longer awaited; if written, it is dropped.
            reasons = [text for bit, text in CANCEL_REASONS.items()
                       if flags & bit]
            log("cancel conn=%d msg=%d (%s)" % (conn_id, msg_id,
                                               ", ".join(reasons)))
        else:
            log("ignoring record type %d" % rec_type)

    def on_connect(self, conn_id, pid, uid, gid, flags, payload):
        log(describe_client(conn_id, pid, uid, gid, flags, payload))
        if flags & CONNECT_ACCEPTED:
            return  # auto-accepted port: nothing to answer
        try:
            if self.allowed_uids is None or uid in self.allowed_uids:
                write_record(self.fd, REC_ACCEPT, conn_id)
                log("accepted conn=%d" % conn_id)
            else:
                write_record(self.fd, REC_REJECT, conn_id,
                             status=errno.ECONNREFUSED)
                log("rejected conn=%d (uid %d not allowed)" % (conn_id, uid))
        except OSError as e:
            # ENOTCONN: the client gave up (signal, timeout) meanwhile.
            log("answer to conn=%d failed: %s" % (conn_id, e.strerror))

    def on_message(self, conn_id, msg_id, flags, payload):
        reply = payload.upper()[:MAX_MESSAGE]
        changes = [name for bit, name in MESSAGE_FLAGS.items()
                   if flags & bit]
        log("message conn=%d msg=%d %r -> %r%s" % (
            conn_id, msg_id, payload, reply,
            " (%s)" % ", ".join(changes) if changes else ""))
        try:
            write_record(self.fd, REC_REPLY, conn_id, msg_id, payload=reply)
        except OSError as e:
            # EPIPE: the client closed before its reply; its DISCONNECT
            # record follows.
            log("reply to conn=%d msg=%d failed: %s" % (conn_id, msg_id,
                                                        e.strerror))


def parse_args(argv):
    allowed_uids = None
    rest = []
    args = iter(argv)
    for arg in args:
        if arg == "--allow-uid":
            uid = next(args, None)
            if uid is None or not uid.isdigit():
                return None
            allowed_uids = (allowed_uids or set()) | {int(uid)}
        elif arg.startswith("-"):
            return None
        else:
            rest.append(arg)
    if len(rest) > 2:
        return None
    mount = rest[0] if rest else os.environ.get("LPC_MOUNT", "/lpc")
    name = rest[1] if len(rest) > 1 else "upper"
    return os.path.join(mount, name), allowed_uids


def main(argv):
    parsed = parse_args(argv[1:])
    if parsed is None:
        print("usage: %s [--allow-uid UID]... [MOUNT_DIR [PORT_NAME]]"
              % argv[0], file=sys.stderr)
        return 2
    path, allowed_uids = parsed

    # The signal handlers only make the interpreter write the signal number
    # to wake_w (set_wakeup_fd), which wakes poll() below.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: None)

    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
    except OSError as e:
        print("lpc_server.py: %s: %s" % (path, e.strerror), file=sys.stderr)
        return 1
    log("listening on %s" % path)

    server = Server(fd, allowed_uids)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    try:
        while True:
            ready = dict(poller.poll())
            if wake_r in ready:
                signum = os.read(wake_r, 1)[0]
                log("stopping on %s" % signal.Signals(signum).name)
                break
            if ready.get(fd, 0) & select.POLLIN:
                server.handle(os.read(fd, RECORD_MAX))
            elif fd in ready:
                print("lpc_server.py: server handle failed (poll events %#x)"
                      % ready[fd], file=sys.stderr)
                return 1
    except OSError as e:
        print("lpc_server.py: %s: %s" % (path, e.strerror), file=sys.stderr)
        return 1
    finally:
        os.close(fd)  # removes the port; every connection ends
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
