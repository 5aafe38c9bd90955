"""Mail in bounded memory: one interface, three backends, bodies streamed.

    from modemkit import mail
    m = mail.client(modem, {'server': 'smtp.example.test', 'sender': 'logger7@example.test',
                            'name': 'Logger 7'}, bytearray(512))
    yield m.send('ops@example.test', 'daily log', open('log7.csv', 'rb'))
    yield m.send(['ops@example.test'], 'alarm', b'pump 3 stopped\n', cc='boss@example.test')
    n = yield m.fetch(open('in.eml', 'wb'))     # POP3 (Multi-Tech #GETMAIL): 0 = no mail

cfg (the board's "mail" section): 'backend' ('py', the default; 'telit'; 'wavecom'; 'native'
= the dialect's own), 'server', 'port' (25), 'user' and 'password' (AUTH PLAIN when both are
set), 'sender' (the envelope and From: address), 'name' (From:'s display name), 'domain' (EHLO's
name; default the sender's domain), 'timeout_ms' (60 s, each wait for the server); for fetch()
'pop3_server', 'pop3_port' (110), 'pop3_user', 'pop3_password', 'pop3_headers' (True).

The body is bytes, a bytearray or a readable stream (readinto) read to its end: it goes out in
pieces through the client's buffer, never whole. Text lines: a bare LF is sent as CR LF, and a
line that starts with '.' is dot-stuffed (RFC 5321 s4.5.2) wherever the SMTP DATA terminator
`<CRLF>.<CRLF>` is the end marker: the pure client and Multi-Tech #PUTMAIL (the host's terminator
is the mail's). Telit's #EMAILD ends the body with Ctrl-Z and its module speaks SMTP itself, so
there the body goes as it is (0x1A and 0x1B cannot be in it: MailError). Subject and addresses
are one ASCII line each.

Backends:
- 'py' (here): SMTP over the socket interface of any dialect (Quectel, Telit, Wavecom). No TLS.
- 'telit' (mail_telit): the module's client, IP Easy s11 (#EMAILD; #SMTPCL for one attachment).
- 'wavecom' (mail_wavecom): Multi-Tech #PUTMAIL, #SENDMAIL1/2/3 and POP3 #GETMAIL (MT Ch. 3).
What a backend cannot do is refused with Unsupported (sock.NetError), e.g. attachments outside
Telit, fetch() outside Multi-Tech, several recipients on Telit.

Errors are sock.NetError subclasses: MailError (a refusal by the module or a bad argument),
Rejected (the server said no: .code is its reply code, or the module's error code), and the
socket interface's TimedOut, Refused, Closed, NetDown. The task that runs these calls needs a
call depth of DEPTH (Scheduler.spawn(..., depth=DEPTH)).
"""
from modemkit.sched import Return
from modemkit.sock import NetError, Unsupported, EIO, EOPNOTSUPP

DEPTH = 10
EPROTO = 71

BACKENDS = {'py': 'modemkit.mail', 'telit': 'modemkit.mail_telit',
            'wavecom': 'modemkit.mail_wavecom'}


class MailError(NetError):
    """The mail could not be sent or fetched: a bad argument, a module refusal."""


class Rejected(MailError):
    """The server refused (code: its SMTP reply code, or the module's error code)."""

    def __init__(self, code, text):
        super(Rejected, self).__init__(EIO, text)   # MicroPython: no Exc.__init__(self)
        self.code = code


def client(modem, cfg, buf):
    """The mail client cfg names (see the module's docstring)."""
    if not isinstance(cfg, dict):
        cfg = {'backend': cfg}
    name = cfg.get('backend') or 'py'
    if name == 'native':
        name = modem.cfg.get('dialect', '?')
        if name == 'py' or name not in BACKENDS:
            raise Unsupported(EOPNOTSUPP, 'no native mail client on a %s module' % name)
    if name not in BACKENDS:
        raise MailError(EIO, 'mail backend %r: one of %s' % (name, ', '.join(sorted(BACKENDS))))
    return __import__(BACKENDS[name], None, None, ['Mail']).Mail(modem, cfg, buf)


