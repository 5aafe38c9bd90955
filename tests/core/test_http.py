"""modemkit.http's pure client on every interpreter, against a scripted server at the byte
boundary: the socket interface's recv_into hands the answer over a few bytes at a time, so
every line, header and chunk size is cut at odd places (no network)."""
from mktest import raises
from scripted import ScriptedModem
from modemkit import http
from modemkit.fakeuart import FakeClock
from modemkit.sched import Scheduler, Return
from modemkit.sock import NetError, Unsupported

PIECE = 7


def Modem(answers):
    return ScriptedModem(answers, PIECE)


class Sink(object):
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        # bytes(memoryview) on 2.7 is its repr; MicroPython's memoryview has no tobytes()
        self.data.extend(b.tobytes() if hasattr(b, 'tobytes') else b)
        return len(b)


def run(answers, method, url, headers=None, body=None, **cfg):
    m = Modem(answers)
    h = http.client(m, dict({'line': 64, 'headers': 64}, **cfg), bytearray(32))
    sink = Sink()
    sched = Scheduler(FakeClock(), depth=http.DEPTH)

    def main():
        r = yield h.request(method, url, headers, body, sink=sink)
        raise Return(r)

    r = sched.run(main())
    return m, r, bytes(sink.data)


def attempt(answers, method='GET', url='http://a.test/'):
    try:
        run(answers, method, url)
    except NetError as e:
        return e
    return None


OK_5 = b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello'


def test_content_length_body_and_headers():
    m, r, body = run([OK_5], 'GET', 'http://a.test:8080/x?y=1', {'X-Id': '7', 'Host': 'no'})
    assert (r.status, r.length, r.got, body) == (200, 5, 5, b'hello')
    assert r.header('content-type') == 'text/plain' and r.header('CONTENT-LENGTH') == '5'
    assert r.header('x-missing') is None
    assert m.opened == [('a.test', 8080)]
    head = bytes(m.socks[0].sent)
    assert head.startswith(b'GET /x?y=1 HTTP/1.1\r\nHost: a.test:8080\r\nConnection: close\r\n')
    assert b'X-Id: 7\r\n' in head and head.endswith(b'\r\n\r\n') and b'no' not in head
    assert b'Content-Length' not in head


def test_chunked_body_cut_anywhere():
    answer = (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
              b'5;name=v\r\nhello\r\n1A\r\n' + b'z' * 26 + b'\r\n0\r\nX-T: 1\r\n\r\n')
    m, r, body = run([answer], 'GET', 'http://a.test/')
    assert body == b'hello' + b'z' * 26 and r.chunked and r.length == -1 and r.got == 31


def test_body_to_the_end_of_the_connection():
    m, r, body = run([b'HTTP/1.0 200 OK\r\n\r\nuntil close'], 'GET', 'http://a.test/')
    assert body == b'until close' and r.length == -1


def test_post_sends_length_and_body():
    m, r, body = run([OK_5], 'POST', 'http://a.test/p', None, b'abc')
    sent = bytes(m.socks[0].sent)
    assert b'Content-Length: 3\r\n' in sent and sent.endswith(b'\r\n\r\nabc')


def test_redirects_followed_then_bounded():
    moved = b'HTTP/1.1 307 Moved\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n'
    other = b'HTTP/1.1 303 See\r\nLocation: http://c.test:81/c\r\nContent-Length: 0\r\n\r\n'
    m, r, body = run([moved, other, OK_5], 'POST', 'http://a.test/a', None, b'xy')
    assert body == b'hello' and m.opened == [('a.test', 80), ('a.test', 80), ('c.test', 81)]
    assert bytes(m.socks[1].sent).startswith(b'POST /b ') and m.socks[1].sent.endswith(b'xy')
    assert bytes(m.socks[2].sent).startswith(b'GET /c ')          # 303: GET, no body
    assert b'Content-Length' not in bytes(m.socks[2].sent)
    # one pair of rings, the board's sizes, allocated with the client and lent to every
    # connection (allocated per connection they would need room in a fragmented heap)
    rx, tx = m.rings[0]
    assert isinstance(rx, bytearray) and len(rx) == 256 and len(tx) == 128
    assert all(r[0] is rx and r[1] is tx for r in m.rings), m.rings
    loop = b'HTTP/1.1 302 Found\r\nLocation: /a\r\n\r\n'
    e = attempt([loop] * 4)
    assert isinstance(e, http.TooManyRedirects) and isinstance(e, NetError)


def test_malformed_answers_are_protocol_errors():
    for bad in (b'HTTP/1.1 2x0 What\r\n\r\n', b'HTTP/2 200\r\n\r\n', b'ICY 200 OK\r\n\r\n',
                b'\r\n', b'HTTP/1.1 200OK\r\n\r\n', b'HTTP/1.1 200 OK\r\nno colon\r\n\r\n',
                b'HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n',
                b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
                b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n',
                b'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort',
                b'HTTP/1.1 200 OK\r\nX-Long: ' + b'x' * 80 + b'\r\n\r\n',
                b'HTTP/1.1 200 O'):
        e = attempt([bad])
        assert isinstance(e, http.ProtocolError), (bad, e)


def test_header_store_is_bounded():
    many = b'HTTP/1.1 204 No Content\r\n' + b''.join(
        b'X-H%d: %s\r\n' % (i, b'v' * 20) for i in range(6)) + b'\r\n'
    m, r, body = run([many], 'GET', 'http://a.test/')
    assert r.status == 204 and body == b''
    assert r.header('x-h0') == 'v' * 20 and r.dropped > 0
    assert r.header('x-h5') is None


def test_urls_and_backends():
    assert http.split_url('http://h.test') == ('h.test', 80, '/')
    assert http.split_url('http://h.test:1/a/b') == ('h.test', 1, '/a/b')
    raises(Unsupported, http.split_url, 'https://h.test/')
    raises(http.HttpError, http.split_url, 'ftp://h.test/')
    raises(http.HttpError, http.split_url, 'http://:80/')
    m = Modem([])
    raises(Unsupported, http.client, m, 'native', bytearray(8))       # no native on Quectel
    raises(http.HttpError, http.client, m, {'backend': 'x'}, bytearray(8))
