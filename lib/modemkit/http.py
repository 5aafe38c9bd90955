"""HTTP/1.1 client in bounded memory: one interface, two backends, bodies streamed.

    from modemkit import http
    h = http.client(modem, {'timeout_ms': 30000}, bytearray(512))
    r = yield h.request('GET', 'http://example.test/fw.bin', sink=open('fw.bin', 'wb'))
    r.status, r.length, r.got, r.header('content-type')
    r = yield h.request('POST', 'http://example.test/log', {'Content-Type': 'text/csv'},
                        open('log7.csv', 'rb'))            # a stream: its length is its size
    r = yield h.request('GET', url)                         # no sink: read the body yourself
    while True:
        n = yield r.readinto(buf)
        if not n: break
    yield r.close()

The body to send is bytes, a bytearray, or a readable stream (readinto) whose length is known:
`length=`, else a seekable file's size. Without `sink` the response's body waits on the
connection for r.readinto(); with a sink (anything with write()) request() writes the whole
body through the client's buffer and returns once it has.

Memory: the status line and each header line go through one line buffer (cfg 'line', 256
bytes); a longer line is a ProtocolError. The headers kept for r.header() go in a store (cfg
'headers', 256 bytes); those that do not fit are counted in r.dropped, never grown into.
Content-Length, Transfer-Encoding, Location and Content-Type are read whatever the store holds.
The client's buffer (the `buf` given) is the receive window and the body's bounce buffer.

`timeout_ms` (per call, else cfg 'timeout_ms', 30 s) bounds every wait for the server: the
connection, each send, each receive. A server that stalls ends the call in TimedOut.

Redirects (301, 302, 303, 307, 308 with a Location) are followed up to cfg 'redirects' (3)
times, then TooManyRedirects; 303, and 301/302 after a POST, go on as GET without a body (as
browsers do, RFC 9110 s15.4); 307/308 send the body again (a stream must be seekable).

Backends (board config "http": {"backend": ...}, or "http": "native"): 'py' (here, over the
socket interface of any dialect; the default) and 'telit' (the module's own client, IP Easy
s10: see http_telit for what it refuses); 'native' picks the dialect's own client (Telit's;
Quectel LTE Standard and the Wavecom stack have none in their manuals). This client takes only
http:// URLs (https raises Unsupported); Telit's takes https:// (the module's own TLS).

Errors are sock.NetError subclasses, so one retry path catches them: ProtocolError (the server
broke HTTP/1.1: a bad status line, a line too long, a bad chunk), TooManyRedirects, HttpError
(refusals such as a bad URL), and the socket interface's TimedOut, Refused, Closed, NetDown.
An HTTP error status (404, 500) is not an exception: it is r.status.

The task that runs these calls needs a call depth of DEPTH (Scheduler.spawn(..., depth=DEPTH)).
"""
from modemkit.sched import Return
from modemkit.sock import NetError, Unsupported, EIO, EOPNOTSUPP, OPEN

DEPTH = 10
EPROTO = 71
ELOOP = 40

# bytearrays: indexing gives an int on every interpreter (2.7's bytes give a str)
_LEN = bytearray(b'content-length')
_TE = bytearray(b'transfer-encoding')
_LOC = bytearray(b'location')
_CTYPE = bytearray(b'content-type')


# headers the client writes itself (one request per connection: Connection is always close)
_OURS = ('host', 'connection', 'content-length', 'transfer-encoding')


class HttpError(NetError):
    """The request could not be made (a bad URL, a body of unknown length...)."""


class ProtocolError(HttpError):
    """The server's answer is not HTTP/1.1: a bad status line or header, a line longer than
    the line buffer, a bad chunk, a body cut short."""


class TooManyRedirects(HttpError):
    pass


# full module names as literals: the Telit bundler rewrites them to its flat file names
BACKENDS = {'py': 'modemkit.http', 'telit': 'modemkit.http_telit'}


def client(modem, cfg, buf):
    """The client cfg names: the board's "http" section, e.g. {"backend": "native",
    "timeout_ms": 30000}, or just "native". Backends: 'py' (the default), 'telit', and
    'native' (the module's own client where its dialect has one, else Unsupported)."""
    if not isinstance(cfg, dict):
        cfg = {'backend': cfg}           # "http": "native" (a unicode string on 2.7)
    name = cfg.get('backend') or 'py'
    if name == 'native':
        name = modem.cfg.get('dialect', '?')
        if name == 'py' or name not in BACKENDS:
            raise Unsupported(EOPNOTSUPP, 'no native HTTP client on a %s module' % name)
    if name not in BACKENDS:
        raise HttpError(EIO, 'http backend %r: one of %s' % (name, ', '.join(sorted(BACKENDS))))
    return __import__(BACKENDS[name], None, None, ['Http']).Http(modem, cfg, buf)


