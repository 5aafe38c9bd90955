"""FTP through Telit IP Easy's native client (T-IPE s12), all in COMMAND mode so the AT channel
stays free for the sockets: #FTPOPEN (passive), #FTPTYPE=0, #FTPPUT/#FTPAPP then #FTPAPPEXT
chunks (s12.6-s12.8.2), #FTPREST + #FTPGETPKT then #FTPRECV reads (s12.9.2, s12.10), #FTPFSIZE
(s12.7), #FTPCLOSE. The guide documents no delete and no directory list (s12.11.1 names
#FTPLIST without its syntax): those raise Unsupported; use the ftp_py backend over the
module's sockets for them. No checksum either: uploads are verified by #FTPFSIZE.
"""
from modemkit import ftp
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT
from modemkit.ftp import FtpError, LoginRefused, NoSuchFile, Broken, EIO, EACCES, EPIPE
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Return
from modemkit.sock import Unsupported, EOPNOTSUPP

_APPEXT = 1500       # #FTPAPPEXT <bytestosend>: 1500 at most (T-IPE gives none; the AT reference)


class Ftp(ftp.Client):
    def __init__(self, modem, cfg, buf):
        ftp.Client.__init__(self, modem, cfg, buf)
        self.c = Cmd(size=48 + len(self.host) + len(self.user) + len(self.password) +
                     cfg.get('name_max', 64))
        self.up = False          # the control connection is open
        self.eofs = 0

    def _at(self, text, expect=None, err=None, prompt=0, sink=None, tmo=None):
        """One exchange; with err, a FAIL or TIMEOUT raises err(...) naming the module's words."""
        c = self.c
        c.clear().add(text)
        c.expect = expect
        c.prompt = prompt
        c.sink = sink
        c.timeout_ms = tmo or self.tmo
        r = yield self.modem.chan.send(c)
        if err is not None and r.status != OK and r.status != PROMPT:
            if r.error().find('not connected') >= 0:
                self.up = False          # the module dropped the session (PDP lost...)
            raise err(EIO, '%s: %s' % (c.text(), r.error()))
        raise Return(r)

    def _open(self):
        if self.up:
            return
        yield self.modem.wait_ready(self.tmo)
        # s12.4: the timeout for opening the control and data connections, in 100 ms
        yield self._at('AT#FTPTO=%d' % max(100, min(5000, self.tmo // 100)))
        for _ in range(2):
            r = yield self._at('AT#FTPOPEN="%s:%d","%s","%s",1' % (
                self.host, self.port, self.user, self.password), tmo=self.tmo + 10000)
            if r.status == OK:
                break
            why = r.error()
            if why.find('Already') >= 0:
                yield self._at('AT#FTPCLOSE')     # a session we lost track of
                continue
            # the guide names only connection failures (A.3.7); whatever else it says to a
            # #FTPOPEN that reached the server is the server refusing the login
            if why.find('onnect') >= 0 or why.find('resolve') >= 0 or why.find('timeout') >= 0:
                raise FtpError(EIO, 'FTPOPEN: ' + why)
            raise LoginRefused(EACCES, 'FTPOPEN as %s: %s' % (self.user, why))
        self.up = True
        # s12.7, s12.10: #FTPFSIZE and #FTPREST need binary type
        yield self._at('AT#FTPTYPE=0', None, FtpError)

    def _size(self, name):
        # the guide gives no error text for a missing file: any refusal counts as one
        r = yield self._at('AT#FTPFSIZE="%s"' % name, b'#FTPFSIZE:', NoSuchFile)
        n = r.num(0, 0, -1) if r.nlines else -1
        if n < 0:
            # OK without a size (its line lost or garbled on the UART): no size to go by
            raise FtpError(EIO, 'FTPFSIZE %s: no size in the answer' % name)
        raise Return(n)

    def _dele(self, name):
        raise Unsupported(EOPNOTSUPP, 'no delete in IP Easy FTP (T-IPE s12)')
        yield

    def _start(self, verb, name, rest):
        self.eofs = 0
        if verb == 'NLST':
            raise Unsupported(EOPNOTSUPP, 'no list in IP Easy FTP (T-IPE s12.11.1)')
        if verb == 'RETR':
            if rest:
                yield self._at('AT#FTPREST=%d' % rest, None, FtpError)
            yield self._at('AT#FTPGETPKT="%s",0' % name, None, FtpError)
        else:
            yield self._at('AT#FTP%s="%s",1' % ('PUT' if verb == 'STOR' else 'APP', name),
                           None, FtpError)

    def _write(self, buf, n, last):
        off = 0
        while off < n:
            k = n - off if n - off <= _APPEXT else _APPEXT
            # s12.8.2: '>' then exactly k bytes; <eof>=1 with the last chunk closes the data
            # connection, and its answer waits for the server's end of the transfer
            r = yield self._at('AT#FTPAPPEXT=%d%s' % (k, ',1' if last and off + k == n else ''),
                               None, Broken, PROMPT_GT)
            r = yield self.modem.chan.send_data(buf, k, None, False, off)
            if r.status != OK:
                # s12.8.2 note: the server closed the data connection; #FTPPUT reopens it
                raise Broken(EPIPE, 'FTPAPPEXT: ' + r.error())
            off += k

    def _read(self, buf):
        left = self.left
        clock = self.modem.sched.clock
        # the module's #FTPTO bounds only opening connections (T-IPE 12.4): a server that
        # stops sending mid-file is timed here, as the other backends time their reads
        quiet_end = ticks_add(clock.ticks_ms(), self.tmo)
        while left:
            k = len(buf) if left < 0 or left > len(buf) else left
            r = yield self._at('AT#FTPRECV=%d' % k, b'#FTPRECV:', Broken, 0, buf)
            if r.nraw:
                self.left -= r.nraw
                raise Return(r.nraw)
            if ticks_diff(clock.ticks_ms(), quiet_end) >= 0:
                raise ftp.Timeout(110, 'FTPRECV: no data for %d ms' % self.tmo)
            # nothing buffered yet: has the server finished sending? (a second look, since
            # bytes may have come with the end of file between the two questions)
            r = yield self._at('AT#FTPGETPKT?', b'#FTPGETPKT:', Broken)
            if r.nlines and r.num(0, 2) == 1:
                self.eofs += 1
                if self.eofs > 1:
                    raise Broken(EPIPE, 'the data connection ended %d bytes early' % left)
            yield self.modem.sched.sleep_ms(20)
        # s12.11.2: the #FTPGETPKT? read after the whole file closes the data port
        yield self._at('AT#FTPGETPKT?', b'#FTPGETPKT:')
        raise Return(0)

    def _finish(self):
        if False:
            yield

    def _remote(self, name, whole):
        n = yield self._size(name)
        raise Return((n, None))

    def _drop(self):
        self.up = False
        yield self._at('AT#FTPCLOSE')

    def _quit(self):
        if self.up:
            yield self._drop()
