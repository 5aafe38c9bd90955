"""modemkit.http per backend, through the emulated module (in-process, fake clock) to Python's
http.server on 127.0.0.1: GET with Content-Length and chunked bodies into a writer and through
readinto, POST from bytes and from a file, bounded redirects, and the typed errors (a malformed
status line, an overlong header line, a body cut short, a stalled server)."""
import hashlib
import io
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'drivers'))

from rig import Rig                                         # noqa: E402
from httpserver import http_server, payload                 # noqa: E402,F401

from modemkit import http                                   # noqa: E402
from modemkit.sched import Return                           # noqa: E402
from modemkit.sock import TimedOut, NetError, Unsupported   # noqa: E402

HOST = 'web.test'
# the pure client over each dialect's sockets, and Telit's own client; Wavecom (one socket at a
# time) in the tests that open sessions one after another, each at once after the last ended
BACKENDS = [('quectel', 'py'), ('telit', 'py'), ('telit', 'telit')]
IDS = ['quectel-py', 'telit-py', 'telit-telit']
# Wavecom's data mode has no flow control (wavecom.py): the module pushes the stream, and what the
# socket's ring cannot hold is lost. At a real line rate with a ring of a few KB it all fits.
BAUD = {'wavecom': 115200}
BOARD = {'wavecom': {'rx_size': 4096}}


def session(dialect, backend, bufsize=512, **cfg):
    __import__(http.BACKENDS[backend])
    # #HTTPRCV prints a whole body at once: paced, it cannot overrun the fake UART's buffer
    baud = 921600 if backend == 'telit' else BAUD.get(dialect)
    rig = Rig(dialect, board=BOARD.get(dialect), sim={'hosts': {HOST: '127.0.0.1'}}, baud=baud)
    rig.sched.depth = http.DEPTH
    # fake time runs ahead of the server's thread (each fake step waits at most 1 ms of real
    # time for it): generous timeouts, except where a test wants one to expire
    c = dict({'backend': backend, 'timeout_ms': 300000}, **cfg)
    return rig, http.client(rig.drv, c, bytearray(bufsize))


def run(rig, gen):
    def main():
        yield rig.drv.wait_ready(60000)
        r = yield gen
        raise Return(r)
    return rig.run(main())


def url(server, path):
    return 'http://%s:%d%s' % (HOST, server.port, path)


def fetch(h, u, **kw):
    sink = io.BytesIO()
    r = yield h.request('GET', u, sink=sink, **kw)
    raise Return((r.status, r.length, r.got, sink.getvalue(), r.ctype))


@pytest.mark.parametrize('dialect,backend', BACKENDS + [('wavecom', 'py')],
                         ids=IDS + ['wavecom-py'])
def test_get_content_length_and_chunked(dialect, backend, http_server):
    rig, h = session(dialect, backend)
    n = 200 * 1024

    def main():
        a = yield fetch(h, url(http_server, '/bytes/%d' % n))
        b = yield fetch(h, url(http_server, '/chunked/%d' % 5500))
        raise Return((a, b))

    a, b = run(rig, main())
    assert a == (200, n, n, payload(n), 'application/octet-stream')
    status, length, got, body, ctype = b
    assert (status, got, body) == (200, 5500, payload(5500))


@pytest.mark.parametrize('dialect,backend', BACKENDS + [('wavecom', 'py')],
                         ids=IDS + ['wavecom-py'])
def test_post_bytes_and_file(dialect, backend, http_server, tmp_path):
    rig, h = session(dialect, backend)
    small = b'x=1&y=2' * 3
    big = os.urandom(30000)
    (tmp_path / 'src').write_bytes(big)

    def main():
        out = []
        sink = io.BytesIO()
        r = yield h.request('POST', url(http_server, '/echo'), {'Content-Type': 'text/plain'},
                            small, sink=sink)
        out.append((r.status, sink.getvalue(), r.header('Content-Type')))
        with open(tmp_path / 'src', 'rb') as f:
            sink = io.BytesIO()
            r = yield h.request('PUT', url(http_server, '/echo'), None, f, sink=sink)
            out.append((r.status, sink.getvalue()))
        raise Return(out)

    a, b = run(rig, main())
    assert a == (200, small, 'text/plain')
    assert b == (200, big)
    assert http_server.bodies == [hashlib.sha256(small).hexdigest(),
                                  hashlib.sha256(big).hexdigest()]


@pytest.mark.parametrize('dialect,backend', BACKENDS[:2], ids=IDS[:2])
def test_redirects_are_followed_and_bounded(dialect, backend, http_server):
    rig, h = session(dialect, backend, redirects=3)

    def main():
        a = yield fetch(h, url(http_server, '/redirect/2'))
        b = yield fetch(h, url(http_server, '/see-other'))
        try:
            yield fetch(h, url(http_server, '/loop'))
            c = 'followed'
        except http.TooManyRedirects as e:
            c = e
        raise Return((a, b, c))

    a, b, c = run(rig, main())
    assert a[:4] == (200, 100, 100, payload(100))
    assert b[:4] == (200, 10, 10, payload(10))
    assert isinstance(c, http.TooManyRedirects) and isinstance(c, NetError)
    loops = [p for m, p, _ in http_server.requests if p == '/loop']
    assert len(loops) == 4          # the first request and three redirects


