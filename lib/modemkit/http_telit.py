"""The http interface through Telit IP Easy's own HTTP client (T-IPE s10): the module makes the
connection and parses the answer; the AT channel carries only the request and the body.

    h = http.client(modem, {'backend': 'telit', 'profile': 0}, bytearray(512))

#HTTPCFG sets the profile (server, port, <timeout>, the driver's cid; s10.1), #HTTPQRY sends
GET/HEAD/DELETE (s10.2), #HTTPSND POST/PUT after its '>>>' prompt (s10.3); the module answers
with the URC #HTTPRING: <prof_id>,<status>,"<content_type>",<data_size> once the whole answer
is in (the seed's text spells it #HTTTPRING: both are recognised), and #HTTPRCV prints the
body (s10.4.1), streamed here into the sink through the client's buffer.

What this client cannot do, refused with Unsupported (use the 'py' backend over the module's
sockets for it):
- keep-alive: the module always sends "Connection: close" (s10.2, s10.3); a Connection header
  other than close, and a Host header (the module writes its own), are refused;
- follow a redirect: #HTTPRING gives no Location, so a 3xx answer raises Unsupported;
- header values with a double quote, a line break or '>>' (the module's separator between
  extra header lines, s10.2 note III) cannot be written in the AT command;
- methods other than GET, HEAD, DELETE, POST, PUT; https (no TLS in this client);
- read the response's other headers: r.header() knows Content-Type only;
- read the body piecewise: #HTTPRCV hands the whole body in one answer, so without a sink it
  must fit the client's buffer (r.readinto() then copies it out).
One HTTP session per module across every AT port (s10): while one is in flight another
request fails (HttpError). A status 0 in #HTTPRING means no answer (s10.2 note I): TimedOut
after the profile's <timeout>, ProtocolError when it came sooner (an answer that is no HTTP).
The body of #HTTPRCV has no marker before it in the seed: a URC printed between the command
and its answer would be taken for body bytes (none is expected while no socket is in use).
"""
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT3
from modemkit.http import (HttpError, ProtocolError, Response, split_url, body_length, part,
                           EPROTO)
from modemkit.port import ticks_diff
from modemkit.sched import Event, Return
from modemkit.sock import TimedOut, Unsupported, EIO, ETIMEDOUT, EOPNOTSUPP

EBUSY = 16
_QRY = ('GET', 'HEAD', 'DELETE')       # #HTTPQRY <command> 0, 1, 2
_SND = ('POST', 'PUT')                 # #HTTPSND <command> 0, 1
_RING_MARGIN_MS = 10000                # s10.2 note II: #HTTPRING may come later than <timeout>


