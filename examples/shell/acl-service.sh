#!/bin/sh
# A service only the users and groups you name may call, secured the way
# any Linux file is (lpc.7 "ACCESS CONTROL"):
#
#   - its port lives in a folder only root may write, so no other user can
#     take the name first or put a port of their own in its place (as
#     /run protects the sockets of system services);
#   - the port's mode is 0600, so by its mode bits only root may connect;
#   - each user or group let in gets an ACL entry (setfacl -m u:NAME:rw),
#     and the kernel checks it at every connect.
#
#   acl-service.sh FOLDER/PORT ENTRY...
#   e.g. acl-service.sh services/greet u:alice g:ops   (run as root)
#
# ENTRY is a setfacl entry without the permissions: u:USER or g:GROUP; each
# gets rw, which connecting with O_RDWR needs. The server greets each
# caller by uid, from what the daemon says about the connection (not from
# anything the client wrote). Runs `lpc` from $PATH, or $LPC if set, on
# $LPC_MOUNT or /lpc. Ctrl-C or SIGTERM stops it and removes the port.
set -eu
lpc=${LPC:-lpc}
mnt=${LPC_MOUNT:-/lpc}
port=${1:?usage: acl-service.sh FOLDER/PORT ENTRY...}
shift
folder=$mnt/$(dirname "$port")

mkdir -p "$folder"
chown root:root "$folder"
chmod 0755 "$folder"

"$lpc" serve --mode 0600 "$port" -- \
  sh -c 'while read -r line; do echo "hello uid $LPC_CLIENT_UID: $line"; done' &
server=$!
trap 'kill -TERM $server; wait $server; exit $?' INT TERM
# The port is 0600 until the entries are set: a client that comes earlier
# is refused (EACCES), never let in by accident.
while [ ! -e "$mnt/$port" ]; do
  kill -0 "$server" 2>/dev/null || exit 1
  sleep 0.05
done
for entry in "$@"; do
  setfacl -m "$entry:rw" "$mnt/$port"
done
getfacl --omit-header --absolute-names "$mnt/$port"
wait "$server"