@pytest.mark.parametrize('dialect', ['quectel', 'telit'])
def test_readinto_and_errors_pure(dialect, http_server):
    rig, h = session(dialect, 'py', line=128)

    def attempt(path):
        try:
            # fake time runs ahead of the server's thread: only the stall gets a short timeout
            yield fetch(h, url(http_server, path), timeout_ms=3000 if path == '/stall' else None)
        except NetError as e:
            raise Return(e)
        raise Return('completed')

    def main():
        r = yield h.request('GET', url(http_server, '/chunked/3000'))
        got = bytearray()
        buf = bytearray(700)
        for _ in range(100):
            n = yield r.readinto(buf)
            if not n:
                break
            got.extend(buf[:n])
        yield r.close()
        errors = []
        for path in ('/bad-status', '/long-header', '/cut', '/stall'):
            errors.append((yield attempt(path)))
        post = yield h.request('POST', url(http_server, '/keep'), None, b'again', sink=io.BytesIO())
        head = yield h.request('HEAD', url(http_server, '/bytes/5'))
        yield head.close()
        raise Return((bytes(got), errors, post.status, head.length))

    got, errors, post, head = run(rig, main())
    assert got == payload(3000)
    bad, long_, cut, stall = errors
    assert isinstance(bad, http.ProtocolError) and 'status line' in str(bad)
    assert isinstance(long_, http.ProtocolError) and 'longer than 128' in str(long_)
    assert isinstance(cut, http.ProtocolError), cut
    assert isinstance(stall, TimedOut), stall
    assert post == 200 and http_server.bodies[-2:] == [hashlib.sha256(b'again').hexdigest()] * 2
    assert head == 12345


def test_bad_urls_are_refused():
    with pytest.raises(Unsupported):
        http.split_url('https://example.test/')
    with pytest.raises(http.HttpError):
        http.split_url('ftp://example.test/')
    with pytest.raises(http.HttpError):
        http.split_url('http://example.test:x/')
    assert http.split_url('http://a.test:8080') == ('a.test', 8080, '/')


def test_native_client_refusals_and_errors(http_server):
    """Telit's own client: what it cannot do is refused before anything is sent, and its
    outcomes map to the same typed errors (IP Easy s10)."""
    rig, h = session('telit', 'telit', bufsize=256)

    def attempt(gen):
        try:
            yield gen
        except NetError as e:
            raise Return(e)
        raise Return('completed')

    def main():
        out = []
        r = yield h.request('GET', url(http_server, '/bytes/200'))
        buf = bytearray(64)
        got = bytearray()
        for _ in range(10):
            n = yield r.readinto(buf)
            if not n:
                break
            got.extend(buf[:n])
        yield r.close()
        out.append((r.status, r.length, r.header('content-type'), bytes(got)))
        for args, kw in [(('GET', url(http_server, '/bytes/1000')), {}),
                         (('GET', url(http_server, '/redirect/0')), {'sink': io.BytesIO()}),
                         (('GET', url(http_server, '/bytes/1'), {'Connection': 'keep-alive'}), {}),
                         (('GET', url(http_server, '/bytes/1'), {'X-A': 'say "hi"'}), {}),
                         (('PATCH', url(http_server, '/echo'), None, b'x'), {}),
                         (('GET', url(http_server, '/bad-status')), {'sink': io.BytesIO()}),
                         (('GET', url(http_server, '/stall')),
                          {'sink': io.BytesIO(), 'timeout_ms': 3000})]:
            out.append((yield attempt(h.request(*args, **kw))))
        sink = io.BytesIO()
        r = yield h.request('HEAD', url(http_server, '/bytes/5'), {'X-Trace': 'abc'}, sink=sink)
        out.append((r.status, r.length, [hd.get('X-Trace') for m, p, hd in http_server.requests
                                         if m == 'HEAD']))
        raise Return(out)

    first, big, redirect, keep, quote, patch, bad, stall, head = run(rig, main())
    assert first == (200, 200, 'application/octet-stream', payload(200))
    assert isinstance(big, Unsupported) and 'one #HTTPRCV' in str(big)
    assert isinstance(redirect, Unsupported) and 'Location' in str(redirect)
    assert isinstance(keep, Unsupported) and 'Connection: close' in str(keep)
    assert isinstance(quote, Unsupported) and isinstance(patch, Unsupported)
    assert isinstance(bad, http.ProtocolError), bad
    assert isinstance(stall, TimedOut), stall
    assert head == (200, 0, ['abc'])


def test_board_config_chooses_the_backend():
    from modemkit import http_telit
    rig = Rig('telit', board={'dialect': 'telit'}, start=False)
    assert isinstance(http.client(rig.drv, 'native', bytearray(64)), http_telit.Http)
    assert isinstance(http.client(rig.drv, {'backend': 'native'}, bytearray(64)), http_telit.Http)
    assert isinstance(http.client(rig.drv, {}, bytearray(64)), http.Http)
    rig = Rig('quectel', board={'dialect': 'quectel'}, start=False)
    with pytest.raises(Unsupported):
        http.client(rig.drv, 'native', bytearray(64))
    with pytest.raises(http.HttpError):
        http.client(rig.drv, {'backend': 'curl'}, bytearray(64))
