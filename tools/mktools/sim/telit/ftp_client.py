"""A small FTP client (RFC 959) on the emulator's loop over `Net`: the network side of the Telit
native FTP commands (T-IPE §12).

The control connection carries one request at a time in FIFO order; a transfer registers a
waiter that takes both its preliminary (1xx) and its final reply, so a command issued while a
transfer is still finishing simply queues behind it, as on the wire.  Data connections are always
passive (PASV): in active mode the server would dial the module, and `Net` offers the emulated
module no address a server could dial.

Not `ftplib`: it blocks until each reply and runs a whole transfer in one call, and inside the
emulator's single-threaded loop that would stop every AT port, timer and socket of every module
meanwhile.  It also dials its own sockets, out of reach of `Net` (loopback only, latency, faults)
and of the TCP back-pressure the module's bounded download buffer needs (`#FTPGETPKT`, a
`#FTPGET` to a slow serial line).
"""

import collections
import re

MAX_REPLY = 4096                 # bytes of one reply line kept
MAX_WAITERS = 8
KEEP = 'keep'                    # waiter verdicts, see FtpControl._expect
KEEP_UNTIMED = 'keep-untimed'
PASV_RE = re.compile(rb'(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)')


class FtpReply:
    """One (possibly multi-line) server reply: the code and the text of its last line."""

    def __init__(self, code, text):
        self.code = code
        self.text = text

    @property
    def kind(self):
        return self.code // 100


