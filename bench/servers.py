"""Loopback TCP peers for the transfer benchmarks, run as their own process so that the
benchmark's own Python work never delays them (one GIL each):

    python -m bench.servers [N ...]    prints 'ports sink=P source=P ackN=P...', then one line
                                       per transfer

- sink: reads until the client closes, then prints 'sink <bytes> <sha256>';
- ackN (one per N given): a sink that also answers b'K' once N bytes have arrived;
- source: reads one line '<n> <seed>', sends n bytes of random.Random(seed).randbytes(n), prints
  'source <bytes> <sha256>', then reads (and drops) until the client closes.

All bind 127.0.0.1 only. Every connection has a 600 s socket timeout and moves at most
MAX_BYTES each way; the process serves at most MAX_CONNS connections per listener and exits when
its standard input closes.
"""
import hashlib
import random
import socket
import sys
import threading

MAX_CONNS = 2000
CONN_TIMEOUT_S = 600
MAX_BYTES = 64 << 20         # per connection, either way: more than any benchmark moves

_lock = threading.Lock()


def say(text):
    with _lock:
        sys.stdout.write(text + '\n')
        sys.stdout.flush()


def _request(conn):
    """The first line a client sends: two numbers."""
    line = b''
    while not line.endswith(b'\n') and len(line) < 64:
        data = conn.recv(1)
        if not data:
            return None
        line += data
    try:
        a, b = (int(x) for x in line.split())
    except ValueError:
        say('bad request %r' % line)
        return None
    return a, b


def sink(conn, ack_after=0):
    # ack_after: send b'K' once that many bytes have arrived, so the client can time its
    # upload end to end (bytes that left it are not yet bytes that arrived). The size is the
    # listener's, not in the stream: a header would shift the payload in the driver's rings.
    h = hashlib.sha256()
    n = 0
    with conn:
        while n < MAX_BYTES:
            data = conn.recv(65536)
            if not data:
                break
            n += len(data)
            h.update(data)
            if ack_after and n >= ack_after:
                conn.sendall(b'K')
                ack_after = 0
    say('sink %d %s' % (n, h.hexdigest()))


def source(conn):
    with conn:
        req = _request(conn)
        if req is None:
            return
        n, seed = req
        n = max(0, min(n, MAX_BYTES))
        data = random.Random(seed).randbytes(n)
        conn.sendall(data)
        say('source %d %s' % (n, hashlib.sha256(data).hexdigest()))
        for _ in range(MAX_BYTES // 65536):      # until the client closes
            if not conn.recv(65536):
                break


def serve(listener, handler, arg):
    for _ in range(MAX_CONNS):
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.settimeout(CONN_TIMEOUT_S)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_guard, args=(handler, conn, arg), daemon=True).start()


def _guard(handler, conn, arg):
    try:
        handler(conn, *arg)
    except OSError as e:
        say('%s error %s' % (handler.__name__, e))


def main(argv):
    ports = []
    for name, fn, arg in ([('sink', sink, ()), ('source', source, ())] +
                          [('ack%d' % int(n), sink, (int(n),)) for n in argv]):
        lst = socket.create_server(('127.0.0.1', 0))
        threading.Thread(target=serve, args=(lst, fn, arg), daemon=True).start()
        ports.append('%s=%d' % (name, lst.getsockname()[1]))
    say('ports ' + ' '.join(ports))
    sys.stdin.read()          # until the benchmark closes our input (or ends)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
