"""`Net`: the real networking behind emulated sockets, on the emulator's loop.

Only 127.0.0.0/8 is ever dialled or bound: a name resolves through the `hosts` map only (there is
no real DNS), and any other address fails as an unreachable network would, and is logged.
`latency_s` delays every delivery in both directions (connect, data, close, accept, datagrams).

Event callbacks (any object; a missing method means "not interested"):
`on_connect(c)`, `on_error(c, why)`, `on_data(c, data)`, `on_close(c, reset)`,
`on_accept(listener, c)`, `on_datagram(u, data, addr)`.
`why` is one of 'dns', 'unreachable', 'refused', 'reset', 'error'.
"""

import errno
import fcntl
import ipaddress
import logging
import socket
import struct
import termios
from collections import deque

log = logging.getLogger('mktools.sim.core.net')

LOOPBACK = ipaddress.ip_network('127.0.0.0/8')
BIND_ADDR = '127.0.0.1'
READ_SIZE = 4096
SEND_BUFFER = 64 * 1024      # bytes a connection accepts before the kernel has taken them
RX_IN_FLIGHT = 64 * 1024     # bytes read but not yet delivered (latency) before reading pauses
CLOSE_FLUSH_S = 5.0          # how long close() keeps flushing before it resets instead
EVENTS_MAX = 1000


class NetError(Exception):
    """A network operation failed; `why` is a short reason ('dns', 'unreachable', ...)."""

    def __init__(self, why, detail=''):
        super().__init__(f'{why}: {detail}' if detail else why)
        self.why = why


def is_loopback(ip):
    try:
        return ipaddress.ip_address(ip) in LOOPBACK
    except ValueError:
        return False


def _emit(events, name, *args):
    fn = getattr(events, name, None)
    if fn is not None:
        fn(*args)


