"""FTP (RFC 959) in Python over the socket interface: one control and one data socket, passive
mode, binary type. For Quectel (no native FTP in QL) and any module whose native FTP is missing.

Control replies are read into a small line buffer (cfg 'line', 128 bytes): only each line's
code and the last line's text are kept, so a long banner or multi-line reply costs nothing more.
Uploads are checked with SIZE and, where the server has it, XCRC (the CRC-32 of the file).
"""
from modemkit import ftp
from modemkit.ftp import FtpError, LoginRefused, NoSuchFile, Broken, EIO, EACCES, EPIPE, ENOENT
from modemkit.port import const
from modemkit.sched import Return

_CTL_RING = const(128)
_SMALL_RING = const(64)


class Ftp(ftp.Client):
    def __init__(self, modem, cfg, buf):
        ftp.Client.__init__(self, modem, cfg, buf)
        self.ctl = None
        self.data = None
        self.line = bytearray(cfg.get('line', 128))
        self.ln = 0              # bytes in line
        self.ll = 0              # the last reply's last line is line[:ll]
        self.xcrc = ftp.crc32 is not None   # False once the server has said it has no XCRC

    # -- the control connection ------------------------------------------------------------
    def _ask(self, text, kind=0):
        """Send a command (None: just read), return the reply's code; with kind, a reply of
        another kind (1 preliminary, 2 done, 3 more needed) raises its typed error."""
        if text is not None:
            yield self.ctl.send(bytearray((text + '\r\n').encode()), self.tmo)
        ln = self.line
        _shift(ln, self.ll, self.ln)
        self.ln -= self.ll
        self.ll = 0
        first = 0
        while True:
            i = ln.find(b'\n', 0, self.ln)
            if i < 0:
                if self.ln == len(ln):
                    self.ln = 4          # an overlong line: its code is all we need
                k = len(ln) - self.ln
                n = yield self.ctl.recv_into(self.buf, self.tmo, min(k, len(self.buf)))
                if not n:
                    raise Broken(EPIPE, 'the server closed the control connection')
                buf = self.buf
                for j in range(n):
                    ln[self.ln + j] = buf[j]
                self.ln += n
                continue
            code = _rnum(ln, 3, 10)[0] if i >= 3 else 0
            # the reply ends on a line "<code> ", a multi-line one began with "<code>-" (s4.2)
            if code >= 100 and (i == 3 or ln[3] != 45) and (first == 0 or code == first):
                self.ll = i + 1
                break
            if not first and code >= 100:
                first = code
            _shift(ln, i + 1, self.ln)
            self.ln -= i + 1
        if kind and code // 100 != kind:
            raise self._refused(code, text)
        raise Return(code)

    def _refused(self, code, text):
        why = '%s: %s' % (text, self._text())
        if code == 550:
            return NoSuchFile(ENOENT, why)
        if code == 530 or code == 332:
            return LoginRefused(EACCES, why)
        if code == 426 or code == 451:
            return Broken(EPIPE, why)
        return FtpError(EIO, why)

    def _open(self):
        if self.ctl is not None:
            return
        self.ln = self.ll = 0
        # the control connection brings short lines only: a small receive ring
        self.ctl = yield self.modem.open(self.host, self.port, timeout_ms=self.tmo,
                                         rx_size=_CTL_RING)
        yield self._ask(None, 2)
        code = yield self._ask('USER ' + self.user)
        if code == 331:
            code = yield self._ask('PASS ' + self.password)
        if code // 100 != 2:
            raise LoginRefused(EACCES, 'login as %s: %s' % (self.user, self._text()))
        yield self._ask('TYPE I', 2)

    def _text(self):
        return _ascii(self.line, self.ll)

    def _size(self, name):
        yield self._ask('SIZE ' + name, 2)
        raise Return(_rnum(self.line, self.ll, 10)[0])

    def _dele(self, name):
        yield self._ask('DELE ' + name, 2)

    # -- transfers -------------------------------------------------------------------------
    def _start(self, verb, name, rest):
        yield self._ask('PASV', 2)
        # 227 ... (h1,h2,h3,h4,p1,p2): the port only; the address is the control
        # connection's, since a server behind NAT often names one nobody can reach
        p2, i = _rnum(self.line, self.ll, 10)
        p1, i = _rnum(self.line, i, 10)
        port = p1 * 256 + p2
        # a transfer goes one way: the other direction's ring stays small
        up = verb in ('STOR', 'APPE')
        self.data = yield self.modem.open(self.host, port, timeout_ms=self.tmo,
                                          rx_size=_SMALL_RING if up else None,
                                          tx_size=None if up else _SMALL_RING)
        if rest:
            yield self._ask('REST %d' % rest, 3)
        yield self._ask(verb + ' ' + name, 1)

    def _write(self, buf, n, last):
        yield self.data.send(buf, self.tmo, n)

    def _read(self, buf):
        n = yield self.data.recv_into(buf, self.tmo)
        raise Return(n)

    def _finish(self):
        d = self.data
        self.data = None
        yield d.close()          # an upload's end of file
        yield self._ask(None, 2)

    def _remote(self, name, whole):
        size = yield self._size(name)
        crc = None
        if whole and self.xcrc:
            code = yield self._ask('XCRC ' + name)
            if code == 250:
                crc = _rnum(self.line, self.ll, 16)[0]
            elif code // 100 == 5:
                self.xcrc = False
        raise Return((size, crc))

    def _drop(self):
        for s in (self.data, self.ctl):
            if s is not None:
                try:
                    yield s.close()
                except Exception:
                    pass
        self.data = self.ctl = None

    def _quit(self):
        if self.ctl is not None:
            try:
                yield self._ask('QUIT')
            except Exception:
                pass
            yield self._drop()


def _ascii(b, n):
    # RFC 959 replies are ASCII, but servers send other bytes (a localised message in
    # latin-1): decode() would raise UnicodeError on them; control bytes become spaces
    out = bytearray(n)
    for i in range(n):
        c = b[i]
        out[i] = 32 if c < 32 else 63 if c > 126 else c
    return bytes(out).decode().strip()


def _shift(b, k, n):
    # drop b[:k] from the n bytes held
    for j in range(k, n):
        b[j - k] = b[j]


def _rnum(b, i, base):
    """(the number that ends before b[i], skipping what is not a digit; where it starts)"""
    while i > 0 and _digit(b[i - 1], base) < 0:
        i -= 1
    v = 0
    s = 1
    while i > 0:
        d = _digit(b[i - 1], base)
        if d < 0:
            break
        v += d * s
        s *= base
        i -= 1
    return v, i


def _digit(c, base):
    c |= 32
    d = c - 48 if 48 <= c <= 57 else c - 87 if 97 <= c <= 102 else 99
    return d if d < base else -1
