"""FTP through the Wavecom IP stack's one-shot #FTPPUT / #FTPGET (MT Chapter 4, GP s3; digest
C.3-C.4.5): the parameter registers name the server, the login and the file, then each command
connects, transfers in the DLE-escaped data mode and disconnects by itself.

What the stack offers decides the rest: no size, delete, list, append or restart commands. So
an upload is verified by reading the file back (its size and CRC-32 against the local file's),
a resumed upload starts again from byte 0 (RESUME = False), and a resumed download fetches the
file again and throws away the bytes the caller already has. Delete and list raise Unsupported.
While a transfer runs the module takes no AT command and no socket (one session at a time).

The data mode's only flow control is RTS/CTS (C.2, AT+IFC; MT App. B). With board option
`rtscts` (a UART that does it, or a pty) a download is not read from the UART while `buf` has no
room for one more chunk of it (wavecom._Rts), so the module holds the rest, and an upload's
writes wait while the module holds CTS off. Without it, download bytes that find `buf` full are
lost (Broken), and a host that writes faster than the module sends loses bytes (the read-back
then refuses the upload): cfg 'rate' (bytes/s) paces uploads below what the link carries.
"""
from modemkit import ftp
from modemkit.ftp import LoginRefused, NoSuchFile, Broken, EACCES, EPIPE, ENOENT
from modemkit.sched import Return
from modemkit.sock import Socket, NetError, Unsupported, TCP, EOPNOTSUPP

_ETX = b'\x03'
_DLE = b'\x10'


class _Crc(object):
    """A download's sink that keeps only the CRC-32 and the length."""

    def __init__(self):
        self.crc = 0
        self.n = 0

    def write(self, b):
        self.crc = ftp.crc32(b, self.crc)
        self.n += len(b)


