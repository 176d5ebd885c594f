/*
 * lpc.h - the lpcfs file protocol: record layouts, constants and limits.
 *
 * This header is the ABI between the lpcfs daemon and its clients. It is
 * plain C (C99 and C++), uses fixed-width types only, and every structure is
 * laid out without implicit padding, so any language can read and write the
 * same bytes (Python: struct format "<IIQQIIIIiI" for struct lpc_record,
 * "<IIIIIiIIQQ" for struct lpc_transfer, "<IHHQQQIIIIiIII" for struct
 * lpc_monitor_event).
 * All integers are in the machine's native byte order (little-endian on
 * every platform lpcfs supports). man/lpc.7 describes the same contract in
 * words; change both together.
 *
 * Files under an lpcfs mount (default /lpc):
 *
 *   /lpc/NAME, /lpc/DIR/NAME  named connection ports.
 *       open(O_CREAT|O_EXCL|O_RDWR, mode) creates a port and returns the
 *       *server handle*: read() yields records (struct lpc_record + payload),
 *       write() takes records. Any other open() of a port is a connection
 *       request; the open that succeeds is the client's communication port:
 *       plain bytes, one write() is one message, a read() returns bytes of
 *       one message only.
 *   /lpc/.conn/ID            the server communication port of connection ID,
 *       mode 0600, owned by the port's owner: plain bytes in both directions.
 *       Opening it binds the connection to it (see LPC_REC_MESSAGE).
 *   /lpc/.stats              read-only text: ports, connections, queue depths.
 *   /lpc/.sections/NAME      section files: shared memory both sides mmap
 *       (MAP_SHARED). open(O_CREAT) creates one, ftruncate() sizes it; it
 *       lives while a handle, a mapping or a view refers to it.
 *   /lpc/.views/ID           the section a received view names, opened to
 *       the receiver only while the view lives; unlink() releases the view.
 *   /lpc/.windows/ID         a caller's memory window: pread()/pwrite()
 *       reach the client's memory while its call is outstanding
 *       (lpcfs -o memory_windows).
 *   /lpc/.monitor            read-only: live events of the ports the reader
 *       may watch, as struct lpc_monitor_event records (lpc.7 "MONITOR").
 *
 * A port's read-only extended attribute LPC_SERVER_XATTR names the process
 * that serves it.
 */
#ifndef LPC_H
#define LPC_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the record protocol described here. */
/* 2: struct lpc_connect_process follows groups[] in the CONNECT payload;
 * MESSAGE records carry LPC_MESSAGE_* flags.
 * 3: the ioctls (LPC_IOC_CALL, LPC_IOC_TRANSFER); a server may read
 * LPC_REC_CANCEL records and MESSAGE records with LPC_MESSAGE_CALL or
 * LPC_MESSAGE_CONTINUED; LPC_PORT_READ_BATCHES. */
/* 4: messages up to the port's max message (LPC_DEFAULT_MAX_MESSAGE,
 * LPC_MAX_MESSAGE_LIMIT, struct lpc_port_limits); sections, views
 * (LPC_MESSAGE_VIEW) and memory windows (LPC_MESSAGE_WINDOW).
 * 5: /.monitor (struct lpc_monitor_event, LPC_IOC_MONITOR). */
#define LPC_PROTOCOL_VERSION 5

/* Largest short message: messages up to this size are copied through the
 * daemon's queues; longer ones are stored once (lpc.7 "LARGE MESSAGES"). */
#define LPC_MAX_MESSAGE 256
#define LPC_SHORT_MESSAGE LPC_MAX_MESSAGE

/* The most attribute bytes a record carries. */
#define LPC_RECORD_ATTRIBUTES_MAX 80

/* A port's largest message unless its server or the daemon's -o
 * max_message says otherwise; a longer write() fails EMSGSIZE. */
