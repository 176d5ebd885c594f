#!/usr/bin/env node
// An lpcfs port server that answers every message with its upper case.
//
//   lpc_server.js [MOUNT_DIR [PORT_NAME]]
//
// Node.js built-ins only (fs). Creates the port MOUNT_DIR/PORT_NAME
// (MOUNT_DIR defaults to $LPC_MOUNT or /lpc, PORT_NAME to "upper") with
// O_CREAT|O_EXCL|O_RDWR, mode 0666 less the umask: that open is the server
// handle. It then reads records from it until SIGTERM or SIGINT:
//
//   - every LPC_REC_CONNECT is shown and accepted (LPC_REC_ACCEPT);
//   - every LPC_REC_MESSAGE gets an LPC_REC_REPLY with the upper case;
//   - every LPC_REC_DISCONNECT is shown with its reason;
//   - other record types (LPC_REC_CANCEL) are skipped, as lpc.7 NOTES asks.
//
// The records are struct lpc_record of include/lpc.h: 48 bytes,
// little-endian, no padding, then `length` payload bytes. conn_id and
// msg_id are 64-bit: they are BigInts here (readBigUInt64LE), since a
// Number loses precision above 2^53.
//
// The traps of blocking files in Node (README.md): one fs.read() is always
// pending on the server handle and holds one thread of libuv's pool until
// a record comes; and process.exit() would wait for that read. So a signal
// only sets `stopping` and wakes the read by connecting to the port itself;
// the record that comes back ends the loop, and the handle is closed.
'use strict';
const fs = require('fs');
const path = require('path');

const RECORD_SIZE = 48;    // sizeof(struct lpc_record)
const RECORD_MAX = 48 + 80 + 65536;  // LPC_RECORD_MAX: one read holds any
                                    // record of a default port
const MAX_MESSAGE = 65536;  // LPC_DEFAULT_MAX_MESSAGE

// enum lpc_record_type
const REC_CONNECT = 1;
const REC_MESSAGE = 2;
const REC_DISCONNECT = 3;
const REC_ACCEPT = 16;
const REC_REPLY = 19;

const CONNECT_ACCEPTED = 0x4;  // auto-accepted port: no answer needed
const MESSAGE_CALL = 0x4;      // the client waits in LPC_IOC_CALL
const DISCONNECT_REASONS = [
  [0x1, 'client closed'], [0x2, 'server closed'], [0x4, 'withdrawn']];

function log(text) {
  process.stdout.write(text + '\n');
}

function parseRecord(buf, n) {
  if (n < RECORD_SIZE) throw new Error(`short record (${n} bytes)`);
  const length = buf.readUInt32LE(4);
  return {
    type: buf.readUInt32LE(0),
    conn: buf.readBigUInt64LE(8),
    msg: buf.readBigUInt64LE(16),
    pid: buf.readUInt32LE(24),
    uid: buf.readUInt32LE(28),
    gid: buf.readUInt32LE(32),
    flags: buf.readUInt32LE(36),
    payload: Buffer.from(buf.subarray(RECORD_SIZE, RECORD_SIZE + length)),
  };
}

function makeRecord(type, conn, msg = 0n, payload = Buffer.alloc(0)) {
  const rec = Buffer.alloc(RECORD_SIZE + payload.length);  // zero-filled
  rec.writeUInt32LE(type, 0);
  rec.writeUInt32LE(payload.length, 4);
  rec.writeBigUInt64LE(conn, 8);
  rec.writeBigUInt64LE(msg, 16);
  payload.copy(rec, RECORD_SIZE);
  return rec;
}

class Server {
  constructor(portPath, fd) {
    this.path = portPath;
    this.fd = fd;
    this.buf = Buffer.alloc(RECORD_MAX);
    this.stopping = null;  // the signal's name once asked to stop
  }

