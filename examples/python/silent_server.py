#!/usr/bin/env python3
"""Test helper: a server that reads the records of its port and answers
none of them, printing "record TYPE flags=FLAGS" for each, until it is
killed. test-recipes.sh uses it to see the daemon withdraw a connection
request whose open() a timer interrupted.

usage: silent_server.py PORT_PATH
"""
import os
import struct
import sys

RECORD = struct.Struct("<IIQQIIIIiI")  # struct lpc_record, include/lpc.h

fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
print("listening", flush=True)
while True:
    record = os.read(fd, 48 + 80 + 65536)  # LPC_RECORD_MAX
    rec_type, _, _, _, _, _, _, flags, _, _ = RECORD.unpack_from(record)
    print("record %d flags=%d" % (rec_type, flags), flush=True)
