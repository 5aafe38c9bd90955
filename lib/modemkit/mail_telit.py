"""The mail interface through Telit IP Easy's own SMTP client (T-IPE s11).

    m = mail.client(modem, {'backend': 'telit', 'server': 'smtp.example.test', 'port': 587,
                            'sender': 'logger7@example.test', 'user': 'u', 'password': 'p'}, buf)
    yield m.send('ops@example.test', 'daily log', open('log7.csv', 'rb'))
    yield m.send('ops@example.test', 'photo', b'see attached\n', attach=('cam.jpg', f))

#SMTPCFG (ssl 0, the port; s11.1-s11.3), #ESMTP/#EADDR/#EUSER/#EPASSW (s11.6.1) are set when
they change; then #EMAILD="<to>","<subject>" (s11.4): the '>' prompt, the body, Ctrl-Z; OK once
the module has sent it. With attach=(filename, bytes or stream), #SMTPCL (s11.5, s11.6.2) with
<att> 2 (binary, sent base64 by the module): the body as for #EMAILD, then CONNECT, the
attachment in ONLINE mode, the +++ escape (a guard time of silence on each side, ATS12), and
NO CARRIER. The module writes the header and speaks SMTP itself: the body goes as it is (LF
as CR LF), no dot-stuffing here.

What the module cannot do, refused: several To addresses or a Cc (<da> is one address); a body
with 0x1A or 0x1B (they end the prompt: MailError, the mail is cancelled with ESC); attachments
on Platform Version ID 25, 30, 37 (s11.5); fetch() (no POP3 in IP Easy: s11.6.4 shows it over
a socket: the py backend's territory). cfg 'tls': True sets #SMTPCFG <ssl_enable>: the module
speaks TLS to the server (the port: the server's SMTPS port) and checks its certificate. One SMTP session per module across its AT ports (s11): another port's mail fails.
What the module says after the +++ is NO CARRIER whatever the server did (s11.6.2), so an
attachment mail is "handed to the module", not confirmed by the server.
"""
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT
from modemkit.mail import MailError, Rejected, Stuffer, addresses, one_line, pieces, Body
from modemkit.sched import Event, Return
from modemkit.sock import TimedOut, Unsupported, EIO, ETIMEDOUT, EOPNOTSUPP

_CTRLZ = b'\x1a'
_GUARD_MS = 1200       # ATS12 default 50 (1 s), s6.2.1: silence before and after +++
_NO_SMTPCL = (25, 30, 37)


