#!/usr/bin/env python3
"""A section shared by two Python processes with mmap (lpc.7 "SECTIONS").

    lpc_section.py offer SECTION TEXT   create SECTION, put TEXT in it, wait
                                        for the answer and print it
    lpc_section.py answer SECTION       open SECTION, print the TEXT it holds,
                                        and answer with TEXT in capitals

Both map the same memory: what one stores the other sees at once, with no
read() or write() of the file. The layout is this example's own: a 4-byte
length then the bytes, the offer at offset 0 and the answer at ANSWER_AT. A
length of 0 means "not yet"; it is stored after the bytes it counts.
Standard library only.
"""
import mmap
import os
import struct
import sys
import time

SIZE = 1 << 20  # 1 MiB: ftruncate() sizes it, untouched pages cost nothing
ANSWER_AT = 4096
WAIT_S = 10


def put(mem, at, data):
    mem[at + 4:at + 4 + len(data)] = data
    mem[at:at + 4] = struct.pack("<I", len(data))


def take(mem, at):
    """Waits until a length is stored at `at`, then returns the bytes."""
    deadline = time.monotonic() + WAIT_S
    while True:
        (length,) = struct.unpack_from("<I", mem, at)
        if length:
            return bytes(mem[at + 4:at + 4 + length])
        if time.monotonic() > deadline:
            sys.exit(f"lpc_section.py: nothing at offset {at} within {WAIT_S} s")
        time.sleep(0.01)


def offer(path, text):
    # O_EXCL: a new section, 0600 less the umask; it lives while a handle
    # or a mapping refers to it.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        os.ftruncate(fd, SIZE)
        with mmap.mmap(fd, SIZE, mmap.MAP_SHARED) as mem:
            put(mem, 0, text.encode())
            print(take(mem, ANSWER_AT).decode(), flush=True)
    finally:
        os.close(fd)


def answer(path):
    fd = os.open(path, os.O_RDWR)
    try:
        with mmap.mmap(fd, SIZE, mmap.MAP_SHARED) as mem:
            text = take(mem, 0)
            print(text.decode(), flush=True)
            put(mem, ANSWER_AT, text.upper())
    finally:
        os.close(fd)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "offer":
        offer(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "answer":
        answer(sys.argv[2])
    else:
        sys.exit("usage: lpc_section.py offer SECTION TEXT | "
                 "answer SECTION")


if __name__ == "__main__":
    main()
