#!/bin/sh
# The echo server, in one line of shell: `lpc serve` runs a `cat` for every
# connection, so each message comes back, as a line, to the client that
# sent it. Any filter works in cat's place as long as it writes each line at
# once (for example `stdbuf -oL tr a-z A-Z`, `sed -u 's/^/you said: /'`),
# and $LPC_CLIENT_UID, $LPC_CLIENT_PID tell it who is calling.
#
#   echo-server.sh [PORT]   PORT defaults to "echo", under $LPC_MOUNT or /lpc
#
# Runs `lpc` from $PATH, or $LPC if set. Ctrl-C (or SIGTERM) stops it and
# removes the port.
exec "${LPC:-lpc}" serve "${1:-echo}" -- cat