class Mail(object):
    def __init__(self, modem, cfg, buf):
        self.modem = modem
        self.cfg = cfg
        self.tmo = cfg.get('timeout_ms', 200000)
        self.buf = buf
        self.cfgd = None
        self.ev = Event(modem.sched)
        self.nc = bytearray(12)
        self.nnc = 0
        self.seen_fn = self._seen_nc      # bound once: the channel keeps it for the stream

    def fetch(self, sink):
        raise Unsupported(EOPNOTSUPP, 'no POP3 in IP Easy (s11.6.4 reads mail over a socket)')
        yield

    def _at(self, text, tmo=10000, prompt=0):
        c = Cmd(text, timeout_ms=tmo)
        if prompt:
            c.prompt = prompt
        r = yield self.modem.chan.send(c)
        raise Return(r)

    def _config(self):
        c = self.cfg
        want = (c.get('tls') and 1 or 0, c.get('port', 25), c['server'],
                one_line(c.get('sender', ''), 'sender'), c.get('user', ''),
                c.get('password', ''))
        if self.cfgd == want:
            return
        cmds = ['AT#SMTPCFG=%d,%d' % (want[0], want[1]), 'AT#ESMTP="%s"' % want[2],
                'AT#EADDR="%s"' % want[3], 'AT#EUSER="%s"' % want[4],
                'AT#EPASSW="%s"' % want[5]]
        for text in cmds:
            r = yield self._at(text)
            if r.status != OK:
                raise MailError(EIO, '%s: %s' % (text.split('=')[0], r.error()))
        self.cfgd = want

    def send(self, to, subject, body, cc=None, attach=None):
        """Send one mail; returns the number of body bytes read."""
        to, cc = addresses(to, cc)
        if len(to) > 1 or cc:
            raise Unsupported(EOPNOTSUPP, '#EMAILD takes one recipient and no Cc (s11.4)')
        one_line(subject, 'subject')
        if '"' in subject:
            raise MailError(EIO, 'no double quote in a subject (an AT string)')
        m = self.modem
        if attach is not None and getattr(m, 'plat', 0) in _NO_SMTPCL:
            raise Unsupported(EOPNOTSUPP, 'no #SMTPCL on Platform Version ID %d (s11.5)' % m.plat)
        yield m.wait_ready(self.tmo)
        yield self._config()
        if attach is None:
            text = 'AT#EMAILD="%s","%s"' % (to[0], subject)
        else:
            name = one_line(attach[0], 'file name')
            text = 'AT#SMTPCL="%s","%s",2,"%s"' % (to[0], subject, name)
        c = Cmd(text, timeout_ms=self.tmo, prompt=PROMPT_GT)
        if attach is not None:
            c.stream = self.seen_fn            # after CONNECT: watch for NO CARRIER
            self.nnc = 0
            self.ev.clear()
        ch = m.chan
        r = yield ch.send(c)
        if r.status != PROMPT:
            raise self._refused(text, r)
        n = yield self._body(body)
        r = yield ch.send_data(_CTRLZ)
        if r.status != OK:
            ch.read_raw(0, None)
            raise self._refused(text, r)
        if attach is not None:
            yield self._attachment(attach[1])
        raise Return(n)

    def _refused(self, text, r):
        why = r.error()
        if why.find('onnected') >= 0:
            return MailError(EIO, '%s: another SMTP session is open on the module (one per '
                             'module, IP Easy s11)' % text[:10])
        return Rejected(r.code, '%s: %s' % (text[:10], why))

    def _body(self, body):
        ch = self.modem.chan
        src, out = pieces(body, self.buf)
        st = Stuffer(False)
        n = 0
        while True:
            k = src.read()
            if not k:
                k = st.end(out, 0, False)
                if k:
                    ch.uart.write(out, k)
                break
            n += k
            k = st.run(src.inb, k, out)
            if st.ctl:
                yield ch.send_data(None, cancel=True)
                raise MailError(EIO, 'a Ctrl-Z or ESC byte in the body (they end the prompt)')
            ch.uart.write(out, k)      # the prompt stays open until Ctrl-Z
            yield
        raise Return(n)

    def _attachment(self, data):
        m = self.modem
        uart = m.chan.uart
        src = Body(data, self.buf)
        while not self.ev.is_set:
            k = src.read()
            if not k:
                break
            uart.write(self.buf, k)
            yield
        # s11.6.2: "+++ <- type in the escape sequence to close the connection"
        yield m.sched.sleep_ms(_GUARD_MS)
        early = self.ev.is_set        # the module closed the connection before the +++
        if not early:
            uart.write(b'+++')
        if not (yield self.ev.wait(_GUARD_MS + self.tmo)):
            m.chan.read_raw(0, None)
            raise TimedOut(ETIMEDOUT, 'SMTPCL: no NO CARRIER after +++')
        if early:
            raise MailError(EIO, 'SMTPCL: the module ended the attachment (%s) before it was '
                            'all sent' % bytes(self.nc[:self.nnc]).decode())

    def _seen_nc(self, buf, start, end):
        # in the AT reader: ONLINE mode sends nothing to the host; its end is NO CARRIER
        nc = self.nc
        for i in range(start, end):
            c = buf[i]
            if c == 10 or c == 13:
                if self.nnc:
                    self.ev.set()
                    return i + 1 - start
            elif self.nnc < len(nc):
                nc[self.nnc] = c
                self.nnc += 1
        return None
