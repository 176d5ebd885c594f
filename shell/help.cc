#include "help.h"

#include <cstdio>

namespace lpc::shell {

namespace {

constexpr std::string_view kTopUsage =
    "usage: lpc COMMAND [OPTION...] [ARG...]";

constexpr std::string_view kTopHelp =
    R"TXT(usage: lpc COMMAND [OPTION...] [ARG...]

Uses lpcfs ports (Windows-style LPC for Linux, offered as files) from the
shell.

Commands:
  serve   create a port and run a command for every connection to it
  call    connect to a port, send messages and print the replies
  wait    wait until a port exists and is served (after lpc serve ... &)
  ls      list the ports of an lpcfs mount
  stat    show a port's owner, mode, counters and connections
  top     show the ports' traffic, refreshed every few seconds
  monitor print the ports' events as they happen (connects, messages...)
  help    show the help of a command (same as lpc COMMAND --help)

Options of every command:
  -m, --mount DIR   the lpcfs mount; default $LPC_MOUNT, else /lpc
  -h, --help        show the command's help and exit 0

A PORT argument that starts with '/' is a path; any other PORT is relative to
the mount (lpc call echo  is  lpc call /lpc/echo).

Exit status:
  0  success
  1  failure: a connection was refused or failed, a port could not be
     created, no lpcfs is mounted, the daemon is gone, an I/O error (a
     message "lpc: WHAT: REASON" says which, and what to do)
  2  usage error (bad option or argument)
  3  lpc call, lpc wait: --timeout expired
  4  lpc call: the server closed the connection before every reply arrived
  5  lpc call --server-user: the port is not served by that user

lpc --version prints the version.
)TXT";

constexpr std::string_view kServeUsage =
    "usage: lpc serve [--mount DIR] [--mode OCTAL] [--verbose] PORT -- CMD "
    "[ARG...]";

constexpr std::string_view kServeHelp =
    R"TXT(usage: lpc serve [--mount DIR] [--mode OCTAL] [--verbose] PORT -- CMD [ARG...]

Creates the port PORT and runs CMD once for every connection to it, like
inetd: the client's messages are CMD's standard input and CMD's standard
output goes back to the client as messages. Every connection is accepted at
once, and any number of clients are served at the same time.

  - Each client message is written to CMD's stdin, followed by a newline
    unless it already ends in one.
  - CMD's stdout is cut into lines and each line, newline included, is sent
    to the client as one message. A line longer than 256 bytes is sent as
    messages of 256 bytes and then the rest, so the messages put together are
    exactly what CMD wrote. No output is dropped while the client is
    connected: when the client's queue is full, lpc serve keeps the output
    and sends it when there is room.
  - When the client closes the connection, CMD's stdin is closed after the
    messages already received; what CMD writes after that is discarded (and
    if it goes on writing, its stdout is closed).
  - When CMD's stdout reaches end of file (usually: CMD exits), the rest of
    its output is sent and the connection is closed: the client reads the
    remaining messages, then end of file.
  - CMD's stderr is lpc serve's stderr. CMD's stdout is a pipe, so a program
    that buffers its output must be told to write each line at once
    (sed -u, python3 -u, stdbuf -oL CMD, fflush() in awk).
  - CMD's environment also has LPC_PORT (the port's path), LPC_CONN_ID (the
    connection id) and LPC_CLIENT_PID, LPC_CLIENT_UID, LPC_CLIENT_GID (the
    client's process id and filesystem uid and gid when it connected).

A script that starts lpc serve in the background and then connects must wait
for the port first, or its first connection may find no port yet:
  lpc serve upper -- stdbuf -oL tr a-z A-Z &
  lpc wait upper

The port exists as long as lpc serve runs. SIGINT, SIGTERM or SIGHUP removes
it: every connection ends (clients read end of file), every CMD still
running gets SIGTERM (SIGKILL after 2 seconds), and lpc serve exits 0.

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc); PORT is
                     relative to it unless it starts with '/'
  -M, --mode OCTAL   the port's permission bits, applied exactly (the umask
                     is not applied); default 0666. The kernel checks them
                     when a client opens the port.
  -v, --verbose      log each connection and each CMD's exit on stderr
  -h, --help         show this help

The "--" between PORT and CMD is required; options go before PORT.

Exit status:
  0  stopped by SIGINT, SIGTERM or SIGHUP
  1  PORT could not be created (for example "File exists"; nothing is
     created when the folder is missing or not on an lpcfs mount), CMD was
     not found, or reading the port failed (the daemon went away)
  2  usage error
)TXT";

constexpr std::string_view kCallUsage =
    "usage: lpc call [--mount DIR] [--timeout SEC] [--server-user USER] "
    "[--lines | --eof] PORT "
    "[MESSAGE...]";

constexpr std::string_view kCallHelp =
    R"TXT(usage: lpc call [--mount DIR] [--timeout SEC] [--server-user USER]
                [--lines | --eof] PORT [MESSAGE...]