#define LPC_DEFAULT_MAX_MESSAGE 65536
/* The most a port may allow: 1016 KiB. One FUSE request carries 256 pages
 * (1 MiB), of which a buffer that does not start on a page boundary fills
 * 255 and two partial ones; a record of this message with its header and
 * attributes fits that from any buffer, so it is one write() and one
 * read() (and the kernel refuses larger ones whole, never in part). */
#define LPC_MAX_MESSAGE_LIMIT ((1u << 20) - 8192)

/* Most supplementary groups reported in a connect record; more are cut to
 * this many and LPC_CONNECT_GROUPS_TRUNCATED is set. */
#define LPC_MAX_GROUPS 1024

/* A read() buffer of this size holds any record of a port whose max
 * message is the default; a port that allows more needs
 * sizeof(struct lpc_record) + max_message + the attributes (see
 * LPC_RECORD_ATTRIBUTES_MAX). */
#define LPC_RECORD_MAX \
  (48 + LPC_RECORD_ATTRIBUTES_MAX + LPC_DEFAULT_MAX_MESSAGE)

/* st_size that stat() reports for ports and .conn files. It means no data:
 * the kernel lets writes run in parallel only while they end below the
 * file's size, so message files claim the most one write request carries. */
#define LPC_STREAM_SIZE (1u << 20)

/* Names under the mount root that the daemon reserves. */
#define LPC_CONN_DIR ".conn"
#define LPC_STATS_FILE ".stats"
#define LPC_SECTIONS_DIR ".sections"
#define LPC_VIEWS_DIR ".views"
#define LPC_WINDOWS_DIR ".windows"
#define LPC_MONITOR_FILE ".monitor"

/*
 * Every record read from or written to a server handle starts with this
 * 48-byte header, followed by `length` payload bytes. One read() returns
 * exactly one whole record (a buffer too small for it fails EMSGSIZE and the
 * record stays queued); one write() carries exactly one whole record.
 * Fields a record type does not use are zero when read and must be zero when
 * written (EINVAL otherwise).
 */
struct lpc_record {
  uint32_t type;     /* enum lpc_record_type */
  uint32_t length;   /* payload bytes that follow the header */
  uint64_t conn_id;  /* connection, unique for the daemon's lifetime */
  uint64_t msg_id;   /* message id, per connection, starting at 1 */
  uint32_t pid;      /* sender's process id (not thread id); 0 if unknown */
  uint32_t uid;      /* sender's filesystem uid at the time of the call */
  uint32_t gid;      /* sender's filesystem gid at the time of the call */
  uint32_t flags;    /* per type: LPC_CONNECT_*, LPC_MESSAGE_*, ... */
  int32_t status;    /* LPC_REC_REJECT: errno the client's open() fails with */
  uint32_t reserved; /* zero */
};

enum lpc_record_type {
  /* Read from the server handle. */
  LPC_REC_CONNECT = 1,    /* a client's open(); payload: lpc_connect_info */
  LPC_REC_MESSAGE = 2,    /* a client's write(); payload: the message */
  LPC_REC_DISCONNECT = 3, /* connection ended; flags: LPC_DISCONNECT_* */
  LPC_REC_CANCEL = 4,     /* the call msg_id ended unanswered: LPC_CANCEL_* */

  /* Written to the server handle. LPC_REC_DISCONNECT (3) is also written. */
  LPC_REC_ACCEPT = 16,       /* accept conn_id: the client's open() succeeds */
  LPC_REC_REJECT = 17,       /* refuse conn_id: open() fails with status */
  LPC_REC_SEND = 18,         /* send payload to conn_id's client */
  LPC_REC_REPLY = 19,        /* reply to msg_id of conn_id with payload */
  LPC_REC_PORT_OPTIONS = 20, /* set port options: flags LPC_PORT_* */
};

/* flags of LPC_REC_CONNECT */
#define LPC_CONNECT_READ 0x1             /* client opened for reading */
#define LPC_CONNECT_WRITE 0x2            /* client opened for writing */
#define LPC_CONNECT_ACCEPTED 0x4         /* auto-accepted: no answer needed */
#define LPC_CONNECT_GROUPS_TRUNCATED 0x8 /* more than LPC_MAX_GROUPS groups */

