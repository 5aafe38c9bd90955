"""A local HTTP/1.1 server for the HTTP tests: Python's http.server, threaded, on 127.0.0.1, an
ephemeral port, started and stopped by the `http_server` fixture.

Routes:
  GET  /bytes/N            N bytes of a fixed pseudo-random stream, with Content-Length
  GET  /chunked/N          the same N bytes in chunks of 1000 (Transfer-Encoding: chunked)
  GET  /redirect/K         302 to /redirect/K-1 ... /redirect/0 -> 302 to /bytes/100
  GET  /loop               302 to itself
  GET  /see-other          303 to /bytes/10
  POST /echo, PUT /echo    200, the request's body back, with Content-Length
  POST /keep               307 to /echo (the body must be sent again)
  POST /digest             200, the SHA-256 of the request's body in hex
  GET  /bad-status         'HTTP/1.1 2x0 What' (a malformed status line)
  GET  /long-header        a header line of 600 bytes
  GET  /stall              the headers, then nothing until the test ends
  GET  /cut                Content-Length: 1000 and 10 bytes, then the connection closes
  GET  /headers            200, 'name: value' of every request header as the body
"""
import hashlib
import http.server
import random
import threading

import pytest

SEED = 11
CHUNK = 1000
BODY_MAX = 4 << 20


def payload(n):
    return random.Random(SEED).randbytes(n)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        self.server.log.append(fmt % args)

    def _send(self, code, body=b'', headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, code, where):
        self._send(code, b'moved', [('Location', where)])

    def do_GET(self):
        self.server.requests.append(('GET', self.path, dict(self.headers)))
        p = self.path
        if p.startswith('/bytes/'):
            self._send(200, payload(int(p[7:])), [('Content-Type', 'application/octet-stream')])
        elif p.startswith('/chunked/'):
            data = payload(int(p[9:]))
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.send_header('Content-Type', 'application/octet-stream')
            self.end_headers()
            for i in range(0, len(data), CHUNK):
                part = data[i:i + CHUNK]
                self.wfile.write(b'%x;ext=1\r\n%s\r\n' % (len(part), part))
            self.wfile.write(b'0\r\nX-Trailer: yes\r\n\r\n')
        elif p.startswith('/redirect/'):
            k = int(p[10:])
            self._redirect(302, '/redirect/%d' % (k - 1) if k else '/bytes/100')
        elif p == '/loop':
            self._redirect(302, 'http://%s:%d/loop' % self.server.server_address)
        elif p == '/see-other':
            self._redirect(303, '/bytes/10')
        elif p == '/bad-status':
            self.wfile.write(b'HTTP/1.1 2x0 What\r\nContent-Length: 0\r\n\r\n')
            self.close_connection = True
        elif p == '/long-header':
            self._send(200, b'ok', [('X-Long', 'x' * 600)])
        elif p == '/stall':
            self.send_response(200)
            self.send_header('Content-Length', '100')
            self.end_headers()
            self.wfile.flush()
            self.server.release.wait(60)
            self.close_connection = True
        elif p == '/cut':
            self.send_response(200)
            self.send_header('Content-Length', '1000')
            self.end_headers()
            self.wfile.write(b'0123456789')
            self.close_connection = True
        elif p == '/headers':
            body = ''.join('%s: %s\n' % kv for kv in self.headers.items()).encode()
            self._send(200, body, [('Content-Type', 'text/plain')])
        else:
            self._send(404, b'no such thing')

    def do_HEAD(self):
        self.server.requests.append(('HEAD', self.path, dict(self.headers)))
        self.send_response(200)
        self.send_header('Content-Length', '12345')
        self.end_headers()

    def _body(self):
        n = int(self.headers.get('Content-Length', 0))
        if n > BODY_MAX:
            raise ValueError('body too large')
        return self.rfile.read(n)

    def do_POST(self):
        body = self._body()
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        self.server.bodies.append(hashlib.sha256(body).hexdigest())
        if self.path == '/keep':
            self._redirect(307, '/echo')
        elif self.path == '/digest':
            self._send(200, hashlib.sha256(body).hexdigest().encode(), [('Content-Type',
                                                                         'text/plain')])
        else:
            self._send(200, body, [('Content-Type', self.headers.get('Content-Type', 'x/y'))])

    do_PUT = do_POST


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.port = self.server_address[1]
        self.requests = []
        self.bodies = []
        self.log = []
        self.release = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.1},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()
        self.thread.join(10)


@pytest.fixture
def http_server():
    server = Server()
    yield server
    server.stop()