def split_url(url):
    """'http://host[:port][/path]' -> (host, port, path)."""
    if url.startswith('https://'):
        raise Unsupported(EOPNOTSUPP, 'no TLS in this client: %s' % url)
    if not url.startswith('http://'):
        raise HttpError(EIO, 'not an http:// URL: %s' % url)
    rest = url[7:]
    i = rest.find('/')
    host = rest if i < 0 else rest[:i]
    path = '/' if i < 0 else rest[i:]
    port = 80
    j = host.rfind(':')
    if j >= 0:
        try:
            port = int(host[j + 1:])
        except ValueError:
            raise HttpError(EIO, 'bad port in %s' % url)
        host = host[:j]
    if not host or ' ' in url:
        raise HttpError(EIO, 'bad URL: %s' % url)
    return host, port, path


def body_length(body, length):
    """How many bytes body holds: len() of bytes, else `length`, else a seekable file's size
    from where it stands."""
    if body is None:
        return 0
    if length is not None:
        return length
    if isinstance(body, (bytes, bytearray, memoryview)):
        return len(body)
    try:
        here = body.tell()
        body.seek(0, 2)
        end = body.tell()
        body.seek(here)
        return end - here
    except Exception:             # no tell/seek (2.7 raises IOError, MicroPython has none)
        raise HttpError(EIO, 'a body stream needs length=')


def part(buf, n):
    return buf if n == len(buf) else memoryview(buf)[:n]


def next_hop(status, method, loc, url):
    """The (method, url) a redirect leads to, or None when it is not one we follow."""
    if status not in (301, 302, 303, 307, 308) or not loc:
        return None
    if loc.startswith('/'):
        host, port, _ = split_url(url)
        loc = 'http://%s:%d%s' % (host, port, loc)
    if status == 303 or status in (301, 302) and method == 'POST':
        method = 'GET'
    return method, loc


def lower_eq(b, s, e, name):
    """b[s:e] equals the lower-case ASCII name, whatever b's case."""
    if e - s != len(name):
        return False
    for i in range(e - s):
        if b[s + i] | 32 != name[i] | 32:
            return False
    return True


class Response(object):
    """One response: status, length (-1 unknown), chunked, got (body bytes read so far), the
    kept headers, and the body still on the connection (py backend) for readinto()."""

    def __init__(self, client, store):
        self.c = client
        self.hdr = store             # 'name: value\n' lines, as many as fit
        self.nh = 0
        self.reset()

    def reset(self):
        self.status = 0
        self.length = -1
        self.chunked = False
        self.got = 0
        self.nh = 0
        self.dropped = 0
        self.ctype = None
        self.location = None
        self.left = 0                # py backend: bytes left in the current chunk or body
        self.done = False

    def keep(self, b, n):
        """Add header line b[:n] to the store, or count it dropped."""
        h = self.hdr
        if self.nh + n + 1 > len(h):
            self.dropped += 1
            return
        for i in range(n):
            h[self.nh + i] = b[i]
        self.nh += n
        h[self.nh] = 10
        self.nh += 1

    def header(self, name):
        """The value of the first kept header `name` (any case), as str, or None."""
        h = self.hdr
        key = bytearray(name.encode() if not isinstance(name, bytes) else name)
        s = 0
        while s < self.nh:
            e = h.find(b'\n', s, self.nh)
            c = h.find(b':', s, e)
            if c > 0 and lower_eq(h, s, c, key):
                return bytes(h[c + 1:e]).decode().strip()
            s = e + 1
        return None

    def readinto(self, buf, n=None):
        """Body bytes into buf (at most n): how many, 0 at the end of the body."""
        k = yield self.c._body(self, buf, len(buf) if n is None else n)
        raise Return(k)

    def close(self):
        yield self.c._end(self)


