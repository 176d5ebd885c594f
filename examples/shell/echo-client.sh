#!/bin/bash
# A client of echo-server.sh in plain bash: no lpc binary, only redirection,
# echo, read and cat. A port is a file: opening it connects, each write() is
# one message, and read() returns bytes of one message at a time.
#
#   echo-client.sh [PORT_PATH]   default: $LPC_MOUNT/echo, or /lpc/echo
port=${1:-${LPC_MOUNT:-/lpc}/echo}

# Connect. Descriptor 3 is our end of the connection until we close it.
exec 3<>"$port" || exit 1

# One echo is one write, so one message. The server's cat answers with a line.
echo "hello" >&3
read -r reply <&3
echo "reply: $reply"

# Several messages, then all the replies.
for word in one two three; do
  echo "$word" >&3
done
for _ in 1 2 3; do
  read -r reply <&3
  echo "reply: $reply"
done

# cat writes its input in one write: here one message of two lines. The
# server sends each line back as a message of its own.
cat >&3 <<'TEXT'
first line
second line
TEXT
read -r first <&3
read -r second <&3
echo "reply: $first / $second"

# Closing the descriptor ends the connection (the server's cat gets EOF).
exec 3>&-

# One-shot: `>` connects, writes one message and closes. The server gets the
# message; its answer is dropped since nobody is left to read it.
echo "fire and forget" >"$port" && echo "one-shot message sent"