def addresses(to, cc):
    """(to list, cc list), each address checked to be one ASCII line."""
    # a list or tuple of addresses, or one (str; unicode from a JSON config on 2.7)
    to = list(to) if isinstance(to, (list, tuple)) else [to] if to else []
    cc = list(cc) if isinstance(cc, (list, tuple)) else [cc] if cc else []
    if not to:
        raise MailError(EIO, 'no recipient')
    for a in to + cc:
        one_line(a, 'address')
        if '@' not in a or '<' in a or '>' in a or ' ' in a:
            raise MailError(EIO, 'bad address %r' % a)
    return to, cc


def one_line(text, what):
    for ch in text:
        if ord(ch) < 32 or ord(ch) > 126:
            raise MailError(EIO, '%s %r: printable ASCII on one line only' % (what, text))
    return text


class Body(object):
    """A body read in pieces: bytes or a readinto() stream, through `inb` (a bytearray)."""

    def __init__(self, body, inb):
        if isinstance(body, str):
            body = body.encode()
        self.b = body
        self.inb = inb
        self.off = 0
        self.stream = not isinstance(body, (bytes, bytearray, memoryview))

    def read(self):
        """The next piece into inb; its length (0 at the end)."""
        inb = self.inb
        if self.stream:
            return self.b.readinto(inb) or 0
        k = len(self.b) - self.off
        if k > len(inb):
            k = len(inb)
        if k:
            inb[0:k] = self.b[self.off:self.off + k]
        self.off += k
        return k


class Stuffer(object):
    """CR LF line ends and, with `dots`, dot-stuffing, across pieces. An output buffer of
    2 * len(piece) + 5 bytes always holds one piece and the end."""

    def __init__(self, dots):
        self.dots = dots
        self.bol = True           # at the start of a line
        self.cr = False           # the last byte was CR
        self.ctl = 0              # Ctrl-Z / ESC bytes seen (Telit's prompt ends on them)

    def run(self, src, n, out):
        k = 0
        for i in range(n):
            c = src[i]
            if c == 10 and not self.cr:
                out[k] = 13
                k += 1
            elif c == 46 and self.bol and self.dots:
                out[k] = 46
                k += 1
            elif c == 26 or c == 27:
                self.ctl += 1
            out[k] = c
            k += 1
            self.cr = c == 13
            self.bol = c == 10
        return k

    def end(self, out, k, dot):
        """Finish the last line (CR LF) and, with `dot`, add the '.' line."""
        if not self.bol:
            if not self.cr:
                out[k] = 13
                k += 1
            out[k] = 10
            k += 1
        if dot:
            out[k] = 46
            out[k + 1] = 13
            out[k + 2] = 10
            k += 3
        return k


