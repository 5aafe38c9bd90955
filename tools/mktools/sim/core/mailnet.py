"""SMTP and POP3 clients on the emulator's loop over `Net`: the network side of the modules' own
mail commands (Telit `#EMAILD`/`#SMTPCL`, T-IPE §11; Multi-Tech `#PUTMAIL`/`#SENDMAIL`/`#GETMAIL`,
MT Chapter 3).

`smtplib` and `poplib` block on their sockets, which the single-threaded loop cannot afford, so
the dialogue (RFC 5321 with AUTH PLAIN, RFC 4954; RFC 1939) is a small state machine here.  The
message bytes are the caller's: `push()` hands them to the connection as it takes them (the
caller holds the rest), so a long body streams at the network's pace.
"""

import base64

from mktools.sim.core import tls

REPLY_MAX = 4096            # bytes of server replies kept while a line is incomplete
OUT_MAX = 64 * 1024         # command bytes waiting for the connection
RETRY_S = 0.01

# what went wrong, for the dialects to turn into their own error codes
DNS, CONNECT, TIMEOUT, LOST, AUTH, SENDER, RECIPIENT, DATA, BODY, LOGIN, RETRIEVE = (
    'dns', 'connect', 'timeout', 'lost', 'auth', 'sender', 'recipient', 'data', 'body',
    'login', 'retrieve')


class _LineClient:
    """One TCP connection: line replies in, bounded bytes out, one reply deadline."""

    def __init__(self, loop, net, log, timeout_s, done):
        self.loop = loop
        self.net = net
        self.log = log
        self.timeout_s = timeout_s
        self.done_fn = done
        self.conn = None
        self.rx = bytearray()
        self.out = bytearray()
        self.expect = None          # fn(line) for the next reply line
        self.timer = None
        self.retry = None
        self.finished = False
        self.raw = None             # fn(data) taking the bytes instead of lines
        self.tls_ctx = None         # an ssl.SSLContext: TLS from the start (core.tls)

    def connect(self, host, port, first):
        self.expect = first
        self._arm()
        if self.tls_ctx is None:
            self.conn = self.net.tcp_connect(host, port, self)
        else:
            self.conn = tls.tcp_connect(self.net, host, port, self, self.tls_ctx)

    def command(self, text, then):
        self.expect = then
        self._arm()
        self.write((text + '\r\n').encode('latin-1'))

    def write(self, data):
        if len(self.out) + len(data) > OUT_MAX:
            return self.fail(DATA)
        self.out += data
        self._flush()

    def push(self, data):
        """Send what the connection takes now; how many bytes (the caller keeps the rest)."""
        if self.finished or self.out or self.conn is None:
            return 0
        return self.conn.send(data)

    def pause(self):
        if self.conn is not None:
            self.conn.pause()

    def resume(self):
        if self.conn is not None:
            self.conn.resume()

    def _flush(self):
        self.retry = None
        if self.finished or self.conn is None or self.conn.closed:
            return
        if self.out:
            del self.out[:self.conn.send(self.out)]
        if self.out:
            self.retry = self.loop.call_later(RETRY_S, self._flush)

    def _arm(self):
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(self.timeout_s, self._timeout)

    def _timeout(self):
        self.timer = None
        self.fail(TIMEOUT)

    # -- Net events -------------------------------------------------------------------------

    def on_connect(self, conn):
        self._flush()

    def on_error(self, conn, why):
        self.fail(DNS if why == 'dns' else CONNECT)

    def on_close(self, conn, reset):
        self.fail(LOST)

    def on_data(self, conn, data):
        if self.raw is not None:
            self._arm()
            self.raw(data)
            return
        self.rx += data
        if len(self.rx) > REPLY_MAX and b'\n' not in self.rx:
            return self.fail(LOST)
        while b'\n' in self.rx and not self.finished and self.raw is None:
            line, _, rest = bytes(self.rx).partition(b'\n')
            self.rx = bytearray(rest)
            step = self.expect
            if step is not None:
                step(line.rstrip(b'\r').decode('latin-1'))
        if self.raw is not None and self.rx:
            rest, self.rx = bytes(self.rx), bytearray()
            self.raw(rest)

    # -- ending -----------------------------------------------------------------------------

    def fail(self, why):
        if self.finished:
            return
        self.log('mail_failed', why=why)
        self._end(why, abort=True)

    def _end(self, why, abort=False):
        self.finished = True
        for handle in (self.timer, self.retry):
            if handle is not None:
                handle.cancel()
        self.timer = self.retry = None
        if self.conn is not None:
            (self.conn.abort if abort else self.conn.close)()
        self.done_fn(why)


