#!/usr/bin/env node
// Sends messages to an lpcfs port and prints one reply per message.
//
//   lpc_client.js PORT_PATH MESSAGE...
//
// Node.js built-ins only (fs). Opening the port is the connection request:
// it succeeds once the server accepts, or fails with the errno the server
// rejected it with (ECONNREFUSED by default). Each write() is one message
// (1 byte up to the port's largest, 64 KiB unless its server allows more;
// EMSGSIZE above); each read() returns at most one message.
// Exits 1 with the error text when the connection or a message fails.
//
// A client does one thing at a time, so it uses the *Sync calls: they run
// on the main thread and never touch libuv's thread pool (README.md says
// why that matters for the asynchronous ones).
'use strict';
const fs = require('fs');
const os = require('os');

const MAX_MESSAGE = 65536;  // LPC_DEFAULT_MAX_MESSAGE in include/lpc.h

function errorText(err) {
  // err.message is "ECONNREFUSED: connection refused, open '/lpc/x'"; the
  // other examples print strerror(3), as here.
  const text = {
    ENOENT: 'No such file or directory',
    ECONNREFUSED: 'Connection refused',
    EMSGSIZE: 'Message too long',
    EPIPE: 'Broken pipe',
    EACCES: 'Permission denied',
    ETIMEDOUT: 'Connection timed out',
  }[err.code];
  return text || err.code || String(err);
}

function main(argv) {
  if (argv.length < 2) {
    process.stderr.write('usage: lpc_client.js PORT_PATH MESSAGE...\n');
    return 2;
  }
  const path = argv[0];
  const messages = argv.slice(1).map((m) => Buffer.from(m));
  if (messages.some((m) => m.length === 0)) {
    // write() of 0 bytes sends nothing, so no reply would ever come.
    process.stderr.write('lpc_client.js: empty messages cannot be sent\n');
    return 1;
  }
  let fd;
  try {
    fd = fs.openSync(path, fs.constants.O_RDWR);
  } catch (err) {
    process.stderr.write(`lpc_client.js: ${path}: ${errorText(err)}\n`);
    return 1;
  }
  const reply = Buffer.alloc(MAX_MESSAGE);
  try {
    for (const message of messages) {
      fs.writeSync(fd, message, 0, message.length, null);
      // position null: read(2). A number would make it pread(2), which a
      // port refuses with ESPIPE.
      const n = fs.readSync(fd, reply, 0, reply.length, null);
      if (n === 0) {
        process.stderr.write(
            `lpc_client.js: ${path}: server closed the connection\n`);
        return 1;
      }
      process.stdout.write(reply.toString('utf8', 0, n) + os.EOL);
    }
  } catch (err) {
    process.stderr.write(`lpc_client.js: ${path}: ${errorText(err)}\n`);
    return 1;
  } finally {
    fs.closeSync(fd);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