  // One write(2) is one record. writeSync runs on the main thread while the
  // pending read holds a pool thread: lpc.7 THREADS lets a write pass a
  // blocked read on the same descriptor.
  write(record, what) {
    try {
      fs.writeSync(this.fd, record, 0, record.length, null);
    } catch (err) {
      // ENOTCONN: the client gave up before the accept; EPIPE: it closed
      // before its reply (its DISCONNECT record follows).
      log(`${what} failed: ${err.code}`);
    }
  }

  handle(rec) {
    if (rec.type === REC_CONNECT) {
      log(`connect conn=${rec.conn} pid=${rec.pid} uid=${rec.uid} ` +
          `gid=${rec.gid}`);
      if (rec.flags & CONNECT_ACCEPTED) return;
      this.write(makeRecord(REC_ACCEPT, rec.conn), `accept conn=${rec.conn}`);
      log(`accepted conn=${rec.conn}`);
    } else if (rec.type === REC_MESSAGE) {
      const text = rec.payload.toString('latin1');
      // ASCII letters only, as Python's bytes.upper(): a byte stays a byte.
      const upper = text.replace(/[a-z]+/g, (s) => s.toUpperCase());
      const reply = Buffer.from(upper, 'latin1').subarray(0, MAX_MESSAGE);
      const call = rec.flags & MESSAGE_CALL ? ' (call)' : '';
      log(`message conn=${rec.conn} msg=${rec.msg} ${JSON.stringify(text)}` +
          ` -> ${JSON.stringify(reply.toString('latin1'))}${call}`);
      this.write(makeRecord(REC_REPLY, rec.conn, rec.msg, reply),
                 `reply to conn=${rec.conn} msg=${rec.msg}`);
    } else if (rec.type === REC_DISCONNECT) {
      const reasons = DISCONNECT_REASONS.filter(([bit]) => rec.flags & bit)
                          .map(([, text]) => text);
      log(`disconnect conn=${rec.conn} (${reasons.join(', ')})`);
    }
  }

  // Keeps exactly one read pending. position null: read(2); a number would
  // make libuv call pread(2), which a port fails with ESPIPE.
  readNext() {
    fs.read(this.fd, this.buf, 0, this.buf.length, null, (err, n) => {
      if (err) {
        process.stderr.write(`lpc_server.js: ${this.path}: ${err.code}\n`);
        this.close(1);
        return;
      }
      if (!this.stopping) this.handle(parseRecord(this.buf, n));
      if (this.stopping) {
        log(`stopping on ${this.stopping}`);
        this.close(0);
        return;
      }
      this.readNext();
    });
  }

  // No read is pending here, so closing the handle really releases it
  // (the port goes, every connection ends) and Node can exit.
  close(status) {
    fs.closeSync(this.fd);
    process.exitCode = status;
  }

  stop(signal) {
    if (this.stopping) return;
    this.stopping = signal;
    // Wake the pending read: our own connection request is a record. Its
    // open() then fails (the port goes away unanswered); that is expected.
    fs.open(this.path, fs.constants.O_RDWR, (err, fd) => {
      if (!err) fs.closeSync(fd);
    });
  }
}

function main(argv) {
  if (argv.length > 2 || argv.some((a) => a.startsWith('-'))) {
    process.stderr.write('usage: lpc_server.js [MOUNT_DIR [PORT_NAME]]\n');
    process.exitCode = 2;
    return;
  }
  const mount = argv[0] || process.env.LPC_MOUNT || '/lpc';
  const portPath = path.join(mount, argv[1] || 'upper');
  let fd;
  try {
    const {O_CREAT, O_EXCL, O_RDWR} = fs.constants;
    fd = fs.openSync(portPath, O_CREAT | O_EXCL | O_RDWR, 0o666);
  } catch (err) {
    process.stderr.write(`lpc_server.js: ${portPath}: ${err.code}\n`);
    process.exitCode = 1;
    return;
  }
  log(`listening on ${portPath}`);
  const server = new Server(portPath, fd);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => server.stop(signal));
  }
  server.readNext();
}

main(process.argv.slice(2));