def pieces(body, buf):
    """(Body, input bytearray, Stuffer-sized output) for a client buffer `buf`."""
    if len(buf) < 64:
        raise MailError(EIO, 'the mail buffer needs at least 64 bytes')
    return Body(body, bytearray((len(buf) - 5) // 2)), buf


def header(cfg, to, cc, subject):
    """The message header the pure client writes (RFC 5322 s3.6)."""
    sender = cfg.get('sender', '')
    name = cfg.get('name')
    h = 'From: %s<%s>\r\nTo: %s\r\n' % ('"%s" ' % one_line(name, 'name') if name else '',
                                         sender, ', '.join(to))
    if cc:
        h += 'Cc: %s\r\n' % ', '.join(cc)
    return h + 'Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n' % \
        one_line(subject, 'subject')


def b64(data):
    import binascii
    return binascii.b2a_base64(data).strip()


class Mail(object):
    """SMTP over one TCP connection of the socket interface per mail (RFC 5321): EHLO (HELO
    when refused), AUTH PLAIN (RFC 4954) when user and password are set, MAIL, RCPT, DATA."""

    def __init__(self, modem, cfg, buf):
        self.modem = modem
        self.cfg = cfg
        self.tmo = cfg.get('timeout_ms', 60000)
        self.buf = buf
        self.line = bytearray(cfg.get('line', 128))    # a longer reply line is cut
        self.rx = bytearray(64)
        self.rpos = self.rend = 0
        self.s = None
        self.progress = None          # progress(bytes of body sent)

    def fetch(self, sink):
        raise Unsupported(EOPNOTSUPP, 'no POP3 in the py mail client (Multi-Tech #GETMAIL has it)')
        yield

    def send(self, to, subject, body, cc=None, attach=None):
        """Send one mail; returns the number of body bytes read."""
        if attach is not None:
            raise Unsupported(EOPNOTSUPP, 'attachments: the telit backend (#SMTPCL) only')
        to, cc = addresses(to, cc)
        cfg = self.cfg
        sender = one_line(cfg.get('sender', ''), 'sender')
        domain = cfg.get('domain') or sender[sender.find('@') + 1:] or 'localhost'
        self.rpos = self.rend = 0
        self.s = yield self.modem.open(cfg['server'], cfg.get('port', 25), timeout_ms=self.tmo)
        try:
            yield self._reply(2, 'greeting')
            code = yield self._cmd('EHLO ' + domain, 0)
            if code // 100 != 2:
                yield self._cmd('HELO ' + domain, 2)
            if cfg.get('user') and cfg.get('password'):
                tok = b64(('\0%s\0%s' % (cfg['user'], cfg['password'])).encode())
                yield self._cmd('AUTH PLAIN ' + tok.decode(), 2)
            yield self._cmd('MAIL FROM:<%s>' % sender, 2)
            for a in to + cc:
                yield self._cmd('RCPT TO:<%s>' % a, 2)
            yield self._cmd('DATA', 3)
            yield self.s.send(header(cfg, to, cc, subject).encode(), self.tmo)
            n = yield self._body(body)
            yield self._reply(2, 'the message')
            try:
                yield self._cmd('QUIT', 0)
            except NetError:
                pass                  # the mail is accepted; a lost goodbye changes nothing
        except Exception as e:
            yield self._close()
            raise e                   # not a bare raise: 2.7 forgets it across the yield
        yield self._close()
        raise Return(n)

    def _body(self, body):
        src, out = pieces(body, self.buf)
        st = Stuffer(True)
        inb = src.inb
        n = 0
        while True:
            k = src.read()
            if not k:
                break
            n += k
            yield self.s.send(out, self.tmo, st.run(inb, k, out))
            if self.progress:
                self.progress(n)
        yield self.s.send(out, self.tmo, st.end(out, 0, True))
        raise Return(n)

    def _cmd(self, text, want):
        yield self.s.send((text + '\r\n').encode(), self.tmo)
        code = yield self._reply(want, text.split(' ')[0])
        raise Return(code)

    def _reply(self, want, what):
        """The reply's code (its last line's, RFC 5321 s4.2.1); want: its first digit, or 0."""
        ln = self.line
        while True:
            k = yield self._readline()
            code = 0
            for i in range(3 if k >= 3 else 0):
                d = ln[i] - 48
                if not 0 <= d <= 9:
                    code = -1
                    break
                code = code * 10 + d
            if k < 3 or code < 100:
                raise MailError(EPROTO, '%s: not an SMTP reply %r' % (what, bytes(ln[:k])))
            if k == 3 or ln[3] != 45:            # '-': more lines follow
                break
        if want and code // 100 != want:
            raise Rejected(code, '%s: %s' % (what, bytes(ln[:k]).decode()))
        raise Return(code)

    def _readline(self):
        ln = self.line
        k = 0
        rx = self.rx
        while True:
            if self.rpos == self.rend:
                n = yield self.s.recv_into(rx, self.tmo)
                if not n:
                    raise MailError(EPROTO, 'the server closed the connection')
                self.rpos = 0
                self.rend = n
            while self.rpos < self.rend:
                c = rx[self.rpos]
                self.rpos += 1
                if c == 10:
                    if k and ln[k - 1] == 13:
                        k -= 1
                    raise Return(k)
                if k < len(ln):
                    ln[k] = c
                    k += 1

    def _close(self):
        s = self.s
        self.s = None
        if s is not None:
            try:
                yield s.close()
            except NetError:
                pass