class Ftp(ftp.Client):
    RESUME = False
    SIZE = False

    def __init__(self, modem, cfg, buf):
        ftp.Client.__init__(self, modem, cfg, buf)
        self.s = None            # the session: errors and the end of the stream land here
        self.fill = 0            # downloaded bytes waiting in buf
        self.skip = 0            # bytes of a resumed download the caller has already
        self.dle = False
        self.rx_fn = self._rx    # bound once: the channel keeps it for the stream
        self.room_fn = self._room   # and the driver asks it for the room left in buf
        self.rate = cfg.get('rate')

    def _open(self):
        if False:
            yield

    def _size(self, name):
        raise Unsupported(EOPNOTSUPP, 'no size in the Wavecom FTP commands (C.4.5)')
        yield

    def _dele(self, name):
        raise Unsupported(EOPNOTSUPP, 'no delete in the Wavecom FTP commands (C.4.5)')
        yield

    def _start(self, verb, name, rest):
        if verb == 'NLST':
            raise Unsupported(EOPNOTSUPP, 'no list in the Wavecom FTP commands (C.4.5)')
        m = self.modem
        yield m._ready(self.tmo, 'ftp')
        up = verb != 'RETR'
        d = 'PUT' if up else 'GET'
        try:
            # C.4.5: passive (FTPMODE=1), binary (FTPTYPE="I": C.3, ETX must not be cut)
            for k, v in (('SERV', '"%s"' % self.host), ('PORT', '%d' % self.port),
                         ('UN', '"%s"' % self.user), ('PW', '"%s"' % self.password),
                         ('MODE', '1'), ('TYPE', '"I"'), (d + 'PATH', '"."'),
                         (d + 'FILENAME', '"%s"' % name)):
                yield m._param('#FTP' + k, v)
            self.s = m.sess = Socket(m, TCP, 0)
            self.fill = 0
            self.skip = rest
            self.dle = False
            m.room = self.room_fn
            m.flow = True
            # the banner (OK_Info_DataBegin / _WaitingForData) opens the data mode; a refused
            # login or file ends with #CME ERROR before it
            yield m._do('AT#FTP' + d, self.tmo + 30000, self.rx_fn)
        except NetError as e:
            self._end()
            raise _error(e, True)

    def _rx(self, buf, start, end):
        # in the reader task: un-escape into self.buf (C.3), never block. The caller's
        # task takes what is there and writes it out without yielding in between.
        s = self.s
        b = self.buf
        i = start
        while i < end:
            c = buf[i]
            i += 1
            if not self.dle:
                if c == 3:                   # a bare ETX: the end of the file
                    self.modem.flow = False
                    s.peer_closed()
                    return i - start
                if c == 16:
                    self.dle = True
                    continue
            self.dle = False
            if self.skip:
                self.skip -= 1
            elif self.fill < len(b):
                b[self.fill] = c
                self.fill += 1
            else:
                s.dropped += 1           # no room and no RTS/CTS (board option rtscts): lost
        s.ev.set()
        return None

    def _room(self):
        return len(self.buf) - self.fill

    def _read(self, buf):
        s = self.s
        while not self.fill:
            if s.err is not None:
                raise _error(s.err, False)
            if s.state >= 2:
                raise Return(0)
            s.ev.clear()
            if not (yield s.ev.wait(self.tmo)):
                raise ftp.Timeout(110, 'FTPGET: no data for %d ms' % self.tmo)
        n = self.fill
        self.fill = 0
        if s.dropped:
            raise Broken(EPIPE, 'FTPGET: %d bytes lost (no flow control in data mode)' %
                         s.dropped)
        raise Return(n)

    def _write(self, buf, n, last):
        yield self.modem.send(self.s, buf, n, self.tmo)
        if self.rate:
            yield self.modem.sched.sleep_ms(n * 1000 // self.rate)

    def _finish(self):
        m = self.modem
        try:
            if m.flow and self.s.state < 2:
                # an upload ends with a bare ETX (echoed, C.3); then OK or #CME ERROR
                yield m._do(_ETX, self.tmo + 30000)
            else:
                # a download's ETX came; the OK or #CME ERROR after it may have passed
                # already (it failed the session) or not: a plain AT waits for it
                yield m._do('AT', 5000)
            if self.s.err is not None:
                raise self.s.err
        except NetError as e:
            raise _error(e, False)
        finally:
            self._end()

    def _end(self):
        m = self.modem
        if m.flow:
            m.chan.read_raw(0, None)
        if m.sess is self.s:
            m.sess = None
        m.flow = False
        m.hold = None

    def _remote(self, name, whole):
        # no size or checksum command: read the file back
        sink = _Crc()
        p = self.progress
        self.progress = None
        try:
            yield self._get('RETR', name, sink, 0)
        finally:
            self.progress = p
        raise Return((sink.n, sink.crc & 0xffffffff if whole else None))

    def _drop(self):
        m = self.modem
        if self.s is not None and m.sess is self.s:
            try:
                yield self._finish()
            except Exception:
                pass
        self._end()
        # payload written after the module left the data mode (a transfer it ended with
        # ETX + #CME ERROR) sits in its command line: end that line, let its ERROR pass,
        # and see the module answer again
        m.chan.uart.write(b'\r')
        for _ in range(3):
            yield m.sched.sleep_ms(200)
            try:
                yield m._do('AT', 2000)
                break
            except Exception:
                pass

    def _quit(self):
        if False:
            yield


def _error(e, before):
    """The module's #CME ERROR code (MT Chapter 9) as a typed error: 38080/38081 user name or
    password rejected; 38024 data retrieve attempt failed, before the data mode (the server
    refused RETR) or in it (the data connection broke); 37952/37966 data connection closed,
    38017 data send attempt failed."""
    t = str(e)
    if t.find('3808') >= 0:
        return LoginRefused(EACCES, t)
    if t.find('38024') >= 0 and before:
        return NoSuchFile(ENOENT, t)
    for code in ('38024', '37952', '37966', '38017'):
        if t.find(code) >= 0:
            return Broken(EPIPE, t)
    return e