class Http(object):
    def __init__(self, modem, cfg, buf):
        self.modem = modem
        self.tmo = cfg.get('timeout_ms', 30000)
        self.prof = cfg.get('profile', 0)
        self.buf = buf
        self.resp = Response(self, bytearray(cfg.get('headers', 80)))
        self.progress = None
        self.ev = Event(modem.sched)
        self.ring = None                       # (status, content type, size) of #HTTPRING
        self.cfgd = None                       # the profile as last set (host, port, timeout)
        self.sink = None
        self.left = 0                          # body bytes #HTTPRCV still owes
        self.skip = True                       # before the first LF of its answer
        self.nbuf = 0                          # body bytes held in buf
        self.rpos = 0
        modem.chan.on(b'#HTTPRING:', self._on_ring)
        modem.chan.on(b'#HTTTPRING:', self._on_ring)       # the seed's text (digest A.3.5)

    def _on_ring(self, line):
        if line.num(0, -1) == self.prof:
            self.ring = (line.num(1, 0), line.text(2), line.num(3, 0))
            self.ev.set()

    def _at(self, text, tmo, prompt=0, body=None):
        c = Cmd(text, timeout_ms=tmo)
        if prompt:
            c.prompt = prompt
        if body is not None:
            c.body = body
        r = yield self.modem.chan.send(c)
        raise Return(r)

    def _refused(self, what, r):
        why = r.error()
        if why.find('connected') >= 0:
            return HttpError(EBUSY, '%s: another HTTP session is open on the module (one per '
                             'module, IP Easy s10)' % what)
        return HttpError(EIO, '%s: %s' % (what, why))

    def request(self, method, url, headers=None, body=None, sink=None, timeout_ms=None,
                length=None):
        tmo = timeout_ms or self.tmo
        host, port, path = split_url(url)
        if method not in _QRY and method not in _SND:
            raise Unsupported(EOPNOTSUPP, 'the module sends no %s (IP Easy s10.2, s10.3)' % method)
        ctype, extra = _headers(headers)
        n = body_length(body, length) if method in _SND else 0
        if method not in _SND and body is not None:
            raise Unsupported(EOPNOTSUPP, 'the module sends a body with POST and PUT only')
        if method in _SND and not n:
            # #HTTPSND's <data_len> has no documented range (s10.3): no empty body here
            raise Unsupported(EOPNOTSUPP, '%s without a body through #HTTPSND' % method)
        if len(host) > 50:
            raise HttpError(EIO, 'server name longer than the profile takes (50, s10.1)')
        r = self.resp
        r.reset()
        yield self.modem.wait_ready(tmo)
        secs = (tmo + 999) // 1000
        if self.cfgd != (host, port, secs):
            q = yield self._at('AT#HTTPCFG=%d,"%s",%d,0,,,0,%d,%d' % (
                self.prof, host, port, secs, self.modem.ctx), 5000)
            if q.status != OK:
                raise self._refused('HTTPCFG', q)
            self.cfgd = (host, port, secs)
        self.ring = None
        self.ev.clear()
        clock = self.modem.sched.clock
        t0 = clock.ticks_ms()
        xh = ',"%s"' % extra if extra else ''
        if method in _SND:
            q = yield self._at('AT#HTTPSND=%d,%d,"%s",%d,"%s"%s' % (
                self.prof, _SND.index(method), path, n, ctype or '2', xh),
                tmo + n // 5, PROMPT_GT3)
            if q.status == PROMPT:
                q = yield self._send_body(body, n)
        else:
            q = yield self._at('AT#HTTPQRY=%d,%d,"%s"%s' % (self.prof, _QRY.index(method), path,
                                                            xh), tmo)
        if q.status != OK:
            raise self._refused(method + ' ' + url, q)
        while self.ring is None:
            if not (yield self.ev.wait(secs * 1000 + _RING_MARGIN_MS)):
                raise TimedOut(ETIMEDOUT, '%s %s: no #HTTPRING' % (method, url))
            self.ev.clear()
        status, r.ctype, size = self.ring
        if status == 0:
            if ticks_diff(clock.ticks_ms(), t0) >= secs * 1000:
                raise TimedOut(ETIMEDOUT, '%s %s: no answer in %d s' % (method, url, secs))
            raise ProtocolError(EPROTO, '%s %s: the module got no HTTP answer' % (method, url))
        if 300 <= status < 400 and status != 304:
            raise Unsupported(EOPNOTSUPP, '%s %s: %d redirect; the native client gives no '
                              'Location (IP Easy s10.2): use the py backend' % (method, url, status))
        r.status = status
        r.length = size
        if r.ctype:
            h = bytearray(b'Content-Type: ' + r.ctype.encode())
            r.keep(h, len(h))
        if sink is None and size > len(self.buf):
            raise Unsupported(EOPNOTSUPP, '%s: a %d-byte body comes in one #HTTPRCV answer '
                              '(s10.4.1): give a sink or a buffer that large' % (url, size))
        self.sink = sink
        self.nbuf = self.rpos = 0
        if size:
            yield self._receive(size, tmo)
        r.done = sink is not None
        if sink is not None:
            r.got = size
        raise Return(r)

    def _send_body(self, body, n):
        ch = self.modem.chan
        if isinstance(body, (bytes, bytearray, memoryview)):
            q = yield ch.send_data(body, n)
            raise Return(q)
        buf = self.buf
        off = 0
        while True:
            k = body.readinto(buf) if off < n else 0
            if k > n - off:
                k = n - off
            if not k and off < n:
                # the module still waits for its <data_len> bytes: ESC ends the prompt
                yield ch.send_data(None, cancel=True)
                raise HttpError(EIO, 'the body stream ended at %d of %d bytes' % (off, n))
            off += k
            if off >= n:
                q = yield ch.send_data(buf, k)
                raise Return(q)
            ch.uart.write(buf, k)     # the prompt stays open until the last chunk
            yield

    def _receive(self, size, tmo):
        self.left = size
        self.skip = True
        q = yield self._at('AT#HTTPRCV=%d' % self.prof, tmo + size // 5, 0, self._take)
        if self.sink is not None and self.nbuf:
            self._flush()
        if q.status != OK or self.left:
            raise ProtocolError(EPROTO, 'HTTPRCV: %s, %d of %d body bytes missing' % (
                q.error() if q.status != OK else 'OK', self.left, size))

    def _take(self, chunk, i, n):
        # the AT reader's consumer of #HTTPRCV's answer: CR LF (after the echo, if on), then
        # exactly the #HTTPRING size of body bytes, then the final result code as lines
        start = i
        if self.skip:
            e = chunk.find(b'\n', i, n)
            if e < 0:
                return None
            self.skip = False
            i = e + 1
        buf = self.buf
        while i < n and self.left:
            k = n - i
            if k > self.left:
                k = self.left
            room = len(buf) - self.nbuf
            if k > room:
                k = room
            p = self.nbuf
            for j in range(k):
                buf[p + j] = chunk[i + j]
            self.nbuf += k
            self.left -= k
            i += k
            if self.nbuf == len(buf) and self.sink is not None:
                self._flush()
        if self.left:
            return None
        return i - start

    def _flush(self):
        self.sink.write(part(self.buf, self.nbuf))
        self.resp.got += self.nbuf
        if self.progress:
            self.progress(self.resp.got, self.resp.length)
        self.nbuf = 0

    # -- Response's calls ------------------------------------------------------------------
    def _body(self, r, buf, want):
        k = self.nbuf - self.rpos
        if k > want:
            k = want
        src = self.buf
        p = self.rpos
        for j in range(k):
            buf[j] = src[p + j]
        self.rpos += k
        r.got += k
        raise Return(k)
        yield

    def _end(self, r):
        r.done = True
        self.nbuf = self.rpos = 0
        if False:
            yield


def _headers(headers):
    """(Content-Type or None, the other header lines joined by '>>' (s10.2 note III))."""
    ctype = None
    extra = ''
    if not headers:
        return ctype, extra
    for k in headers:
        v = str(headers[k])
        low = k.lower()
        if '"' in v or '"' in k or '\r' in v or '\n' in v or '>>' in v:
            raise Unsupported(EOPNOTSUPP, 'header %s: no quote, line break or ">>" in an AT '
                              'string' % k)
        if low == 'content-type':
            ctype = v
        elif low == 'connection' and v.lower() != 'close':
            raise Unsupported(EOPNOTSUPP, 'the module always sends Connection: close (s10.2)')
        elif low == 'host':
            raise Unsupported(EOPNOTSUPP, 'the module writes the Host header itself')
        elif low != 'connection':
            extra += ('>>' if extra else '') + '%s: %s' % (k, v)
    return ctype, extra
