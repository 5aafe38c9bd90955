"""One HTTP exchange on the emulator's loop over `Net`: the network side of Telit's native HTTP
client (T-IPE §10).

The module sends "Connection: close" on every request (§10.2, §10.3), so a response ends with
its connection: the bytes are collected until the server closes, then parsed by the standard
library's `http.client.HTTPResponse` (status line, headers, Content-Length or chunked body),
which is the maintained parser; it runs on the collected bytes because its socket reads block,
which the single-threaded loop cannot afford.
"""

import http.client
import io

SEND_RETRY_S = 0.005            # resend what the connection's bounded send buffer refused


class Answer:
    """What the module reports in #HTTPRING: status (0: none, §10.2 note I), type, body."""

    def __init__(self, status=0, content_type='', body=b''):
        self.status = status
        self.content_type = content_type
        self.body = body


class _Collected:
    """The socket `HTTPResponse` reads from: the bytes the server sent."""

    def __init__(self, data):
        self._file = io.BytesIO(data)

    def makefile(self, mode, *args, **kw):
        return self._file


def parse(raw, method):
    """An Answer from a whole response; status 0 when it is no HTTP/1.x answer at all."""
    resp = http.client.HTTPResponse(_Collected(raw), method=method)
    try:
        resp.begin()
    except (http.client.HTTPException, ValueError):
        return Answer()
    try:
        body = resp.read()
    except http.client.IncompleteRead as e:
        body = e.partial             # cut short: what came is what the module holds
    except (http.client.HTTPException, ValueError):
        body = b''
    ctype = resp.getheader('Content-Type', '') or ''
    return Answer(resp.status, ctype, body)


class HttpExchange:
    """Connect, send `request`, collect the answer until the server closes (at most
    `rx_max` bytes are kept), then `done(Answer)`; after `timeout_s` without the whole answer,
    `done(Answer())` (status 0)."""

    def __init__(self, loop, net, host, port, request, method, timeout_s, rx_max, done, log):
        self.loop = loop
        self.method = method
        self.out = bytearray(request)
        self.rx = bytearray()
        self.rx_max = rx_max
        self.done_fn = done
        self.log = log
        self.finished = False
        self.retry = None
        self.timer = loop.call_later(timeout_s, self._timeout)
        self.conn = net.tcp_connect(host, port, self)

    def abort(self):
        """The context went away or the module rebooted: no answer will be reported."""
        self.finished = True
        self._stop()
        self.conn.abort()

    # -- Net events -------------------------------------------------------------------------

    def on_connect(self, conn):
        self._flush()

    def on_error(self, conn, why):
        self.log('http_connect_failed', why=why)
        self._finish(Answer())

    def on_data(self, conn, data):
        room = self.rx_max - len(self.rx)
        if len(data) > room:
            self.log('http_rx_overflow', lost=len(data) - max(room, 0))
        self.rx += data[:max(room, 0)]

    def on_close(self, conn, reset):
        self._finish(parse(bytes(self.rx), self.method) if self.rx else Answer())

    # -- internals --------------------------------------------------------------------------

    def _flush(self):
        self.retry = None
        if self.finished or self.conn.closed:
            return
        if self.out:
            del self.out[:self.conn.send(self.out)]
        if self.out:
            self.retry = self.loop.call_later(SEND_RETRY_S, self._flush)

    def _timeout(self):
        self.timer = None
        self.log('http_timeout', received=len(self.rx))
        self.conn.abort()
        self._finish(Answer())

    def _stop(self):
        for handle in (self.timer, self.retry):
            if handle is not None:
                handle.cancel()
        self.timer = self.retry = None

    def _finish(self, answer):
        if self.finished:
            return
        self.finished = True
        self._stop()
        self.done_fn(answer)