/* Payload of LPC_REC_CONNECT: who is connecting, read at open() time. */
struct lpc_connect_info {
  uint64_t cap_effective; /* CapEff of the client process */
  uint64_t cap_permitted; /* CapPrm of the client process */
  uint32_t ngroups;       /* number of entries in groups[] */
  uint32_t reserved;      /* zero */
  /* followed by uint32_t groups[ngroups]: supplementary group ids, then
   * by struct lpc_connect_process (protocol version 2) */
};

/* After groups[] in the CONNECT payload: the connecting process, so that the
 * server can hold it without a race on a reused pid (lpc.7 "CREDENTIALS"):
 * pidfd_open(pid), then compare start_time with field 22 of /proc/PID/stat.
 * Both are 0 when the daemon could not see the process. */
struct lpc_connect_process {
  uint64_t start_time; /* field 22 of /proc/PID/stat: clock ticks since boot */
  uint32_t pid;        /* the same process id as the record's pid */
  uint32_t reserved;   /* zero */
};

/* flags of LPC_REC_MESSAGE: how the writer differs from the connection's
 * client at connect (ALPC's security-context change; lpc.7 "CREDENTIALS"). */
#define LPC_MESSAGE_IDENTITY_CHANGED 0x1 /* fsuid, fsgid or groups differ */
#define LPC_MESSAGE_PROCESS_CHANGED 0x2  /* another process (pid, start) */
/* The writer waits in LPC_IOC_CALL: a reply to this msg_id goes to it. */
#define LPC_MESSAGE_CALL 0x4
/* Received by LPC_IOC_TRANSFER: the rest of a message whose beginning a
 * read() already took. */
#define LPC_MESSAGE_CONTINUED 0x8
/* Message attributes (lpc.7 "VIEWS", "MEMORY WINDOWS"). A record with
 * these flags has, between its header and the message bytes, a struct
 * lpc_view (LPC_MESSAGE_VIEW) and then a struct lpc_window
 * (LPC_MESSAGE_WINDOW); `length` counts them with the message bytes.
 * They are written in MESSAGE records sent by ioctl on a client port
 * (a window only with LPC_IOC_CALL) and in SEND and REPLY records (a view
 * only), and read in the records received. */
#define LPC_MESSAGE_VIEW 0x10
#define LPC_MESSAGE_WINDOW 0x20

/* flags of LPC_REC_CANCEL: why the caller stopped waiting. A reply to a
 * cancelled call is accepted and dropped (counted in .stats). */
#define LPC_CANCEL_INTERRUPTED 0x1 /* a signal interrupted the call */
#define LPC_CANCEL_TIMED_OUT 0x2   /* the call's timeout_ms passed */

/* The read-only extended attribute of a port that tells who serves it:
 * text "uid=U gid=G pid=P start_time=T" (lpc.7 "WHO SERVES A NAME"). */
#define LPC_SERVER_XATTR "user.lpc.server"

/* flags of LPC_REC_DISCONNECT as read: why the connection ended. Written
 * LPC_REC_DISCONNECT records carry flags 0. */
#define LPC_DISCONNECT_CLIENT_CLOSED 0x1 /* the client closed its handle */
#define LPC_DISCONNECT_SERVER_CLOSED 0x2 /* the server disconnected it */
#define LPC_DISCONNECT_WITHDRAWN 0x4     /* open() interrupted or timed out */

/* flags of LPC_REC_PORT_OPTIONS */
#define LPC_PORT_AUTO_ACCEPT 0x1 /* accept every connection request at once */
/* A read() of the server handle returns as many whole records as its buffer
 * holds, each starting at a multiple of 8 bytes (LPC_RECORD_SPACE), not just
 * one; read() returns the bytes up to the end of the last record. */
#define LPC_PORT_READ_BATCHES 0x2

/* Optional payload of LPC_REC_PORT_OPTIONS (length 0 or 8): the port's
 * limits. max_message: the largest message the port takes, 1 to
 * LPC_MAX_MESSAGE_LIMIT; 0 keeps the current one. */
