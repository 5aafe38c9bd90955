"""A blocking, socket-like face on the modem's sockets, for code that is not a task, such as
existing MicroPython libraries (umqtt.simple, requests) that `import socket`:

    from modemkit import usock
    usock.install(modem)          # sys.modules['socket'] and ['usocket'] now reach the modem
    from umqtt.simple import MQTTClient

Each call runs the scheduler (the modem's tasks keep working) until the operation ends or its
timeout passes; call them from plain code, not from inside a task.

Writes, on dialects with a transmit ring (Quectel, Telit): the bytes go into the socket's ring
and the scheduler runs pass by pass, without a task or generator (so a write allocates nothing
the modem's own tasks do not), until the module has accepted them, at most the socket's timeout
(WRITE_MS without one), then TimedOut. A blocking write returns only then, as Socket.send does:
with no stack running in the background, bytes left in the ring would wait for the next call
(a publish followed by time.sleep would leave the broker without it). A non-blocking socket
(settimeout(0)) queues what fits and returns; its bytes go out in later calls, flush() or
close(). Other dialects and UDP send each write through Socket.send.
"""
import sys

from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Return
from modemkit.sock import TCP, UDP, OPEN, TimedOut, NetError, EIO, ETIMEDOUT

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 4
error = OSError
timeout = TimedOut
WRITE_MS = 60000           # a blocking write or close waits at most this for the ring to empty


class Socket(object):
    def __init__(self, modem, kind=TCP):
        self._m = modem
        self._kind = kind
        self._s = None
        self._ms = None            # None: block; 0: non-blocking; else the timeout in ms

    def _run(self, gen):
        if self._m.sched.cur is not None:
            raise NetError(EIO, 'blocking socket call from inside a task')
        return self._m.sched.run(gen)

    def _open(self):
        if self._s is None:
            raise OSError(107, 'socket not connected')   # ENOTCONN
        return self._s

    def settimeout(self, seconds):
        self._ms = None if seconds is None else int(seconds * 1000)

    def setblocking(self, flag):
        self._ms = None if flag else 0

    def setsockopt(self, *args):
        pass                       # options of a host stack mean nothing to the module

    def connect(self, addr):
        ms = 30000 if self._ms is None else self._ms or 30000
        self._s = self._run(self._m.open(addr[0], addr[1], self._kind, ms))

    def write(self, buf, n=None):
        s = self._open()
        if isinstance(buf, str):
            buf = buf.encode()     # MicroPython streams accept text; so does this one
        n = len(buf) if n is None else n
        if s.tx is None or s.kind != TCP:
            return self._run(s.send(buf, self._ms or None, n))
        k = s.write(buf, n)        # into the transmit ring: no task, nothing allocated
        if self._ms == 0:
            return k or None       # non-blocking: what fit, None for none (as a stream)
        if self._m.sched.cur is not None:
            raise NetError(EIO, 'blocking socket call from inside a task')
        if k < n:
            self._room(s, buf, k, n)
        self.flush()
        return n

    def _room(self, s, buf, off, n):
        # The ring is full: run the scheduler pass by pass (no task, nothing allocated) while
        # the I/O task frees room, within one deadline for the whole write. A pass idles at
        # most until the soonest deadline of a task, or until the UART has bytes; the I/O task
        # waits with a timeout while it sends, so each pass ends; run_once() False means no task
        # can ever move again.
        sched = self._m.sched
        clock = sched.clock
        end = ticks_add(clock.ticks_ms(), self._ms or WRITE_MS)
        while True:
            off += s.write(buf, n - off, off)
            if off == n:
                return
            if ticks_diff(end, clock.ticks_ms()) <= 0 or not sched.run_once():
                raise TimedOut(ETIMEDOUT, 'send timed out')

    send = write

    def sendall(self, buf):
        self.write(buf)

    def sendto(self, buf, addr):
        if self._s is None:
            self.connect(addr)
        return self.write(buf)

    def readinto(self, buf, n=None):
        """Like a MicroPython stream: in blocking mode fill `n` bytes unless the stream ends;
        non-blocking, what is there now or None."""
        s = self._open()
        want = len(buf) if n is None else n
        if self._ms == 0:
            if not s.available():
                self._run(self._pass())    # the modem's tasks take a step, nothing waited for
            if not s.available():
                return None
            return self._run(s.recv_into(buf, 0, want))
        return self._run(self._fill(s, buf, want))

    def _fill(self, s, buf, want):
        got = 0
        part = None
        while got < want:
            if got and part is None:
                part = memoryview(buf)
            n = yield s.recv_into(buf if not got else part[got:], self._ms, want - got)
            if not n:
                break
            got += n
        raise Return(got)

    def _pass(self):
        # a deadline already due: the scheduler runs what is ready, then ends this at once
        yield self._m.sched.sleep_ms(0)

    def read(self, n=-1):
        if n < 0:
            out = bytearray()
            chunk = bytearray(256)
            while True:
                k = self.readinto(chunk)
                if not k:
                    return bytes(out)
                out.extend(chunk[:k])
        buf = bytearray(n)
        k = self.readinto(buf)
        if k is None:
            return None
        return bytes(buf[:k])

    def recv(self, n):
        s = self._open()
        buf = bytearray(n)
        k = self._run(s.recv_into(buf, self._ms))
        return bytes(buf[:k])

    def recvfrom(self, n):
        data = self.recv(n)
        return data, self._s.addr

    def readline(self):
        out = bytearray()
        one = bytearray(1)
        while True:
            if not self.readinto(one):
                return bytes(out)
            out.extend(one)
            if one[0] == 10:
                return bytes(out)

    def flush(self):
        """Run the scheduler until the module has accepted every queued byte (no task, nothing
        allocated); TimedOut after the socket's timeout (WRITE_MS without one)."""
        if not self._drain(self._open()):
            raise TimedOut(ETIMEDOUT, 'send timed out')

    def _drain(self, s):
        # False if the deadline passed or no task can move; errors are the socket's
        sched = self._m.sched
        if sched.cur is not None:
            raise NetError(EIO, 'blocking socket call from inside a task')
        clock = sched.clock
        end = ticks_add(clock.ticks_ms(), self._ms or WRITE_MS)
        while s.tlen and s.state == OPEN:
            if s.err is not None:
                raise s.err
            if ticks_diff(end, clock.ticks_ms()) <= 0 or not sched.run_once():
                return False
        return True

    def close(self):
        s = self._s
        if s is not None:
            self._s = None
            # bytes still in the transmit ring go out first, as a host stack's close sends
            # them; on an error or the deadline they are dropped with the connection
            try:
                self._drain(s)
            except OSError:
                pass
            self._run(s.close())


class _Module(object):
    """What `import socket` gives once install(modem) has run."""

    def __init__(self, modem):
        self._m = modem
        for k, v in globals().items():
            if k.isupper() or k in ('error', 'timeout'):
                setattr(self, k, v)

    def socket(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        return Socket(self._m, UDP if type == SOCK_DGRAM else TCP)

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        # the module resolves names itself when it connects
        return [(AF_INET, type or SOCK_STREAM, proto, '', (host, port))]


def install(modem):
    """Make `import socket` and `import usocket` reach the modem; returns that module."""
    mod = _Module(modem)
    sys.modules['socket'] = mod
    sys.modules['usocket'] = mod
    return mod
