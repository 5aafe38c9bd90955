"""The mail interface through the Multi-Tech Wavecom stack (MT Chapter 3; digest C.3, C.4.6):
the module's own SMTP client (#PUTMAIL, #SENDMAIL1/2/3) and POP3 client (#GETMAIL), driven by
the mail parameter registers (#SMTPSERV, #SENDERADDR, #REC1...). GenPro has no mail (C.1).

    m = mail.client(modem, {'backend': 'wavecom', 'server': 'smtp.example.test', ...}, buf)

- send(): the registers, then AT#PUTMAIL: after OK_Info_WaitingForData every byte is the body
  (not echoed) until <CR><LF>.<CR><LF>, which the module echoes, then OK or #CME ERROR. The
  terminator is the SMTP one, so the body goes dot-stuffed (mail.Stuffer). The module writes the
  header: one To address (#REC1) and one Cc (#CCREC1) here (several need #REC1ADD's text entry).
- predefined(slot, to, subject, body): #RECi/#SUBJi/#BODYi (body <= 120 characters, MT #BODY1)
  then AT#SENDMAILi; to/subject/body None keep what the module holds.
- fetch(sink): AT#GETMAIL; OK_Info_Mail, the first message as the POP3 server sent it (dot-
  stuffed; un-stuffed here into sink, header included unless cfg 'pop3_headers' is False),
  <CR><LF>.<CR><LF>, OK; the module then deletes it from the server. 0 for OK_Info_NoMail.
  The stream is handed to sink.write() from the AT reader as it comes (the module cannot be
  paused, MT App. B "It's not possible for host to exit DATA mode"): a sink must not block.
While a mail runs the module takes no other command (one process at a time, MT Chapter 3).
The body's only flow control is RTS/CTS (C.2, board option `rtscts`): without it, cfg 'rate'
(bytes/s) paces the body below what the module forwards, as for ftp_wavecom.
Error codes (MT Chapter 9) raise Rejected with .code: 38028 sender, 38029/38030 recipient/CC,
38031 body refused, 38080/38081 login, 37964 no SMTP answer in 3 minutes; 38027 (DNS) and the
stack's other codes raise MailError.
"""
from modemkit.at import Cmd, OK
from modemkit.mail import MailError, Rejected, Stuffer, addresses, one_line, pieces
from modemkit.sched import Event, Return
from modemkit.sock import TimedOut, Unsupported, EIO, ETIMEDOUT, EOPNOTSUPP

_REJECT = (37964, 38025, 38026, 38028, 38029, 38030, 38031, 38080, 38081)
_TERM = bytearray(b'\r\n.\r\n')