Connects to PORT and sends each MESSAGE argument as one message. Without
MESSAGE arguments it sends each line of standard input, without its
newline, as one message (an empty line is sent as a single newline, since a
message cannot be empty). A message is 1 to 256 bytes.

The replies are printed on standard output. When to stop:
  (default)    after each message, wait for one reply message and print it
               (followed by a newline unless it ends in one), then send the
               next message. lpc call exits 0 when every message has had its
               reply; with no message to send it exits at once.
  -l, --lines  the same, but a reply is a line: messages are read and
               printed as they are until one ends in a newline. Use this with
               lpc serve, which sends a line longer than 256 bytes as several
               messages.
  -e, --eof    send all the messages, printing whatever arrives meanwhile,
               then print everything until the server closes the connection.
               Output is printed exactly as received. The server closing is
               the normal end (exit 0), even if it did not take every
               message. lpc call -e PORT </dev/null only reads.
In the default mode and with --lines, one ioctl (LPC_IOC_TRANSFER) sends
each message and receives the next message, whether the server sent it as a
reply or not, in one request to the daemon (lpc(1) says more).

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc); PORT is
                     relative to it unless it starts with '/'
  -t, --timeout SEC  give up after SEC seconds (decimals allowed) while
                     connecting, while waiting for each reply, and with --eof
                     when nothing has been sent or received for SEC seconds.
                     Without it lpc call waits as long as it takes (the
                     daemon's connect_timeout still limits connecting).
  -u, --server-user USER
                     send nothing unless USER (a name or a uid) both owns
                     PORT and runs the process serving it (the port's
                     user.lpc.server attribute, see lpc(7)); checked on the
                     name before connecting and on the connection after.
  -h, --help         show this help

Exit status:
  0  every reply arrived (with --eof: the server closed the connection)
  1  the connection failed: no such port, refused, permission denied, the
     daemon's connect timeout, or an I/O error on the connection
  2  usage error, or a message that is empty or longer than 256 bytes
  3  --timeout expired (what arrived before is printed)
  4  the server closed the connection before every reply arrived (what
     arrived is printed)
  5  --server-user: PORT is owned or served by another user (nothing was
     sent; the message on standard error says by whom)
)TXT";

constexpr std::string_view kWaitUsage =
    "usage: lpc wait [--mount DIR] [--timeout SEC] PORT";

constexpr std::string_view kWaitHelp =
    R"TXT(usage: lpc wait [--mount DIR] [--timeout SEC] PORT

Waits until PORT exists and a server holds it (its user.lpc.server attribute
exists, see lpc(7)), then exits 0: from then on a client's connection reaches
the server. Use it after starting a server in the background:
  lpc serve upper -- stdbuf -oL tr a-z A-Z &
  lpc wait upper
  exec 3<>"${LPC_MOUNT:-/lpc}/upper"
It looks every 5 ms. It fails at once if no lpcfs is mounted, the daemon is
gone or PORT's folder does not exist.

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc); PORT is
                     relative to it unless it starts with '/'
  -t, --timeout SEC  give up after SEC seconds (decimals allowed); without it
                     lpc wait waits as long as it takes
  -h, --help         show this help

Exit status:
  0  PORT is served
  1  no lpcfs mounted, the daemon is gone, PORT's folder does not exist, or
     PORT cannot be looked at (for example "Permission denied")
  2  usage error
  3  --timeout expired
)TXT";

constexpr std::string_view kLsUsage = "usage: lpc ls [--mount DIR] [--json]";

constexpr std::string_view kLsHelp = R"TXT(usage: lpc ls [--mount DIR] [--json]

Lists the ports of the lpcfs mount: a header line, then one line per port:
  OWNER PID CONNECTIONS PORT
OWNER is the user name of the port's owner (its uid if it has no name), PID
the process serving it (the one that created it), CONNECTIONS the port's
connection count as the daemon reports it, PORT the port's full path (a port
unlinked while its server still runs shows as "(unlinked)"). The columns are
separated by spaces, and PORT comes last because it may contain spaces. The
list is read from MOUNT/.stats, a snapshot taken when it is opened.

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc)
      --json         print one JSON array with an object per port: path,
                     owner, group, mode, server_pid, connections and the
                     port's counters (lpc(1) "JSON OUTPUT")
  -h, --help         show this help

Exit status: 0 success, 1 MOUNT/.stats cannot be read, 2 usage error.
)TXT";

constexpr std::string_view kStatUsage =
    "usage: lpc stat [--mount DIR] [--json] PORT";

constexpr std::string_view kStatHelp =
    R"TXT(usage: lpc stat [--mount DIR] [--json] PORT

Shows one port:
  path: FULL PATH
  owner: USER (UID)
  group: GROUP (GID)
  mode: 0NNN