class Net:
    """Loopback-only TCP/UDP with a name map, latency and fault switches."""

    def __init__(self, loop, hosts=None, latency_s=0.0):
        self.loop = loop
        self.hosts = {name.lower(): ip for name, ip in (hosts or {}).items()}
        self.latency_s = latency_s
        self.dns_fail = False
        self.events = deque(maxlen=EVENTS_MAX)
        self.open = set()            # every live TcpConn / TcpListener / UdpSocket

    def log(self, event, **kw):
        entry = {'t': round(self.loop.now(), 6), 'event': event, **kw}
        self.events.append(entry)
        log.info('net %s', entry)

    def later(self, fn, *args):
        """Run `fn(*args)` after the network latency."""
        return self.loop.call_later(self.latency_s, fn, *args)

    def resolve(self, name):
        """A name (through the map) or an IPv4 literal -> a loopback address, else NetError."""
        try:
            ipaddress.IPv4Address(name)
            ip = name
        except ValueError:
            if self.dns_fail:
                self.log('dns_fail', name=name)
                raise NetError('dns', name) from None
            ip = self.hosts.get(name.lower(), '127.0.0.1' if name.lower() == 'localhost' else None)
            if ip is None:
                self.log('dns_unknown', name=name)
                raise NetError('dns', name) from None
        self.check(ip)
        return ip

    def check(self, ip):
        """Refuse (and log) any address outside 127.0.0.0/8."""
        if not is_loopback(ip):
            self.log('blocked', ip=ip)
            raise NetError('unreachable', ip)

    def tcp_connect(self, host, port, events):
        """Start a non-blocking connect; the outcome arrives as on_connect / on_error."""
        conn = TcpConn(self, events, remote=(host, port))
        try:
            ip = self.resolve(host)
        except NetError as e:
            self.later(conn._fail, e.why)
            return conn
        conn.remote = (ip, port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        conn._attach(sock)
        code = sock.connect_ex((ip, port))
        if code not in (0, errno.EINPROGRESS):
            self.later(conn._fail, 'refused' if code == errno.ECONNREFUSED else 'error')
        else:
            self.loop.add_writer(sock, conn._connect_done)
        return conn

    def tcp_listen(self, port, events):
        """Listen on 127.0.0.1:`port` (0 = any); accepted connections arrive as on_accept."""
        return TcpListener(self, port, events)

    def udp_open(self, local_port, events):
        """A UDP socket bound to 127.0.0.1:`local_port` (0 = any)."""
        return UdpSocket(self, local_port, events)

    def close_all(self):
        """Abort every socket (reboot, shutdown)."""
        for item in list(self.open):
            item.abort()


class TcpConn:
    """One TCP connection: `send`, `close` (FIN), `abort` (RST), `pause`/`resume` reading."""

    def __init__(self, net, events, remote):
        self.net = net
        self.events = events
        self.remote = remote
        self.local = None
        self.sock = None
        self.connected = False
        self.closed = False
        self.paused = False
        self.bytes_sent = 0          # accepted by send()
        self.bytes_received = 0      # delivered to on_data
        self._out = bytearray()      # waiting for the kernel
        self._delayed = 0            # accepted, still in the latency delay
        self._rx_in_flight = 0
        self._reading = False
        self._closing = False

    def _attach(self, sock):
        self.sock = sock
        self.net.open.add(self)

    def _connect_done(self):
        self.net.loop.remove_writer(self.sock)
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.net.later(self._fail, 'refused' if code == errno.ECONNREFUSED else 'error')
            return
        self._established()
        self.net.later(self._notify_connect)

    def _established(self):
        self.connected = True
        self.local = self.sock.getsockname()
        self._update_reader()

    def _notify_connect(self):
        if not self.closed:
            _emit(self.events, 'on_connect', self)

    def _fail(self, why):
        if self.closed:
            return
        self.net.log('connect_failed', remote=self.remote, why=why)
        self._teardown()
        _emit(self.events, 'on_error', self, why)

    # -- sending ----------------------------------------------------------------------------

    def send(self, data):
        """Queue bytes for the peer; returns how many the bounded send buffer accepted."""
        if self.closed or self._closing or not self.connected:
            return 0
        room = SEND_BUFFER - self.buffered()
        data = bytes(data[:max(0, room)])
        if data:
            self.bytes_sent += len(data)
            self._delayed += len(data)
            if self.net.latency_s:
                self.net.later(self._enqueue, data)
            else:
                self._enqueue(data)
        return len(data)

    def buffered(self):
        """Bytes accepted by send() that the kernel has not taken yet."""
        return self._delayed + len(self._out)

    def unacked(self):
        """Bytes sent but not yet acknowledged by the peer (ours + the kernel's queue)."""
        if self.sock is None or self.closed:
            return self.buffered()
        queued = struct.unpack('i', fcntl.ioctl(self.sock, termios.TIOCOUTQ, b'\0' * 4))[0]
        return self.buffered() + queued

    def _enqueue(self, data):
        self._delayed -= len(data)
        if self.closed:
            return
        self._out += data
        self._flush()

    def _flush(self):
        if self.closed:
            return
        try:
            while self._out:
                n = self.sock.send(self._out)
                del self._out[:n]
        except BlockingIOError:
            self.net.loop.add_writer(self.sock, self._flush)
            return
        except OSError:
            self._lost(reset=True)
            return
        self.net.loop.remove_writer(self.sock)
        if self._closing and not self._delayed:
            self._teardown()

    # -- receiving --------------------------------------------------------------------------

    def pause(self):
        """Stop reading from the kernel (the module's buffer is full): TCP back-pressure."""
        self.paused = True
        self._update_reader()

    def resume(self):
        self.paused = False
        self._update_reader()

    def _update_reader(self):
        want = (self.connected and not self.closed and not self._closing and not self.paused
                and self._rx_in_flight < RX_IN_FLIGHT)
        if want != self._reading:
            (self.net.loop.add_reader(self.sock, self._readable) if want
             else self.net.loop.remove_reader(self.sock))
            self._reading = want

    def _readable(self):
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self._lost(reset=True)
            return
        if not data:
            self._lost(reset=False)
            return
        self._rx_in_flight += len(data)
        self._update_reader()
        self.net.later(self._deliver, data)

    def _deliver(self, data):
        self._rx_in_flight -= len(data)
        if self.closed:
            return
        self.bytes_received += len(data)
        _emit(self.events, 'on_data', self, data)
        self._update_reader()

    def _lost(self, reset):
        """The peer closed (FIN) or reset the connection."""
        self.net.log('peer_closed', remote=self.remote, reset=reset)
        self._stop_io()
        self.net.later(self._notify_close, reset)

    def _notify_close(self, reset):
        if not self.closed:
            self._teardown()
            _emit(self.events, 'on_close', self, reset)

    # -- closing ----------------------------------------------------------------------------

    def close(self):
        """Close gracefully: what was accepted is still sent, then FIN."""
        if self.closed or self._closing:
            return
        self._closing = True
        self._update_reader()
        if not self.buffered():
            self._teardown()
            return
        self.net.loop.call_later(CLOSE_FLUSH_S + self.net.latency_s, self._flush_timeout)

    def _flush_timeout(self):
        if not self.closed:
            self.net.log('close_flush_timeout', remote=self.remote, left=self.buffered())
            self.abort()

    def abort(self):
        """Close with RST (SO_LINGER 0)."""
        if self.closed:
            return
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self._teardown()

    def _stop_io(self):
        if self.sock is not None:
            self.net.loop.remove_reader(self.sock)
            self.net.loop.remove_writer(self.sock)
        self._reading = False
        self.connected = False

    def _teardown(self):
        self._stop_io()
        self.closed = True
        if self.sock is not None:
            self.sock.close()
        self.net.open.discard(self)


class TcpListener:
    """A listening socket on 127.0.0.1; `port` is the bound port."""

    def __init__(self, net, port, events):
        self.net = net
        self.events = events
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((BIND_ADDR, port))
        except OSError as e:
            self.sock.close()
            net.log('listen_failed', port=port, why=str(e))
            raise NetError('in use', str(port)) from None
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        net.open.add(self)
        net.loop.add_reader(self.sock, self._accept)

    def _accept(self):
        try:
            sock, addr = self.sock.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        conn = TcpConn(self.net, self.events, remote=addr)
        conn._attach(sock)
        conn._established()
        self.net.later(self._notify, conn)

    def _notify(self, conn):
        if not conn.closed:
            _emit(self.events, 'on_accept', self, conn)

    def close(self):
        if not self.closed:
            self.closed = True
            self.net.loop.remove_reader(self.sock)
            self.sock.close()
            self.net.open.discard(self)

    abort = close


class UdpSocket:
    """A UDP socket on 127.0.0.1; `local` is its (ip, port), `port` the bound port."""

    def __init__(self, net, local_port, events):
        self.net = net
        self.events = events
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((BIND_ADDR, local_port))
        except OSError as e:
            self.sock.close()
            net.log('bind_failed', port=local_port, why=str(e))
            raise NetError('in use', str(local_port)) from None
        self.sock.setblocking(False)
        self.local = self.sock.getsockname()
        self.port = self.local[1]
        self.closed = False
        net.open.add(self)
        net.loop.add_reader(self.sock, self._readable)

    def sendto(self, data, addr):
        """Send one datagram to (host, port) after the latency; returns its size, 0 if refused."""
        host, port = addr
        try:
            ip = self.net.resolve(host)
        except NetError:
            return 0
        self.net.later(self._send_now, bytes(data), (ip, port))
        return len(data)

    def _send_now(self, data, addr):
        if self.closed:
            return
        try:
            self.sock.sendto(data, addr)
        except OSError as e:
            self.net.log('udp_send_failed', addr=addr, why=str(e))

    def _readable(self):
        try:
            data, addr = self.sock.recvfrom(65535)
        except (BlockingIOError, ConnectionRefusedError):
            return
        self.net.later(self._deliver, data, addr)

    def _deliver(self, data, addr):
        if not self.closed:
            _emit(self.events, 'on_datagram', self, data, addr)

    def close(self):
        if not self.closed:
            self.closed = True
            self.net.loop.remove_reader(self.sock)
            self.sock.close()
            self.net.open.discard(self)

    abort = close
