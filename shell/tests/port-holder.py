#!/usr/bin/env python3
"""A port whose server does not accept: for lpc call's failure paths.

  port-holder.py PATH hold            create PATH, never read its records
  port-holder.py PATH reject [ERRNO]  reject every connection request with
                                      ERRNO (a name, default ECONNREFUSED)

Prints "ready" once the port exists.
"""
import errno
import os
import struct
import sys
import time

RECORD = struct.Struct("<IIQQIIIIiI")  # struct lpc_record, lpc.h
LPC_REC_CONNECT = 1
LPC_REC_REJECT = 17

path, action = sys.argv[1], sys.argv[2]
status = getattr(errno, sys.argv[3]) if len(sys.argv) > 3 else errno.ECONNREFUSED
fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
print("ready", flush=True)
if action == "hold":
    while True:
        time.sleep(3600)
while True:
    record = os.read(fd, 8192)
    rtype, _length, conn_id = RECORD.unpack_from(record)[:3]
    if rtype == LPC_REC_CONNECT:
        os.write(fd, RECORD.pack(LPC_REC_REJECT, 0, conn_id, 0, 0, 0, 0, 0,
                                 status, 0))