followed by the port's line and its connections' lines from MOUNT/.stats,
exactly as the daemon writes them ("port PATH owner=... connections=N ..."
and "conn ID port=PATH state=... client_pid=P ..."; see lpc(7)), each conn
line followed by "  client capabilities: CAPS", the client's effective
capabilities at connect as cap_to_text(3) names them. The mount is the file
system PORT is on.

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc); PORT is
                     relative to it unless it starts with '/'
      --json         print one JSON object: the port as lpc ls --json shows
                     it, with "clients" (its connections) and "users" (the
                     quota usage above) (lpc(1) "JSON OUTPUT")
  -h, --help         show this help

Exit status: 0 success, 1 PORT does not exist or is not an lpcfs port, or
the .stats file cannot be read, 2 usage error.
)TXT";

constexpr std::string_view kTopCommandUsage =
    "usage: lpc top [--mount DIR] [--delay SECS] [--iterations N]";

constexpr std::string_view kTopCommandHelp =
    R"TXT(usage: lpc top [--mount DIR] [--delay SECS] [--iterations N]

Shows the ports of the lpcfs mount and their traffic, read from MOUNT/.stats
again every SECS seconds: a title line, a header, then one line per port:
  PID CONNS PEND IN/S OUT/S QIN QOUT REFUSED REJECTED PORT
PID is the process serving the port, CONNS and PEND its connections and
connection requests waiting for an answer, IN/S and OUT/S the messages per
second to the server and to its clients since the last frame ("-" in the
first frame and for a new port), QIN and QOUT the messages queued now each
way, REFUSED and REJECTED the connection requests refused and the records
rejected since the port was created, and PORT the port's full path. On a
terminal each frame redraws the screen (ANSI escapes); otherwise frames
follow each other, a blank line apart. Stop it with Ctrl-C.

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc)
  -d, --delay SECS   seconds between frames (decimals allowed; default 2)
  -n, --iterations N stop after N frames (default: until interrupted)
  -h, --help         show this help

Exit status: 0 after N frames, 1 MOUNT/.stats cannot be read or output
failed, 2 usage error.
)TXT";

constexpr std::string_view kMonitorUsage =
    "usage: lpc monitor [--mount DIR] [--json] [--payload text|hex] "
    "[--count N] [PORT...]";

constexpr std::string_view kMonitorHelp =
    R"TXT(usage: lpc monitor [--mount DIR] [--json] [--payload text|hex] [--count N] [PORT...]

Prints the events of the ports as they happen, one line each, read from
MOUNT/.monitor (lpc(7) "MONITOR"):
  TIME EVENT PORT conn=ID [msg=ID] [len=N] pid=P uid=U gid=G [error=ENAME
       by=server|daemon] [flags=WORDS] [payload=...]
TIME is the local time of day (HH:MM:SS.microseconds); EVENT is connect,
accept, reject, message (client to server), send or reply (server to
client), cancel (a call ended unanswered) or disconnect (one side ended);
PORT the port's full path; pid, uid and gid the process the event is
about: the client for connect, accept, reject, cancel and its own
disconnect, the writer for messages, sends and replies, the port's server
for the server's disconnect. A reject has conn=0 when the daemon refused
the request before it became a connection. When the monitor could not keep
up, the daemon drops events for it (never slowing the ports) and a line
  TIME lost N events
stands where they are missing.

Without CAP_SYS_ADMIN you see only the ports you own; root sees every port.
"lpc: monitoring MOUNT/.monitor" on stderr says the monitor is open: the
events from then on are shown. Stop it with Ctrl-C.

PORT...            show only these ports, or the ports below these folders
                   (relative to the mount unless they start with '/')

Options:
  -m, --mount DIR    the lpcfs mount (default $LPC_MOUNT, else /lpc)
      --json         one JSON object per line instead (lpc(1) "JSON OUTPUT")
  -p, --payload FMT  also show each message's payload, as text (C escapes)
                     or hex; only the first 4096 bytes ("..." when cut)
  -c, --count N      exit after N events (lost lines not counted)
  -h, --help         show this help

Exit status: 0 after N events, Ctrl-C or when the reader of the output has
gone, 1 MOUNT/.monitor cannot be opened or read, 2 usage error.
)TXT";

}  // namespace

std::string_view UsageLine(std::string_view command) {
  if (command == "serve") return kServeUsage;
  if (command == "call") return kCallUsage;
  if (command == "wait") return kWaitUsage;
  if (command == "ls") return kLsUsage;
  if (command == "stat") return kStatUsage;
  if (command == "top") return kTopCommandUsage;
  if (command == "monitor") return kMonitorUsage;
  return kTopUsage;
}

std::string_view HelpText(std::string_view command) {
  if (command == "serve") return kServeHelp;
  if (command == "call") return kCallHelp;
  if (command == "wait") return kWaitHelp;
  if (command == "ls") return kLsHelp;
  if (command == "stat") return kStatHelp;
  if (command == "top") return kTopCommandHelp;
  if (command == "monitor") return kMonitorHelp;
  return kTopHelp;
}

int PrintHelp(std::string_view command) {
  std::string_view text = HelpText(command);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace lpc::shell
