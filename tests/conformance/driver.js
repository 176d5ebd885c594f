#!/usr/bin/env node
// Conformance driver in Node.js: runs scenarios.tsv against MOUNT.
//
//   driver.js SCENARIOS MOUNT
//
// Prints "NAME<TAB>RESULTS" per scenario (scenarios.tsv says how). Node has
// no poll(2) for files: fs offers none, and net.Socket refuses a port's
// descriptor (ERR_INVALID_FD_TYPE, "Unsupported fd type: FILE"), so
// scenarios with a poll step are skipped.
'use strict';
const fs = require('fs');
const path = require('path');

function run(steps, mount) {
  if (steps.some((s) => s.startsWith('poll '))) {
    return 'skip: Node.js cannot poll(2) a regular file';
  }
  const results = [];
  let fd = null;
  try {
    for (const step of steps) {
      const space = step.indexOf(' ');
      const op = step.slice(0, space);
      const arg = step.slice(space + 1);
      if (op === 'connect') {
        try {
          fd = fs.openSync(path.join(mount, arg), fs.constants.O_RDWR);
        } catch (err) {
          results.push(err.code);
          break;
        }
        results.push('ok');
      } else if (op === 'write') {
        const data = Buffer.from(arg.replaceAll('\\n', '\n'));
        fs.writeSync(fd, data, 0, data.length, null);  // null: write(2)
        results.push('ok');
      } else if (op === 'read') {
        const buf = Buffer.alloc(Number(arg));
        const n = fs.readSync(fd, buf, 0, buf.length, null);  // null: read(2)
        results.push(n === 0 ? 'eof' :
                               buf.toString('utf8', 0, n).replaceAll('\n', '\\n'));
      } else {
        throw new Error(`unknown step ${step}`);
      }
    }
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  return results.join(' ');
}

const [table, mount] = process.argv.slice(2);
for (const line of fs.readFileSync(table, 'utf8').split('\n')) {
  if (line.trim() === '' || line.startsWith('#')) continue;
  const [name, steps] = line.split('\t');
  process.stdout.write(`${name}\t${run(steps.split('; '), mount)}\n`);
}