class Http(object):
    """HTTP over one TCP connection per request of the socket interface (every dialect).
    Each request says Connection: close, so the end of the body is also the connection's; the
    caller's Host, Connection, Content-Length and Transfer-Encoding headers are not sent (the
    client writes its own; a body always goes with its length)."""

    def __init__(self, modem, cfg, buf):
        self.modem = modem
        self.tmo = cfg.get('timeout_ms', 30000)
        self.hops = cfg.get('redirects', 3)
        self.buf = buf
        self.line = bytearray(cfg.get('line', 256))
        # the socket's rings (receive: cfg rx_size, else the board's), allocated now and reused
        # by every connection and redirect: allocated per connection they would need contiguous
        # room in a heap that has fragmented by then
        self.rings = (bytearray(cfg.get('rx_size') or modem.rx_size),
                      bytearray(modem.tx_size) if modem.tx_size else None)
        self.resp = Response(self, bytearray(cfg.get('headers', 256)))
        self.s = None
        self.tmo_now = self.tmo
        self.rpos = 0                # bytes of buf not yet parsed are buf[rpos:rend]
        self.rend = 0
        self.progress = None         # progress(done, total) after each chunk to a sink

    def request(self, method, url, headers=None, body=None, sink=None, timeout_ms=None,
                length=None):
        """Send the request, follow redirects, read the status line and headers; with a sink,
        the body too. Returns the Response (the client's own, reused by the next request)."""
        tmo = timeout_ms or self.tmo
        n = body_length(body, length)
        start = body.tell() if n and hasattr(body, 'tell') else 0
        hops = 0
        if self.s is not None:
            yield self._end(self.resp)       # the last response's body was left unread
        while True:
            r = yield self._exchange(method, url, headers, body, n, tmo)
            hop = next_hop(r.status, method, r.location, url)
            if hop is None:
                break
            yield self._end(r)
            if hops == self.hops:
                raise TooManyRedirects(ELOOP, '%s: more than %d redirects' % (url, self.hops))
            hops += 1
            if hop[0] != method:
                body = None
                n = 0
            elif n and not isinstance(body, (bytes, bytearray, memoryview)):
                body.seek(start)         # 307/308: the same body again
            method, url = hop
        if sink is not None:
            try:
                yield self._drain(r, sink)
            except Exception as e:
                yield self._end(r)
                raise e
            yield self._end(r)
        raise Return(r)

    # -- one exchange ----------------------------------------------------------------------
    def _exchange(self, method, url, headers, body, n, tmo):
        host, port, path = split_url(url)
        r = self.resp
        r.reset()
        self.tmo_now = tmo
        self.rpos = self.rend = 0
        self.s = yield self.modem.open(host, port, timeout_ms=tmo, rx_size=self.rings[0],
                                     tx_size=self.rings[1])
        try:
            head = '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n' % (
                method, path, host if port == 80 else '%s:%d' % (host, port))
            if body is not None or method in ('POST', 'PUT', 'PATCH'):
                head += 'Content-Length: %d\r\n' % n
            if headers:
                for k in headers:
                    if k.lower() not in _OURS:
                        head += '%s: %s\r\n' % (k, headers[k])
            head = (head + '\r\n').encode()
            yield self.s.send(head, tmo)
            head = None
            if n:
                yield self._send_body(body, n, tmo)
            yield self._head(r, method)
        except Exception as e:
            yield self._end(r)
            raise e                  # not a bare raise: 2.7 forgets it across the yield
        raise Return(r)

    def _send_body(self, body, n, tmo):
        s = self.s
        if isinstance(body, (bytes, bytearray, memoryview)):
            yield s.send(body, tmo, n)
            return
        buf = self.buf
        off = 0
        while off < n:
            k = body.readinto(buf)
            if not k:
                raise HttpError(EIO, 'the body stream ended at %d of %d bytes' % (off, n))
            if k > n - off:
                k = n - off
            yield s.send(buf, tmo, k)
            off += k

    def _head(self, r, method):
        ln = self.line
        k = yield self._readline()
        # 'HTTP/1.x NNN[ reason]' (RFC 9112 s4)
        if (k < 12 or not ln.startswith(b'HTTP/1.') or ln[8] != 32 or
                k > 12 and ln[12] != 32):
            raise ProtocolError(EPROTO, 'bad status line %r' % bytes(ln[:k if k < 40 else 40]))
        code = 0
        for i in range(9, 12):
            d = ln[i] - 48
            if not 0 <= d <= 9:
                raise ProtocolError(EPROTO, 'bad status line %r' % bytes(ln[:k]))
            code = code * 10 + d
        r.status = code
        while True:
            k = yield self._readline()
            if not k:
                break
            c = ln.find(b':', 0, k)
            if c <= 0:
                raise ProtocolError(EPROTO, 'bad header line %r' % bytes(ln[:k]))
            v = c + 1
            while v < k and ln[v] == 32:
                v += 1
            if lower_eq(ln, 0, c, _LEN):
                r.length = _num(ln, v, k, 10, 'Content-Length')
            elif lower_eq(ln, 0, c, _TE):
                r.chunked = ln.find(b'hunked', v, k) > 0
            elif lower_eq(ln, 0, c, _LOC):
                r.location = bytes(ln[v:k]).decode()
            elif lower_eq(ln, 0, c, _CTYPE):
                r.ctype = bytes(ln[v:k]).decode()
            r.keep(ln, k)
        if r.chunked:
            r.length = -1
        if method == 'HEAD' or code == 204 or code == 304 or code < 200 or r.length == 0:
            r.done = True
        elif not r.chunked:
            r.left = r.length       # -1: the body ends with the connection

    def _readline(self):
        """The next line (without CR LF) into self.line; its length."""
        ln = self.line
        cap = len(ln)
        k = 0
        buf = self.buf
        while True:
            if self.rpos == self.rend:
                n = yield self.s.recv_into(buf, self.tmo_now)
                if not n:
                    raise ProtocolError(EPROTO, 'the server closed the connection mid-line')
                self._lost()
                self.rpos = 0
                self.rend = n
            i = self.rpos
            e = buf.find(b'\n', i, self.rend)
            stop = self.rend if e < 0 else e
            if k + stop - i > cap:
                raise ProtocolError(EPROTO, 'a header line longer than %d bytes' % cap)
            for j in range(i, stop):
                ln[k] = buf[j]
                k += 1
            self.rpos = stop
            if e >= 0:
                self.rpos = e + 1
                if k and ln[k - 1] == 13:
                    k -= 1
                raise Return(k)

    # -- the body --------------------------------------------------------------------------
    def _body(self, r, buf, want):
        if r.done or self.s is None:
            raise Return(0)
        if r.chunked and r.left == 0:
            # read here, not after the chunk's last byte: the caller's buffer may be ours
            if r.got and (yield self._readline()):
                raise ProtocolError(EPROTO, 'no CR LF after a chunk')
            size = yield self._chunk_size(r)
            if not size:
                r.done = True
                raise Return(0)
            r.left = size
        if r.left >= 0 and want > r.left:
            want = r.left
        k = self.rend - self.rpos
        if k:
            # what came with the headers, then straight from the socket
            if k > want:
                k = want
            b = self.buf
            p = self.rpos
            for j in range(k):
                buf[j] = b[p + j]
            self.rpos += k
        else:
            k = yield self.s.recv_into(buf, self.tmo_now, want)
            self._lost()
            if not k:
                if r.left > 0 or r.chunked:
                    raise ProtocolError(EPROTO, 'the body ended %s bytes early' % (
                        r.left if r.left > 0 else 'some'))
                r.done = True
                raise Return(0)
        r.got += k
        if r.left > 0:
            r.left -= k
            if not r.left and not r.chunked:
                r.done = True
        raise Return(k)

    def _lost(self):
        # a module that pushes data unasked (Wavecom without RTS/CTS) drops what the socket's
        # ring cannot hold: the stream has a hole, nothing after it can be trusted
        if self.s.dropped:
            raise HttpError(EIO, '%d bytes lost: the socket ring overflowed (a bigger rx_size, '
                            'or RTS/CTS)' % self.s.dropped)

    def _chunk_size(self, r):
        # RFC 9112 s7.1: hex size [; extensions] CR LF; after the last (0), trailers, CR LF
        k = yield self._readline()
        ln = self.line
        e = ln.find(b';', 0, k)
        size = _num(ln, 0, k if e < 0 else e, 16, 'chunk size')
        if not size:
            while (yield self._readline()):
                pass
        raise Return(size)

    def _drain(self, r, sink):
        buf = self.buf
        while True:
            n = yield self._body(r, buf, len(buf))
            if not n:
                break
            sink.write(part(buf, n))
            if self.progress:
                self.progress(r.got, r.length)
        if r.length >= 0 and r.got != r.length:
            raise ProtocolError(EPROTO, 'got %d of %d body bytes' % (r.got, r.length))

    def _end(self, r):
        s = self.s
        self.s = None
        if s is not None:
            try:
                if r.done and s.state == OPEN:
                    # the server closes after the response (Connection: close): let it close
                    # first, so nothing of this connection is in flight when the next opens
                    yield s.recv_into(self.buf, 2000, 1)
            except NetError:
                pass
            try:
                yield s.close()
            except NetError:
                pass
        r.done = True


def _num(b, s, e, base, what):
    while e > s and b[e - 1] == 32:
        e -= 1
    if s >= e:
        raise ProtocolError(EPROTO, 'empty %s' % what)
    v = 0
    for i in range(s, e):
        c = b[i] | 32
        d = c - 48 if 48 <= c <= 57 else c - 87 if 97 <= c <= 102 else 99
        if d >= base:
            raise ProtocolError(EPROTO, 'bad %s %r' % (what, bytes(b[s:e])))
        v = v * base + d
    return v
