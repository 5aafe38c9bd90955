"""FTP in bounded memory: one interface, three backends, streaming through the caller's buffer.

    from modemkit import ftp
    f = ftp.client(modem, {'host': 'ftp.example', 'user': 'u', 'password': 'p'}, bytearray(1024))
    size = yield f.put('log7.csv', open('log7.csv', 'rb'))          # verified before it returns
    size = yield f.put('log7.csv', open('log7.csv', 'rb'), None)    # resume a broken upload
    yield f.get('fw.bin', open('fw.bin', 'ab'), offset)              # resume a broken download
    n = yield f.size('fw.bin'); yield f.delete('log7.csv'); yield f.list(open('ls', 'wb'))
    yield f.close()

A 100 MB file needs no more heap than a 1 KB one: file bytes only ever pass through `buf`.
Backends (imported only when chosen; board config "ftp": {"backend": ...}, by default the
dialect's): ftp_py (RFC 959 over two sockets of the socket interface: Quectel, and any module
without native FTP), ftp_telit (IP Easy s12 #FTP...), ftp_wavecom (#FTPPUT/#FTPGET).

Errors: LoginRefused, NoSuchFile, Broken (the transfer stopped early or did not verify: call
again with offset=None to resume), Timeout (sock.TimedOut), FtpError for other refusals, and
the socket interface's NetDown/Closed. Every one is a sock.NetError, so one retry path catches
them; only LoginRefused and NoSuchFile are worth not retrying.

The task that runs these calls needs a call depth of DEPTH (Scheduler.spawn(..., depth=DEPTH)).
`progress(done, total)`, if set, is called after each chunk (total -1 when unknown).
"""
from modemkit.sched import Return
from modemkit.sock import NetError, TimedOut as Timeout  # noqa: F401  (the interface's Timeout)

DEPTH = 10
ENOENT = 2
EIO = 5
EACCES = 13
EPIPE = 32

try:
    from binascii import crc32
except ImportError:          # no checksums then: sizes still verify every upload
    crc32 = None


class FtpError(NetError):
    """The server (or the module) refused a request; its words are in the message."""


class LoginRefused(FtpError):
    pass


class NoSuchFile(FtpError):
    pass


class Broken(FtpError):
    """The transfer ended early or the server's copy does not match: resume it."""


def part(buf, n):
    return buf if n == len(buf) else memoryview(buf)[:n]


# full module names as literals: the Telit bundler rewrites them to its flat file names
BACKENDS = {'quectel': 'modemkit.ftp_py', 'telit': 'modemkit.ftp_telit',
            'wavecom': 'modemkit.ftp_wavecom', 'py': 'modemkit.ftp_py'}


def client(modem, cfg, buf):
    """The backend named by cfg['backend'] (py, telit, wavecom), else the modem's dialect's."""
    name = BACKENDS[cfg.get('backend') or modem.cfg.get('dialect', 'py')]
    return __import__(name, None, None, ['Ftp']).Ftp(modem, cfg, buf)


class Client(object):
    """What every backend shares: resume, streaming, verification. A backend provides
    _open() (log in if needed), _size(name), _start(verb, name, rest), _write(buf, n, last),
    _read(buf), _finish(), _remote(name, whole) -> (size, crc or None), _dele(name), _drop()
    (forget the session after an error) and _quit()."""
    RESUME = True            # the backend can append (upload resume) and restart downloads
    SIZE = True              # ... and ask a file's size (downloads are checked against it)

    def __init__(self, modem, cfg, buf):
        self.modem = modem
        self.host = cfg['host']
        self.port = cfg.get('port', 21)
        self.user = cfg.get('user', 'anonymous')
        self.password = cfg.get('password', 'modemkit@')
        self.tmo = cfg.get('timeout_ms', 30000)
        self.buf = buf
        self.progress = None
        self.left = -1               # bytes a download still expects (-1: unknown)

    def put(self, name, src, offset=0, append=False):
        """Upload src (a file open for reading) as `name`, starting at byte `offset` of src
        because the server already holds the bytes before it (None: ask the server how many it
        has). append=True adds src at the end of the remote file. Returns the remote size, once
        it (and, where the server computes one, its CRC-32) matches."""
        return self._do(self._put(name, src, offset, append))

    def get(self, name, dst, offset=0):
        """Download `name` into dst (a file open for writing), from byte `offset` on (dst holds
        the bytes before it). Returns the file's size."""
        return self._do(self._get('RETR', name, dst, offset))

    def list(self, dst, path=''):
        """The names in directory `path` (NLST, one per line) written to dst."""
        return self._do(self._get('NLST', path, dst, 0))

    def size(self, name):
        return self._do(self._size(name))

    def delete(self, name):
        return self._do(self._dele(name))

    def close(self):
        return self._quit()

    def _do(self, gen):
        try:
            yield self._open()
            r = yield gen
        except Exception as e:
            yield self._drop()           # the session's state is unknown: start afresh
            # named, not a bare raise: after a yield Python 2.7 re-raises the last exception
            # handled anywhere (the scheduler's Return of _drop), and the error was lost
            raise e
        raise Return(r)

    def _put(self, name, src, offset, append):
        src.seek(0, 2)
        end = src.tell()
        base = 0
        if append and not self.RESUME:
            raise FtpError(EIO, 'cannot append')
        if offset is None and not self.RESUME:
            offset = 0                  # the backend cannot resume: send it all again
        if append or offset is None:
            try:
                n = yield self._size(name)
            except NoSuchFile:
                n = 0
            if append:
                base = n
                offset = 0
            else:
                offset = n
        if offset > end:
            raise Broken(EPIPE, '%s: %d on server > %d' % (name, offset, end))
        if offset < end or not end:
            yield self._start('APPE' if append or offset else 'STOR', name, 0)
            src.seek(offset)
            buf = self.buf
            while offset < end:
                n = src.readinto(buf)
                if not n:
                    raise Broken(EPIPE, name + ': shrank')
                offset += n
                yield self._write(buf, n, offset >= end)
                if self.progress:
                    self.progress(offset, end)
            yield self._finish()
        size, crc = yield self._remote(name, not append)
        if size != base + end or crc is not None and crc != (yield self._crc(src)):
            raise Broken(EPIPE, '%s: server copy differs (%d bytes)' % (name, size))
        raise Return(size)

    def _get(self, verb, name, dst, offset):
        total = -1
        if verb == 'RETR' and self.SIZE:
            total = yield self._size(name)
        self.left = total - offset if total >= 0 else -1
        yield self._start(verb, name, offset)
        buf = self.buf
        while True:
            n = yield self._read(buf)
            if not n:
                break
            dst.write(part(buf, n))
            offset += n
            if self.progress:
                self.progress(offset, total)
        yield self._finish()
        if total >= 0 and offset != total:
            raise Broken(EPIPE, '%s: got %d of %d' % (name, offset, total))
        raise Return(offset)

    def _crc(self, src):
        """CRC-32 of the whole local file, read again through the buffer."""
        src.seek(0)
        c = 0
        buf = self.buf
        while True:
            n = src.readinto(buf)
            if not n:
                raise Return(c & 0xffffffff)
            c = crc32(part(buf, n), c)
            yield                        # a long file must not hold up the other tasks