struct lpc_port_limits {
  uint32_t max_message;
  uint32_t reserved; /* zero */
};

/*
 * A view: a range of a section, attached to a message (lpc.7 "VIEWS").
 * The sender names a section it may access (by the mode and ACL its owner
 * set) with the view's access by the section file's st_ino; the receiver
 * reads the view's id and opens /lpc/.views/ID, which is that section,
 * opened to the receiving side of the connection while the view lives.
 * A view lives until the receiver unlinks /lpc/.views/ID, the call it
 * came with is answered or ends, or the connection ends. Sending fails
 * ENOENT (no such section), EINVAL (range outside it), EACCES (the sender
 * may not share it), EPIPE (the connection ended), ENOBUFS (lpcfs -o
 * views_per_connection).
 */
struct lpc_view {
  uint64_t section;  /* st_ino of the section file (as sent and received) */
  uint64_t offset;   /* first byte of the range in the section */
  uint64_t length;   /* bytes of the range, at least 1 */
  uint64_t id;       /* received: open /lpc/.views/ID; sent: zero */
  uint32_t access;   /* LPC_VIEW_READ, | LPC_VIEW_WRITE */
  uint32_t reserved; /* zero */
};
#define LPC_VIEW_READ 0x1  /* the receiver may read the section */
#define LPC_VIEW_WRITE 0x2 /* and write it (the reply's data) */

/*
 * A memory window: a range of the caller's own memory that the server
 * may read and write through /lpc/.windows/ID while the call it came
 * with is outstanding (lpc.7 "MEMORY WINDOWS"; lpcfs -o memory_windows).
 * The file is the window's server side's alone (mode 0400, 0200 or 0600
 * by access, size `length`): pread()/pwrite() at offsets 0 to length,
 * end of file there, EFBIG for a write past it, EFAULT where the caller
 * has no anonymous memory, EPIPE once the call has ended.
 */
struct lpc_window {
  uint64_t address;  /* start of the range in the caller's address space */
  uint64_t length;   /* bytes, at least 1 */
  uint64_t id;       /* received: open /lpc/.windows/ID; sent: zero */
  uint32_t access;   /* LPC_WINDOW_READ, | LPC_WINDOW_WRITE */
  uint32_t reserved; /* zero */
};
#define LPC_WINDOW_READ 0x1  /* the server may read the window */
#define LPC_WINDOW_WRITE 0x2 /* the server may write it */

/*
 * ioctls (lpc.7 "IOCTLS"). FUSE passes only restricted ioctls: the kernel
 * copies in and out the buffer that the command's size field encodes, at
 * most LPC_IOCTL_MAX bytes. So the size is the caller's choice, given with
 * the command: ioctl(fd, LPC_IOC_CALL(sizeof buf), buf). Every buffer
 * starts with struct lpc_transfer, followed by data[]: records, each a
 * struct lpc_record and its payload, each starting at a multiple of 8
 * bytes from data[0] (LPC_RECORD_SPACE). The same data[] carries the
 * records sent in and, on return, the records received. Only the header
 * and the records received are copied back; a failed ioctl copies nothing.
 * The kernel passes no file flags with an ioctl: O_NONBLOCK does not reach
 * it, LPC_TRANSFER_NO_WAIT in the buffer says not to wait.
 *
 * LPC_IOC_TRANSFER fails (returns -1) only when nothing took effect. Once
 * a record was sent, it returns 0 and the counts say what happened: a
 * signal, a timeout, NO_WAIT with nothing queued, a next record too large
 * for data[] or the end of the connection while it then receives end it
 * with received == 0. LPC_IOC_CALL fails whenever no reply came, also
 * after its message reached the server (which then gets LPC_REC_CANCEL,
 * unless the server side has ended: EPIPE).
 */
#define LPC_IOC_MAGIC 0xB6
#define LPC_IOCTL_MAX 16383 /* largest buffer, each way (14-bit size) */