class SmtpSend(_LineClient):
    """Greeting, EHLO (HELO if refused), AUTH PLAIN when `user` and `password` are set, MAIL FROM,
    RCPT TO for every recipient, DATA; then `ready()`: the caller pushes the message (headers,
    blank line, dot-stuffed body) and calls `end_data()` once it has pushed the terminating
    `<CRLF>.<CRLF>`; after the server's 250, QUIT and `done(None)`.  Any failure: `done(why)`
    with one of the names above (RECIPIENT carries the index in `self.failed_rcpt`)."""

    def __init__(self, loop, net, log, timeout_s, done):
        super().__init__(loop, net, log, timeout_s, done)
        self.failed_rcpt = None

    def start(self, host, port, helo, user, password, sender, rcpts, ready):
        self.helo, self.user, self.password = helo, user, password
        self.sender, self.rcpts, self.ready = sender, list(rcpts), ready
        self._reply = []
        self.connect(host, port, self._multi(self._greeted))

    def _multi(self, then):
        """Collect a multi-line reply ('250-...', then '250 ...') and give then(code, text)."""
        def step(line):
            code = int(line[:3]) if line[:3].isdigit() else 0
            if len(line) > 3 and line[3] == '-' and code:
                return
            then(code, line[4:])
        return step

    def _greeted(self, code, text):
        if code != 220:
            return self.fail(CONNECT)
        self.command('EHLO ' + self.helo, self._multi(self._ehlo))

    def _ehlo(self, code, text):
        if code == 250:
            return self._auth()
        self.command('HELO ' + self.helo, self._multi(self._helo))

    def _helo(self, code, text):
        if code != 250:
            return self.fail(CONNECT)
        self._auth()

    def _auth(self):
        if not (self.user and self.password):
            return self._mail_from()
        token = base64.b64encode(f'\0{self.user}\0{self.password}'.encode('latin-1'))
        self.command('AUTH PLAIN ' + token.decode('ascii'), self._multi(self._authed))

    def _authed(self, code, text):
        if code != 235:
            return self.fail(AUTH)
        self._mail_from()

    def _mail_from(self):
        self.command(f'MAIL FROM:<{self.sender}>', self._multi(self._from_done))

    def _from_done(self, code, text):
        if code != 250:
            return self.fail(SENDER)
        self._next_rcpt(0)

    def _next_rcpt(self, i):
        if i == len(self.rcpts):
            return self.command('DATA', self._multi(self._data))

        def answered(code, text):
            if code not in (250, 251):
                self.failed_rcpt = i
                return self.fail(RECIPIENT)
            self._next_rcpt(i + 1)
        self.command(f'RCPT TO:<{self.rcpts[i]}>', self._multi(answered))

    def _data(self, code, text):
        if code != 354:
            return self.fail(DATA)
        if self.timer is not None:
            self.timer.cancel()          # the caller's data comes at its pace
            self.timer = None
        self.ready()

    def send_all(self, message):
        """Push a whole message (with its terminator) at the connection's pace, then
        `end_data()`."""
        self._left = memoryview(bytes(message))
        self._pump()

    def _pump(self):
        self.retry = None
        if self.finished:
            return
        if self._left:
            self._left = self._left[self.push(self._left):]
        if self._left:
            self.retry = self.loop.call_later(RETRY_S, self._pump)
        else:
            self.end_data()

    def end_data(self):
        """The caller has pushed the whole message and its terminator."""
        self.expect = self._multi(self._accepted)
        self._arm()

    def _accepted(self, code, text):
        if code != 250:
            return self.fail(BODY)
        self.log('mail_sent', to=self.rcpts)
        self.write(b'QUIT\r\n')
        self._end(None)


class Pop3Fetch(_LineClient):
    """RFC 1939: greeting, USER, PASS, STAT; no message: `done('nomail')`; else RETR 1, whose
    lines (still dot-stuffed, up to and including the '.' line) go to `on_data(bytes)` as they
    come after `started()`; then DELE 1 ("When the email is retrieved, it is deleted from the
    POP3 server", MT #GETMAIL), QUIT and, once the server has answered it, `done(None)`."""

    NOMAIL = 'nomail'

    def start(self, host, port, user, password, started, on_data):
        self.user, self.password = user, password
        self.started, self.take = started, on_data
        self.tail = b''
        self.connect(host, port, self._ok(self._greeted, CONNECT))

    def _ok(self, then, why):
        def step(line):
            if not line.startswith('+OK'):
                return self.fail(why)
            then(line[3:].strip())
        return step

    def _greeted(self, text):
        self.command('USER ' + self.user, self._ok(self._user, LOGIN))

    def _user(self, text):
        self.command('PASS ' + self.password, self._ok(self._pass, LOGIN))

    def _pass(self, text):
        self.command('STAT', self._ok(self._stat, RETRIEVE))

    def _stat(self, text):
        count = text.split()[0] if text.split() else ''
        if not count.isdigit():
            return self.fail(RETRIEVE)
        if int(count) == 0:
            self.write(b'QUIT\r\n')
            return self._end(self.NOMAIL)
        self.command('RETR 1', self._ok(self._retr, RETRIEVE))

    def _retr(self, text):
        self.raw = self._mail_bytes
        self.started()

    def _mail_bytes(self, data):
        # the multi-line answer ends with CRLF . CRLF (RFC 1939 s3), maybe split across reads
        seen = self.tail + data
        end = seen.find(b'\r\n.\r\n')
        if end < 0 and seen.startswith(b'.\r\n'):
            end = -2                     # an empty message: the '.' line comes first
        if end == -1:
            self.tail = seen[-4:]
            self.take(data)
            return
        cut = end + 5 - len(self.tail)
        self.raw = None
        self.take(data[:cut])
        self.rx = bytearray(data[cut:])
        self.command('DELE 1', self._ok(self._deleted, RETRIEVE))

    def _deleted(self, text):
        # the server removes a message marked by DELE at QUIT (RFC 1939 s6): wait for it
        self.command('QUIT', self._ok(lambda text: self._end(None), RETRIEVE))


def dot_stuff(body):
    """A body as SMTP DATA carries it (RFC 5321 s4.5.2): CR LF line ends, a '.' doubled at the
    start of a line, then the terminating CRLF.CRLF."""
    text = body.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
    lines = text.split(b'\r\n')
    text = b'\r\n'.join(b'.' + ln if ln.startswith(b'.') else ln for ln in lines)
    if not text.endswith(b'\r\n'):
        text += b'\r\n'
    return text + b'.\r\n'