class Mail(object):
    def __init__(self, modem, cfg, buf):
        if modem.cfg.get('variant') == 'genpro':
            raise Unsupported(EOPNOTSUPP, 'the GenPro stack has no mail commands (digest C.1)')
        self.modem = modem
        self.cfg = cfg
        self.tmo = cfg.get('timeout_ms', 200000)      # MT: 3 min without an SMTP answer
        self.buf = buf
        self.ev = Event(modem.sched)
        self.fin = bytearray(40)      # the final line after the data mode
        self.nfin = 0
        self.st = 0                   # the stream consumers' state
        self.sink = None
        self.got = 0
        self.out = None
        self.nout = 0
        self.take_fn = self._take    # bound once: the channel keeps them for the stream
        self.end_fn = self._end_line
        self.rate = cfg.get('rate')        # bytes/s: see the module docstring

    # -- the registers ---------------------------------------------------------------------
    def _smtp_regs(self):
        c = self.cfg
        sender = one_line(c.get('sender', ''), 'sender')
        m = self.modem
        for k, v in (('#SMTPSERV', '"%s"' % c['server']), ('#SMTPPORT', '%d' % c.get('port', 25)),
                     ('#SMTPUN', '"%s"' % c.get('user', '')),
                     ('#SMTPPW', '"%s"' % c.get('password', '')),
                     ('#DOMAIN', '"%s"' % (c.get('domain') or sender[sender.find('@') + 1:])),
                     ('#SENDERNAME', '"%s"' % one_line(c.get('name', ''), 'name')),
                     ('#SENDERADDR', '"%s"' % sender)):
            yield m._param(k, v)

    def _mail_regs(self, slot, to, subject, cc):
        to, cc = addresses(to, cc)
        if len(to) > 1 or len(cc) > 1:
            raise Unsupported(EOPNOTSUPP, 'one To and one Cc address (#REC%d, #CCREC%d)' % (
                slot, slot))
        m = self.modem
        yield m._param('#REC%d' % slot, '"%s"' % to[0])
        yield m._param('#CCREC%d' % slot, '"%s"' % (cc[0] if cc else ''))
        yield m._param('#SUBJ%d' % slot, '"%s"' % one_line(subject, 'subject').replace('"', "'"))

    def _error(self, what, text, code):
        if code in _REJECT:
            return Rejected(code, '%s: %s' % (what, text))
        return MailError(EIO, '%s: %s' % (what, text))

    # -- sending ---------------------------------------------------------------------------
    def send(self, to, subject, body, cc=None, attach=None):
        """Send one mail through #PUTMAIL; returns the number of body bytes read."""
        if attach is not None:
            raise Unsupported(EOPNOTSUPP, 'no attachments through #PUTMAIL (MT Chapter 3)')
        m = self.modem
        yield m._ready(self.tmo, 'mail')
        try:
            yield self._smtp_regs()
            yield self._mail_regs(1, to, subject, cc)
            n = yield self._putmail(body)
        finally:
            m.hold = None
        raise Return(n)

    def _putmail(self, body):
        m = self.modem
        ch = m.chan
        src, out = pieces(body, self.buf)
        st = Stuffer(True)
        self.st = 0
        self.nfin = 0
        self.ev.clear()
        c = Cmd('AT#PUTMAIL', timeout_ms=self.tmo)
        c.stream = self.end_fn              # what follows OK_Info_WaitingForData
        r = yield ch.send(c)
        if r.status != OK:
            raise self._error('PUTMAIL', r.error(), r.code)
        n = 0
        uart = ch.uart
        while self.st < 2:
            k = src.read()
            if not k:
                uart.write(out, st.end(out, 0, True))
                break
            n += k
            k = st.run(src.inb, k, out)
            uart.write(out, k)
            if self.rate:
                yield m.sched.sleep_ms(k * 1000 // self.rate)
            yield                          # a module error ends the data mode: see it
        yield self._finished('PUTMAIL')
        raise Return(n)

    def _finished(self, what):
        if not (yield self.ev.wait(self.tmo)):
            self.modem.chan.read_raw(0, None)
            raise TimedOut(ETIMEDOUT, '%s: no answer in %d ms' % (what, self.tmo))
        fin = self.fin
        text = bytes(fin[:self.nfin]).decode()
        if text != 'OK':
            code = -1
            i = text.find(':')
            if i > 0:
                try:
                    code = int(text[i + 1:].strip())
                except ValueError:
                    pass
            raise self._error(what, text, code)

    def _end_line(self, buf, start, end):
        # in the AT reader: after the data mode, the final line (OK / #CME ERROR: n); the
        # echoed '.' of the terminator and empty lines are skipped
        fin = self.fin
        for i in range(start, end):
            c = buf[i]
            if c == 10 or c == 13:
                if self.nfin and not (self.nfin == 1 and fin[0] == 46):
                    self.st = 2
                    self.ev.set()
                    return i + 1 - start
                self.nfin = 0
            elif self.nfin < len(fin):
                fin[self.nfin] = c
                self.nfin += 1
        return None

    def predefined(self, slot, to=None, subject=None, body=None, cc=None):
        """Send pre-defined mail `slot` (1-3) with #SENDMAILi, after setting what is given."""
        if slot not in (1, 2, 3):
            raise MailError(EIO, 'slot %r: 1, 2 or 3' % slot)
        m = self.modem
        yield m._ready(self.tmo, 'mail')
        try:
            yield self._smtp_regs()
            if to is not None:
                yield self._mail_regs(slot, to, subject or '', cc)
            if body is not None:
                if len(body) > 120 or '\x1a' in body or '\x1b' in body:
                    raise MailError(EIO, 'a #BODY%d text: 120 characters, no Ctrl-Z' % slot)
                # MT #BODY1: "entered after the AT#BODY1<CR> command ... followed [by] 1A"
                r = yield m.chan.send(Cmd('AT#BODY%d\r%s\x1a' % (slot, body), timeout_ms=10000))
                if r.status != OK:
                    raise self._error('BODY%d' % slot, r.error(), r.code)
            r = yield m.chan.send(Cmd('AT#SENDMAIL%d' % slot, timeout_ms=self.tmo))
            if r.status != OK:
                raise self._error('SENDMAIL%d' % slot, r.error(), r.code)
        finally:
            m.hold = None

    # -- fetching --------------------------------------------------------------------------
    def fetch(self, sink):
        """The first mail of the POP3 box into sink (write()); its length, 0 when none."""
        c = self.cfg
        m = self.modem
        yield m._ready(self.tmo, 'mail')
        try:
            for k, v in (('#POP3SERV', '"%s"' % c['pop3_server']),
                         ('#POP3PORT', '%d' % c.get('pop3_port', 110)),
                         ('#POP3UN', '"%s"' % c.get('pop3_user', '')),
                         ('#POP3PW', '"%s"' % c.get('pop3_password', '')),
                         ('#POP3HEADERMODE', '1' if c.get('pop3_headers', True) else '0')):
                yield m._param(k, v)
            self.sink = sink
            self.got = 0
            self.out = self.buf
            self.nout = 0
            self.st = 1                    # the stream starts a line
            self.nfin = 0
            self.ev.clear()
            cmd = Cmd('AT#GETMAIL', timeout_ms=self.tmo)
            cmd.stream = self.take_fn
            r = yield m.chan.send(cmd)
            if r.status != OK:
                raise self._error('GETMAIL', r.error(), r.code)
            if r.final()[8:9] in (b'N', b'n'):      # OK_Info_NoMail: no stream follows
                m.chan.read_raw(0, None)
                raise Return(0)
            yield self._finished('GETMAIL')
        finally:
            m.hold = None
        raise Return(self.got)

    def _take(self, buf, start, end):
        # in the AT reader: the mail (POP3 dot-stuffing undone, RFC 1939 s3) until CRLF.CRLF,
        # then the final line. States: 0 in a line, 1 line start, 2 '.' at a line start,
        # 3 '.' CR at a line start; then _end_line's.
        i = start
        while i < end:
            st = self.st
            if st >= 4:
                used = self._end_line(buf, i, end)
                if used is None:
                    return None
                self.st = 5
                return i + used - start
            c = buf[i]
            i += 1
            if st == 2:
                if c == 13:
                    self.st = 3
                    continue
                self.st = 0                 # the first '.' goes: '..' -> '.', '.x' -> 'x'
            elif st == 3:
                if c == 10:
                    self.st = 4             # the end: a final line follows
                    self._flush()
                    continue
                self._put(46)
                self._put(13)
                self.st = 0
            elif st == 1 and c == 46:
                self.st = 2
                continue
            else:
                self.st = 1 if c == 10 else 0
            self._put(c)
            if c == 10:
                self.st = 1
        return None

    def _put(self, c):
        self.out[self.nout] = c
        self.nout += 1
        if self.nout == len(self.out):
            self._flush()

    def _flush(self):
        if self.nout:
            out = self.out
            self.sink.write(out if self.nout == len(out) else memoryview(out)[:self.nout])
            self.got += self.nout
            self.nout = 0