/* Client port: send one LPC_REC_MESSAGE record (every field 0 but length
 * and the attribute flags LPC_MESSAGE_VIEW, LPC_MESSAGE_WINDOW) and wait for
 * the reply to its message id; threads calling on one fd each get their own.
 * The server reads it with LPC_MESSAGE_CALL set. On return data[] holds one
 * LPC_REC_REPLY record: msg_id is the call's message id (also in first_msg_id),
 * pid/uid/gid name the server's writer. The reply's payload may be at most size
 * - 96 bytes (a longer reply fails EMSGSIZE for the server, which may retry).
 * flags: 0 or LPC_TRANSFER_NO_WAIT, which fails EAGAIN (ENOBUFS: bytes quota)
 * rather than wait for room to send; max_records 0 or 1; timeout_ms covers the
 * wait for room and for the reply. A signal or timeout withdraws the
 * message if the server has not read it, else queues LPC_REC_CANCEL; the
 * late reply is accepted, dropped and counted in .stats replies_dropped.
 * Errors: ENOTTY (not a client port), EBADF (not opened O_RDWR), EINVAL
 * (malformed, or an empty message), EMSGSIZE (message over the port's
 * max message), EAGAIN, ENOBUFS,
 * EPIPE (the server side ended), EINTR, ETIMEDOUT, ECONNABORTED (the
 * daemon stopped); with a memory window also EOPNOTSUPP (the daemon runs
 * without -o memory_windows, or cannot name the caller's process) and
 * EDQUOT (the caller's user has 1024 windows already). */
#define LPC_IOC_CALL(size) \
  _IOC(_IOC_READ | _IOC_WRITE, LPC_IOC_MAGIC, 1, (size))

/* Any message handle: send send_length bytes of records, then receive as
 * many whole records as data[] holds (at most max_records). Records sent:
 * the server handle takes what write() takes; .conn/ID takes LPC_REC_SEND,
 * LPC_REC_REPLY and LPC_REC_DISCONNECT (conn_id 0 or its own); a client
 * port takes LPC_REC_MESSAGE (every field 0 but length and a view's flag;
 * the message 1 byte to the port's max message; consecutive ids from
 * first_msg_id). They take effect in
 * order; sending never waits for room (EAGAIN, ENOBUFS): the first record that
 * fails ends the batch (sent, send_error), records before it stay done, and
 * nothing is received. Received: the server handle yields the records read()
 * yields, LPC_REC_CANCEL included; .conn/ID and the client port LPC_REC_MESSAGE
 * records (on the client port msg_id is the message replied to, 0 for
 * LPC_REC_SEND and .conn/ID writes). Receiving needs data[] of at least
 * one record header, and waits for one record unless LPC_TRANSFER_NO_WAIT
 * (timeout_ms applies to this wait only). Errors: ENOTTY (.stats, a
 * folder), EBADF (a handle opened without write access and records to
 * send, or without read access and a receive), EINVAL (malformed
 * header, or data[] too small to receive), the errno of a first record
 * that fails (as write(2) of the server handle, lpc.7), and when nothing
 * was sent: EMSGSIZE (the first record to receive does not fit; it stays
 * queued), EAGAIN, EPIPE (the connection ended and is drained), EINTR,
 * ETIMEDOUT; ECONNABORTED (the daemon stopped while it waited). */
#define LPC_IOC_TRANSFER(size) \
  _IOC(_IOC_READ | _IOC_WRITE, LPC_IOC_MAGIC, 2, (size))

/* flags of struct lpc_transfer */
#define LPC_TRANSFER_NO_RECEIVE 0x1 /* send only (not with LPC_IOC_CALL) */
/* LPC_IOC_TRANSFER: receive only what is queued now; LPC_IOC_CALL: fail
 * EAGAIN rather than wait for room to send (the reply is still awaited). */
#define LPC_TRANSFER_NO_WAIT 0x2