class FtpControl:
    """The control connection and the one data connection of an FTP session."""

    def __init__(self, loop, net, timeout_s, on_lost):
        self.loop = loop
        self.net = net
        self.timeout_s = timeout_s
        self.on_lost = on_lost
        self.conn = None
        self.rx = bytearray()
        self.multiline = None
        self.waiters = collections.deque()
        self.timer = None
        self.connected = False
        self.data = None
        self.connect_failed = None

    # -- session ----------------------------------------------------------------------------

    def open(self, host, port, user, password, done):
        """Connect, read the greeting and log in; `done(error)` with None, 'connect',
        'timeout' or 'login'."""
        def greeted(reply):
            if reply is None or reply.kind != 2:
                return done('timeout' if reply is None else 'connect')
            self.request('USER ' + user, after_user)

        def after_user(reply):
            if reply is not None and reply.code == 331:
                self.request('PASS ' + password, after_pass)
            else:
                after_pass(reply)

        def after_pass(reply):
            if reply is None:
                return done('timeout')
            if reply.kind != 2:
                return done('login')
            self.connected = True
            done(None)

        self.connect_failed = lambda why: done('connect')
        self._expect(greeted)
        self.conn = self.net.tcp_connect(host, port, self)

    def request(self, line, done):
        """Send one command line; `done(reply)` gets its final reply, or None on timeout/loss."""
        def waiter(reply):
            if reply is not None and reply.kind == 1:
                return KEEP
            done(reply)

        if self.conn is None:
            done(None)
        elif self._expect(waiter):
            self.conn.send(line.encode('latin-1') + b'\r\n')

    def quit(self, done):
        """QUIT, wait for its reply (or the timeout), drop both connections, then `done()`."""
        def after(reply):
            self._drop(close=True)
            done()

        if self.conn is None or not self.connected:
            after(None)
        else:
            self.request('QUIT', after)

    def abort(self):
        """Drop both connections at once (module reboot)."""
        self._drop(close=False)

    # -- data transfers ---------------------------------------------------------------------

    def transfer(self, command, rest, sink, opened, finished):
        """Open a passive data connection and run `command` (RETR/STOR/APPE) on it.

        `sink` gets `on_data(bytes)` and `on_eof()` for bytes from the server; `opened(error,
        data_conn)` comes after the preliminary reply (error is a reply or 'timeout' text);
        `finished(reply)` comes with the final reply of the transfer."""
        def after_pasv(reply):
            if reply is None or reply.code != 227:
                return opened('timeout' if reply is None else reply.text, None)
            match = PASV_RE.search(reply.text.encode('latin-1'))
            if not match:
                return opened('bad PASV reply', None)
            nums = [int(x) for x in match.groups()]
            host = '.'.join(str(n) for n in nums[:4])
            self.data = DataConnection(sink, after_data)
            self.data.conn = self.net.tcp_connect(host, nums[4] * 256 + nums[5], self.data)

        def after_data(error):
            if error:
                return opened(error, None)
            if rest:
                self.request('REST %d' % rest, after_rest)
            else:
                after_rest(None)

        def after_rest(reply):
            if reply is not None and reply.kind not in (2, 3):
                self._close_data()
                return opened(reply.text, None)
            self._send_transfer(command, opened, finished)

        self.request('PASV', after_pasv)

    def _send_transfer(self, command, opened, finished):
        state = {'opened': False}

        def on_reply(reply):
            if reply is None:
                if not state['opened']:
                    opened('timeout', None)
                else:
                    finished(None)
                return True
            if reply.kind == 1 and not state['opened']:
                state['opened'] = True
                opened(None, self.data.conn if self.data else None)
                return KEEP_UNTIMED
            if not state['opened']:
                self._close_data()
                opened(reply.text, None)
                return True
            finished(reply)
            return True

        if self.conn is None:
            opened('control connection lost', None)
        elif self._expect(on_reply):
            self.conn.send(command.encode('latin-1') + b'\r\n')

    def _close_data(self, abort=False):
        data, self.data = self.data, None
        if data and data.conn is not None:
            data.conn.abort() if abort else data.conn.close()

    # -- Net events (control connection) ----------------------------------------------------

    def on_connect(self, conn):
        pass

    def on_error(self, conn, why):
        if conn is self.conn:
            self.conn = None
            self._cancel_timer()
            self.waiters.clear()
            self.connect_failed(why)

    def on_data(self, conn, data):
        if conn is not self.conn:
            return
        self.rx += data
        while True:
            end = self.rx.find(b'\n')
            if end < 0:
                if len(self.rx) > MAX_REPLY:
                    del self.rx[:-MAX_REPLY]
                return
            line = bytes(self.rx[:end]).rstrip(b'\r').decode('latin-1')
            del self.rx[:end + 1]
            self._line(line)
            if self.conn is None:
                return

    def on_close(self, conn, reset):
        if conn is self.conn:
            lost = self.connected
            self._drop(close=False)
            if lost:
                self.on_lost()

    # -- internals --------------------------------------------------------------------------

    def _line(self, line):
        if self.multiline:
            if line[:3] == self.multiline and line[3:4] == ' ':
                self.multiline = None
                self._reply(FtpReply(int(line[:3]), line))
            return
        if len(line) >= 3 and line[:3].isdigit():
            if line[3:4] == '-':
                self.multiline = line[:3]
            else:
                self._reply(FtpReply(int(line[:3]), line))

    def _reply(self, reply):
        if not self.waiters:
            return
        self._cancel_timer()
        entry = self.waiters.popleft()          # off the queue first: the waiter may drop it
        verdict = entry[0](reply)
        if verdict in (KEEP, KEEP_UNTIMED) and self.conn is not None:
            entry[1] = entry[1] and verdict is KEEP
            self.waiters.appendleft(entry)
        self._arm_timer()

    def _expect(self, waiter):
        """Queue `waiter(reply)`: it returns KEEP for more replies, KEEP_UNTIMED while a
        transfer runs (no reply timeout), anything else when done; None means timeout/loss."""
        if len(self.waiters) >= MAX_WAITERS:
            waiter(None)
            return False
        self.waiters.append([waiter, True])
        if len(self.waiters) == 1:
            self._arm_timer()
        return True

    def _arm_timer(self):
        self._cancel_timer()
        if self.waiters and self.waiters[0][1]:
            self.timer = self.loop.call_later(self.timeout_s, self._timed_out)

    def _cancel_timer(self):
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _timed_out(self):
        self.timer = None
        if self.waiters:
            self.waiters.popleft()[0](None)
        self._arm_timer()

    def _drop(self, close):
        self._cancel_timer()
        waiters, self.waiters = self.waiters, collections.deque()
        for waiter, _ in waiters:
            waiter(None)
        conn, self.conn = self.conn, None
        self.connected = False
        self._close_data(abort=not close)
        if conn is not None:
            conn.close() if close else conn.abort()


class DataConnection:
    """Net events of the data connection, forwarded to the transfer's sink."""

    def __init__(self, sink, on_ready):
        self.sink = sink
        self.on_ready = on_ready
        self.conn = None

    def on_connect(self, conn):
        self.on_ready(None)

    def on_error(self, conn, why):
        self.on_ready('data connection: %s' % why)

    def on_data(self, conn, data):
        self.sink.on_data(data)

    def on_close(self, conn, reset):
        self.sink.on_eof()
