#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/corpus/: scripted sessions for
broker_fuzzer and well-formed and malformed records for record_fuzzer.

The broker seeds use the input format described at the top of
fuzz/broker_fuzzer.cc; keep the two in step. Each script names the handles
it expects to get, in the order the fuzzer's model opens them, because the
fuzzer picks handles by their index in that order. Run with
LPC_FUZZ_TRACE=1 build-fuzz/fuzz/broker_fuzzer fuzz/corpus/broker/NAME to
see what a seed does.

Usage: fuzz/make_corpus.py [OUTPUT_DIR]   (default: fuzz/corpus)
"""
import errno
import os
import struct
import sys

# include/lpc.h
REC = struct.Struct("<IIQQIIIIiI")
CONNECT, MESSAGE, DISCONNECT = 1, 2, 3
ACCEPT, REJECT, SEND, REPLY, PORT_OPTIONS = 16, 17, 18, 19, 20

# Opcodes (Session::Step).
OP_CREATE, OP_CONNECT, OP_OPEN_OTHER, OP_READ = 0, 1, 3, 4
OP_WRITE, OP_RECORD, OP_RELEASE, OP_POLL, OP_CANCEL = 6, 7, 9, 10, 11
OP_EXPIRE, OP_NAMES, OP_INFO, OP_READ_RECORD = 12, 13, 14, 15

# Indexes into the fuzzer's tables.
READ_SIZES = [0, 1, 2, 3, 7, 47, 48, 49, 71, 72, 100, 255, 256, 4096, 4200,
              8192]
RECORD_TYPES = [ACCEPT, REJECT, SEND, REPLY, DISCONNECT, PORT_OPTIONS]
REJECT_STATUS = [0, errno.ECONNREFUSED, errno.EACCES, errno.EPERM,
                 errno.EBUSY, errno.EAGAIN, errno.EINVAL, -1]
RDONLY, WRONLY, RDWR = 0, 1, 2


class Script:
    def __init__(self, queue_messages=4, queue_bytes_byte=255, backlog=4,
                 reply_window=4, timeout_index=0):
        self.out = bytearray([
            queue_messages - 1, queue_bytes_byte,
            (backlog - 1) | (reply_window - 1) << 2 | timeout_index << 4])
        self.handles = []  # names, in the order the model opened them
        self.servers = []  # names of the server handles among them

    def emit(self, *values):
        self.out += bytes(values)
        return self

    # --- handle bookkeeping
    def opened(self, name):
        """The handle the last operation gave, as the script expects."""
        self.handles.append(name)
        return self

    def h(self, name):
        return self.handles.index(name)

    def server_index(self, name):
        live = [n for n in self.handles if n in self.servers]
        return live.index(name)

    # --- operations
    def create(self, name_index, server, exclusive=True):
        self.emit(OP_CREATE, name_index, 0o066 if exclusive else 0xE0)
        if exclusive:
            self.servers.append(server)
            self.opened(server)
        return self

    def connect(self, port, mode=RDWR, nonblock=False, interrupted=False,
                caller_gone=False, groups=2, cap=0):
        f = (1 if interrupted else 0) | (6 if caller_gone else 0)
        return self.emit(OP_CONNECT, port, mode | (4 if nonblock else 0), f,
                         groups, cap)

    def open_conn(self, known_index, interrupted=False, caller_gone=False):
        f = (1 if interrupted else 0) | (6 if caller_gone else 0)
        return self.emit(OP_OPEN_OTHER, 0, f, known_index)

    def open_stats(self, writable=False):
        return self.emit(OP_OPEN_OTHER, 5, 0x80 if writable else 0)

    def open_garbage(self, what):
        """what: 6 a directory, 7 no such node."""
        return self.emit(OP_OPEN_OTHER, what, 0)

    def read(self, handle, size=256, nonblock=False, interrupted=False,
             offset=None):
        f = (1 if nonblock else 0) | (6 if interrupted else 0)
        self.emit(OP_READ, self.h(handle), READ_SIZES.index(size))
        if offset is None:
            return self.emit(f)
        if offset == "size":
            return self.emit(f | 0x70)
        return self.emit(f | 0x30, offset - 1)

    def read_record(self, server, nonblock=True, interrupted=False):
        f = (1 if nonblock else 0) | (6 if interrupted else 0)
        return self.emit(OP_READ_RECORD, self.server_index(server), f)

    def write(self, handle, length=5, nonblock=False, interrupted=False,
              sender=0):
        if 1 <= length <= 16:
            b = length - 1
        elif 0x80 <= length < 0xF0:
            b = length
        else:
            b = 0xF0 + [0, 255, 256, 257, 300, 1, 48, 128].index(length)
        f = (1 if nonblock else 0) | (6 if interrupted else 0)
        return self.emit(OP_WRITE, self.h(handle), b, sender, f)

    def record(self, server, rtype, conn=0, msg=0, status_index=0,
               length=5, auto_accept=True, nonblock=True, interrupted=False,
               garbage=None):
        """conn: index among the connections of this port the model has
        seen (in the order their CONNECT records were read), or 0xF0 for an
        id that never existed. msg: index among the ids awaiting a reply,
        or 0xF8.. for a made-up one."""
        self.emit(OP_RECORD, self.server_index(server),
                  RECORD_TYPES.index(rtype))
        if rtype != PORT_OPTIONS:
            self.emit(conn)
        if rtype == REJECT:
            self.emit(status_index)
        elif rtype in (SEND, REPLY):
            if rtype == REPLY:
                self.emit(msg)
            self.emit(length - 1 if 1 <= length <= 16 else
                      0xF0 + [0, 255, 256, 257, 300].index(length))
        elif rtype == PORT_OPTIONS:
            self.emit(1 if auto_accept else 0)
        f = (1 if nonblock else 0) | (6 if interrupted else 0)
        if garbage is None:
            return self.emit(f, 0)
        # garbage: (g, x, at) as the fuzzer reads them.
        self.emit(f | 0xC0, *garbage)
        return self.emit(0)

    def release(self, handle):
        self.emit(OP_RELEASE, self.h(handle))
        self.handles.remove(handle)
        return self

    def poll(self, handle, register=True):
        return self.emit(OP_POLL, self.h(handle), 1 if register else 0)

    def cancel(self, live_index):
        """live_index: among the requests waiting, oldest first."""
        return self.emit(OP_CANCEL, live_index)

    def cancel_idle(self, fresh=False):
        return self.emit(OP_CANCEL, 0xE0 | (1 if fresh else 0))

    def expire(self, quarters):
        """Moves the fake clock on by 250 ms * quarters (1..8)."""
        return self.emit(OP_EXPIRE, quarters - 1)

    def names(self, op, name, other=0, flag=False):
        """op: 0 unlink, 1 rename, 2 mkdir, 3 rmdir, 4 lookup, 5 forget."""
        return self.emit(OP_NAMES, op | (0x80 if flag else 0), name, other)

    def info(self, what):
        """what: 0 stats text, 2 readdir /, 3 readdir .conn, 4 getattr,
        7 AbortWaiters."""
        return self.emit(OP_INFO, what)

    def end(self):
        # The fuzzer's clean-up then takes its bytes from its generator.
        return bytes(self.out)


def accepted_client(s, server, port, client, conn_index=0, **kw):
    s.connect(port, **kw).read_record(server)
    s.record(server, ACCEPT, conn=conn_index).opened(client)
    return s


def broker_seeds():
    seeds = {}

    # Connect, accept, exchange both ways, reply, close from each side.
    s = Script()
    s.create(0, "srv")
    accepted_client(s, "srv", 0, "cli")
    s.write("cli", 5).read_record("srv")
    s.record("srv", REPLY, conn=0, msg=0, length=4)
    s.read("cli", 256)
    s.record("srv", SEND, conn=0, length=16).read("cli", 3).read("cli", 256)
    s.release("cli").read_record("srv").release("srv")
    seeds["exchange"] = s.end()

    # The same with a server that disconnects first.
    s = Script()
    s.create(0, "srv")
    accepted_client(s, "srv", 0, "cli")
    s.write("cli", 7).record("srv", SEND, conn=0, length=9)
    s.record("srv", DISCONNECT, conn=0).read("cli", 256).read("cli", 256)
    s.write("cli", 3).read_record("srv").read_record("srv")
    s.release("cli").release("srv")
    seeds["server-disconnects"] = s.end()

    # Interrupt, then reuse: every kind of waiting request is cancelled and
    # its token taken by a request of another kind (the rework's bug).
    s = Script()
    s.create(0, "srv").record("srv", PORT_OPTIONS, auto_accept=True)
    s.connect(0).opened("cli").read_record("srv")
    s.read_record("srv", nonblock=False).cancel(0)
    s.read("cli").read("cli").connect(0).opened("cli2")
    s.read_record("srv").record("srv", SEND, conn=0, length=3)
    s.read("cli").cancel(0).read_record("srv", nonblock=False)
    s.record("srv", SEND, conn=0, length=4).read("cli").write("cli2", 6)
    s.read_record("srv")
    s.record("srv", PORT_OPTIONS, auto_accept=False)
    s.read("cli").cancel(0).connect(0).write("cli2", 2).read_record("srv")
    s.read_record("srv").record("srv", ACCEPT, conn=2).opened("cli3")
    s.read("cli3").write("cli3", 8).read_record("srv")
    s.release("cli").release("cli2").release("cli3").release("srv")
    seeds["interrupt-reuse"] = s.end()

    # A cancelled .conn/ID read, its token reused by a client read.
    s = Script()
    s.create(1, "srv").record("srv", PORT_OPTIONS)
    s.connect(1).opened("cli").read_record("srv").open_conn(0).opened("file")
    s.read("file").cancel(0).read("cli").write("cli", 10).read("file")
    s.write("file", 12).read("cli", 7).read("cli", 256)
    s.release("file").read_record("srv").read("cli").release("cli")
    seeds["conn-file-cancel"] = s.end()

    # Writers behind a full queue: one message queues, the rest wait in
    # order; one is cancelled, one gets EAGAIN; reads let them in.
    s = Script(queue_messages=1, queue_bytes_byte=0)
    s.create(0, "srv")
    accepted_client(s, "srv", 0, "cli")
    s.write("cli", 200).write("cli", 128).write("cli", 16)
    s.write("cli", 16, nonblock=True).cancel(0)
    s.read_record("srv").read_record("srv").read_record("srv")
    s.record("srv", SEND, conn=0, length=255).record("srv", SEND, conn=0,
                                                      length=16)
    s.record("srv", SEND, conn=0, length=16, nonblock=False).cancel(0)
    s.read("cli", 255).read("cli", 256).release("cli").release("srv")
    seeds["full-queue-writers"] = s.end()

    # Parked writers woken by a reader, then failed EPIPE by a close.
    s = Script(queue_messages=2, queue_bytes_byte=0)
    s.create(0, "srv")
    accepted_client(s, "srv", 0, "cli")
    for n in (128, 128, 128, 1):
        s.write("cli", n)
    s.read_record("srv").release("srv").release("cli")
    seeds["writers-epipe"] = s.end()

    # Split reads: a small buffer, then the later parts of one read(2).
    s = Script()
    s.create(2, "srv").record("srv", PORT_OPTIONS)
    s.connect(2).opened("cli").read_record("srv")
    s.record("srv", SEND, conn=0, length=255).record("srv", SEND, conn=0,
                                                      length=16)
    s.read("cli", 100).read("cli", 100, offset="size").read("cli", 100,
                                                              offset=200)
    s.read("cli", 0).read("cli", 256).read("cli", 7, offset=7)
    s.release("cli").release("srv")
    seeds["split-reads"] = s.end()

    # Withdrawn requests: a signal before the server read the CONNECT (no
    # trace), after it (DISCONNECT withdrawn), and before the broker parked
    # the open (EINTR at once).
    s = Script()
    s.create(0, "srv").connect(0).cancel(0)
    s.connect(0).read_record("srv").cancel(0).read_record("srv")
    s.record("srv", ACCEPT, conn=0).connect(0, interrupted=True)
    s.read_record("srv").release("srv")
    seeds["withdraw"] = s.end()

    # connect_timeout: the fake clock passes it.
    s = Script(timeout_index=1)
    s.create(0, "srv").connect(0).read_record("srv").connect(0)
    s.expire(2).expire(4).read_record("srv").read_record("srv")
    s.record("srv", ACCEPT, conn=0).release("srv")
    seeds["timeout"] = s.end()

    # Rejects with every status, a backlog of one, auto-accept of pending.
    s = Script(backlog=2)
    s.create(0, "srv")
    for status in range(6):
        s.connect(0).read_record("srv")
        s.record("srv", REJECT, conn=status, status_index=status)
    s.connect(0).connect(0).connect(0).read_record("srv")
    s.record("srv", REJECT, conn=6, status_index=6)
    s.record("srv", PORT_OPTIONS).opened("c1").opened("c2")
    s.record("srv", ACCEPT, conn=6).release("c1").release("c2")
    s.release("srv")
    seeds["reject-backlog"] = s.end()

    # A port closes with pending requests and connected clients.
    s = Script()
    s.create(0, "srv").create(1, "srv2")
    accepted_client(s, "srv", 0, "cli")
    s.connect(0).connect(1).write("cli", 9).record("srv", SEND, conn=0)
    s.read("cli").read("cli").release("srv").read("cli").write("cli", 3)
    s.read_record("srv2").release("cli").release("srv2")
    seeds["port-close"] = s.end()

    # Poll handles: registered, replaced, notified, dropped.
    s = Script(queue_messages=1)
    s.create(0, "srv").poll("srv")
    accepted_client(s, "srv", 0, "cli")
    s.poll("cli").poll("cli").poll("srv", register=False)
    s.write("cli", 200).poll("cli").write("cli", 200).read_record("srv")
    s.poll("srv").record("srv", SEND, conn=0).poll("cli")
    s.record("srv", DISCONNECT, conn=0).poll("cli").release("cli")
    s.release("srv")
    seeds["poll"] = s.end()

    # Opens whose caller went before it saw the handle.
    s = Script()
    s.create(0, "srv").record("srv", PORT_OPTIONS)
    s.connect(0, caller_gone=True).connect(0).opened("cli").read_record("srv")
    s.read_record("srv").read_record("srv").open_conn(1, caller_gone=True)
    s.read_record("srv").write("cli", 5).release("cli").release("srv")
    seeds["caller-gone"] = s.end()

    # The daemon stops with requests waiting, then the files close.
    s = Script(queue_messages=1)
    s.create(0, "srv")
    accepted_client(s, "srv", 0, "cli")
    s.connect(0).read("cli").write("cli", 9).write("cli", 9)
    s.read_record("srv", nonblock=False).read_record("srv", nonblock=False)
    s.info(7).read("cli", nonblock=True).release("cli").release("srv")
    seeds["abort"] = s.end()

    # A caller with more groups than a CONNECT record reports.
    s = Script()
    s.create(0, "srv").connect(0, groups=0xF1, cap=0xFF)
    s.read("srv", 4096, nonblock=True)  # too small for this CONNECT
    s.read("srv", 4200, nonblock=True)
    s.read_record("srv").release("srv")
    seeds["many-groups"] = s.end()

    # Names: unlink, rename, folders, forget, stats, stale handles.
    s = Script()
    s.create(0, "srv").names(0, 0).create(0, "srv2").names(1, 0, 2)
    s.names(1, 2, 3, flag=True).names(2, 1).names(3, 1).names(4, 3)
    s.names(5, 0).create(0, "no", exclusive=False).info(0).info(2)
    s.info(3).info(4).open_stats().opened("st").read("st", 100)
    s.read("st", 100, offset=100).write("st", 3).open_stats(writable=True)
    s.open_garbage(6).open_garbage(7).release("st")
    s.emit(OP_READ, 0xF9, 3, 0).emit(OP_WRITE, 0xFB, 3, 0, 0)
    s.cancel_idle().cancel_idle(fresh=True)
    s.release("srv").connect(0).release("srv2")
    seeds["names"] = s.end()

    # Malformed and misdirected records on a live connection.
    s = Script()
    s.create(0, "srv").create(1, "srv2")
    accepted_client(s, "srv", 0, "cli")
    s.connect(1).read_record("srv2")
    s.record("srv", SEND, conn=0, length=0).record("srv", SEND, conn=0,
                                                    length=257)
    s.record("srv", SEND, conn=0xF0).record("srv", ACCEPT, conn=0)
    s.record("srv", REJECT, conn=0, status_index=7)
    s.record("srv", REPLY, conn=0, msg=0xF8)
    s.record("srv2", SEND, conn=0xE0)  # the other port's connection
    s.record("srv", SEND, conn=0, garbage=(0, 1))
    s.record("srv", SEND, conn=0, garbage=(1, 1))
    s.record("srv", SEND, conn=0, garbage=(2, 1, 24))
    s.release("cli").release("srv").release("srv2")
    seeds["bad-records"] = s.end()
    return seeds


def command(rtype, conn=0, msg=0, flags=0, status=0, payload=b"", pid=0,
            reserved=0):
    return REC.pack(rtype, len(payload), conn, msg, pid, 0, 0, flags, status,
                    reserved) + payload


def record_seeds():
    seeds = {
        "accept": command(ACCEPT, 5),
        "disconnect": command(DISCONNECT, 5),
        "send": command(SEND, 7, payload=b"hello"),
        "send-max": command(SEND, 7, payload=b"x" * 256),
        "reply": command(REPLY, 7, 3, payload=b"pong"),
        "options-on": command(PORT_OPTIONS, flags=1),
        "options-off": command(PORT_OPTIONS),
        # Malformed.
        "short": command(ACCEPT, 5)[:47],
        "long": command(ACCEPT, 5) + b"\0",
        "send-empty": command(SEND, 7),
        "send-too-long": command(SEND, 7, payload=b"y" * 257),
        "reply-no-msg": command(REPLY, 7, payload=b"a"),
        "connect-type": command(CONNECT, 5),
        "message-type": command(MESSAGE, 5, 1, payload=b"m"),
        "pid-set": command(ACCEPT, 5, pid=42),
        "reserved-set": command(ACCEPT, 5, reserved=1),
        "options-conn": command(PORT_OPTIONS, 5, flags=1),
        "options-bits": command(PORT_OPTIONS, flags=3),
        "accept-no-conn": command(ACCEPT),
    }
    for status in REJECT_STATUS:
        seeds["reject-%d" % status] = command(REJECT, 9, status=status)
    # Two header bytes: max_message LPC_MAX_MESSAGE, and a connection state
    # (exists, open, reply awaited) for CheckDecision.
    return {name: bytes([0, 0x80 | 2 << 1 | 1]) + data
            for name, data in seeds.items()}


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    for sub, seeds in (("broker", broker_seeds()), ("record", record_seeds())):
        d = os.path.join(root, sub)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