struct lpc_transfer {
  uint32_t flags;           /* in: LPC_TRANSFER_* */
  uint32_t timeout_ms;      /* in: most ms to wait; 0: no limit. A call's
                               covers room and reply, a transfer's the
                               receive (ETIMEDOUT) */
  uint32_t send_length;     /* in: bytes of records to send, from data[0];
                               the last record's padding may be left out */
  uint32_t max_records;     /* in: most records to receive; 0: no limit
                               (a call: 0 or 1) */
  uint32_t sent;            /* out: records that took effect */
  int32_t send_error;       /* out: errno of record number `sent` (from 0),
                               which failed and ended the batch; or 0 */
  uint32_t received;        /* out: records received into data[] */
  uint32_t received_length; /* out: their bytes, padding included (but
                               not past the end of data[]) */
  uint64_t first_msg_id;    /* out, client port: id of the first message
                               sent; the others follow in order */
  uint64_t reserved;        /* zero (EINVAL otherwise) */
  /* followed by data[]. The input fields come back unchanged. */
};

/* Bytes a record with `length` payload bytes takes in data[]. */
#define LPC_RECORD_SPACE(length) \
  ((sizeof(struct lpc_record) + (size_t)(length) + 7) & ~(size_t)7)

/*
 * The monitor (lpc.7 "MONITOR"): each open() of /lpc/.monitor (read-only)
 * gets its own queue of the events that happen from then on to the ports
 * its opener may watch: every port with CAP_SYS_ADMIN in the opener's
 * effective set, else the ports whose owner is the opener's fsuid. A read()
 * returns as many whole records as its buffer holds, each starting at a
 * multiple of 8 bytes (LPC_MONITOR_SPACE); a buffer too small for the first
 * fails EMSGSIZE (LPC_MONITOR_RECORD_MAX always suffices). A read waits
 * for an event unless O_NONBLOCK (EAGAIN); poll() says POLLIN when one is
 * queued. A queue that is full drops events, never the traffic: the next
 * record the reader gets after the gap is an LPC_MON_LOST record counting
 * them.
 *
 * Each record is this 64-byte header, then path_length bytes of the port's
 * path from the mount root ("/a/b", no NUL), then `captured` bytes of the
 * message's payload (only after LPC_IOC_MONITOR asked for payloads).
 */
struct lpc_monitor_event {
  uint32_t size;        /* bytes of the record: header, path and payload */
  uint16_t type;        /* enum lpc_monitor_event_type */
  uint16_t path_length; /* bytes of the path after the header */
  uint64_t time_ns;     /* CLOCK_REALTIME, nanoseconds since the Epoch */
  uint64_t conn_id;     /* the connection; 0: refused before it had one */
  uint64_t msg_id;      /* MESSAGE, REPLY, CANCEL: the client message id */
  uint32_t pid;         /* the process the event is about (see lpc.7) */
  uint32_t uid;         /* its filesystem uid */
  uint32_t gid;         /* its filesystem gid */
  uint32_t flags;       /* per type, as in lpc_record, and LPC_MONITOR_* */
  int32_t status;       /* LPC_MON_REJECT: errno the client's open() got */
  uint32_t length;      /* payload bytes of the message; LPC_MON_LOST: how
                           many events this monitor lost */
  uint32_t captured;    /* payload bytes that follow the path (<= length) */
  uint32_t reserved;    /* zero */
};

enum lpc_monitor_event_type {
  LPC_MON_CONNECT = 1,    /* a client's open(): flags LPC_CONNECT_* */
  LPC_MON_ACCEPT = 2,     /* accepted (LPC_CONNECT_ACCEPTED: automatically) */
  LPC_MON_REJECT = 3,     /* the request failed with errno `status` */
  LPC_MON_MESSAGE = 4,    /* client to server: flags LPC_MESSAGE_* */
  LPC_MON_SEND = 5,       /* server to client, LPC_REC_SEND or .conn/ID */
  LPC_MON_REPLY = 6,      /* server to client, the reply to msg_id */
  LPC_MON_CANCEL = 7,     /* the call msg_id ended unanswered: LPC_CANCEL_* */
  LPC_MON_DISCONNECT = 8, /* one side ended: LPC_DISCONNECT_* */
  LPC_MON_LOST = 9,       /* `length` events were dropped before this one */
};

/* flags of LPC_MON_REJECT: the server wrote LPC_REC_REJECT (else the daemon
 * refused: backlog, quotas, connect_timeout, the port closed). */
#define LPC_MONITOR_BY_SERVER 0x10000
/* flags of LPC_MON_REPLY: the call had ended; the reply was dropped. */
#define LPC_MONITOR_REPLY_DROPPED 0x20000
/* Any record: the path was longer than LPC_MONITOR_PATH_MAX, cut there. */
#define LPC_MONITOR_PATH_TRUNCATED 0x40000

/* Longest path and payload a record carries, and so the largest record. */
#define LPC_MONITOR_PATH_MAX 4096
#define LPC_MONITOR_CAPTURE_MAX 4096
#define LPC_MONITOR_RECORD_MAX 16384

/* Bytes a record of `size` bytes takes in a read()'s buffer. */
#define LPC_MONITOR_SPACE(size) (((size_t)(size) + 7) & ~(size_t)7)

/* The options of one open .monitor, set with LPC_IOC_MONITOR and returned
 * as they are in effect. They apply to the events that happen afterwards. */
struct lpc_monitor_options {
  uint32_t flags;    /* in/out: LPC_MONITOR_PAYLOADS */
  uint32_t reserved; /* zero (EINVAL otherwise) */
};
/* Copy each message's payload (up to LPC_MONITOR_CAPTURE_MAX bytes). */
#define LPC_MONITOR_PAYLOADS 0x1
#define LPC_IOC_MONITOR _IOWR(LPC_IOC_MAGIC, 3, struct lpc_monitor_options)

/* Errno values a LPC_REC_REJECT may carry in status (0 means ECONNREFUSED):
 * ECONNREFUSED, EACCES, EPERM, EBUSY, EAGAIN. Anything else is EINVAL. */

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
static_assert(sizeof(struct lpc_record) == 48, "lpc_record is 48 bytes");
static_assert(sizeof(struct lpc_connect_info) == 24,
              "lpc_connect_info is 24 bytes");
static_assert(sizeof(struct lpc_connect_process) == 16,
              "lpc_connect_process is 16 bytes");
static_assert(sizeof(struct lpc_transfer) == 48, "lpc_transfer is 48 bytes");
static_assert(sizeof(struct lpc_view) == 40, "lpc_view is 40 bytes");
static_assert(sizeof(struct lpc_window) == 32, "lpc_window is 32 bytes");
static_assert(sizeof(struct lpc_port_limits) == 8,
              "lpc_port_limits is 8 bytes");
static_assert(sizeof(struct lpc_monitor_event) == 64,
              "lpc_monitor_event is 64 bytes");
static_assert(sizeof(struct lpc_monitor_options) == 8,
              "lpc_monitor_options is 8 bytes");
#else
_Static_assert(sizeof(struct lpc_record) == 48, "lpc_record is 48 bytes");
_Static_assert(sizeof(struct lpc_connect_info) == 24,
               "lpc_connect_info is 24 bytes");
_Static_assert(sizeof(struct lpc_connect_process) == 16,
               "lpc_connect_process is 16 bytes");
_Static_assert(sizeof(struct lpc_transfer) == 48, "lpc_transfer is 48 bytes");
_Static_assert(sizeof(struct lpc_view) == 40, "lpc_view is 40 bytes");
_Static_assert(sizeof(struct lpc_window) == 32, "lpc_window is 32 bytes");
_Static_assert(sizeof(struct lpc_port_limits) == 8,
               "lpc_port_limits is 8 bytes");
_Static_assert(sizeof(struct lpc_monitor_event) == 64,
               "lpc_monitor_event is 64 bytes");
_Static_assert(sizeof(struct lpc_monitor_options) == 8,
               "lpc_monitor_options is 8 bytes");
#endif

#endif /* LPC_H */
