"""A byte-level fake UART on a fake clock, for tests on every interpreter.

FakeClock keeps time in integer milliseconds and only moves when the scheduler idles, so tests
never sleep. FakeUart hands the host at most `chunk` bytes per read (default 3), the way a real
UART delivers whatever happened to arrive, which is what shakes out parser bugs. The modem side is
either a Script (a strict, replayed conversation) or any peer object with:
  host_write(buf, n, off) bytes buf[off:off+n] the host wrote (copy them if they must be kept)
  next_event_ms()         absolute fake time of the peer's next timer, or None
  run_until(t_ms)         run everything due up to t_ms (it may call uart.feed)
  host_room (optional)    a function: bytes the peer takes now (its CTS and line pacing), or
                          None; write() then blocks on the fake clock, as a real UART's does
All buffers are preallocated, so a steady-state exchange through the fake allocates nothing.
"""
from modemkit.port import ticks_add, ticks_diff


class FakeClockStalled(Exception):
    """Nothing is runnable and nothing is scheduled: waiting would never end."""


class FakeClock(object):
    def __init__(self, start=0):
        self.now = start
        self._devices = []

    def ticks_ms(self):
        return self.now

    def add_device(self, dev):
        self._devices.append(dev)

    def _next_event(self):
        best = None
        for d in self._devices:
            t = d.next_event_ms()
            if t is not None and (best is None or ticks_diff(t, best) < 0):
                best = t
        return best

    def idle(self, ms, stream=None):
        """Advance up to `ms` (ms < 0: without limit), stopping once `stream` has bytes."""
        end = None if ms < 0 else ticks_add(self.now, ms)
        for _ in range(100000):
            nxt = self._next_event()
            if nxt is None or (end is not None and ticks_diff(nxt, end) > 0):
                if end is None:
                    raise FakeClockStalled('idle forever with no timer and no pending bytes')
                nxt = end
            if ticks_diff(nxt, self.now) > 0:
                self.now = nxt
            for d in self._devices:
                d.run_until(self.now)
            if stream is not None and stream.any():
                return
            if end is not None and ticks_diff(end, self.now) <= 0:
                return
        raise FakeClockStalled('a device keeps scheduling events in the past')


class ScriptError(Exception):
    """The host wrote something the scripted conversation did not expect."""


class FakeUart(object):
    """The host's view: write(), readinto(), any(), wait_readable(); the modem's view: feed()."""

    def __init__(self, clock, chunk=3, size=1024, marks=32):
        self.clock = clock
        self.chunk = chunk
        self._buf = bytearray(size)
        self._head = 0    # next byte the host reads (positions count up; index is pos % size)
        self._ready = 0   # bytes before this position are readable now
        self._tail = 0    # end of fed bytes
        self._mark_end = [0] * marks   # pending deliveries: (end position, due time) ring
        self._mark_at = [0] * marks
        self._m0 = 0
        self._m1 = 0
        self.peer = None
        self._room = None
        self.written = 0
        self.read_count = 0
        clock.add_device(self)

    def attach(self, peer):
        self.peer = peer
        if hasattr(peer, 'next_event_ms'):
            self.clock.add_device(peer)
        if hasattr(peer, 'bind'):
            peer.bind(self)
        self._room = getattr(peer, 'host_room', None)

    # -- modem side ------------------------------------------------------------------------
    def feed(self, data, at_ms=None, n=None):
        """Queue bytes for the host, readable from `at_ms` (default: now), after earlier ones."""
        if not isinstance(data, bytearray):
            data = bytearray(data)  # index as ints on every interpreter
        if n is None:
            n = len(data)
        size = len(self._buf)
        if self._tail + n - self._head > size:
            raise ScriptError('fake UART receive buffer full (%d bytes)' % size)
        if self._m1 - self._m0 >= len(self._mark_end):
            raise ScriptError('too many pending deliveries')
        pos = self._tail
        buf = self._buf
        for i in range(n):
            buf[(pos + i) % size] = data[i]
        self._tail = pos + n
        k = self._m1 % len(self._mark_end)
        self._mark_end[k] = self._tail
        self._mark_at[k] = self.clock.now if at_ms is None else at_ms
        self._m1 += 1
        self.run_until(self.clock.now)

    def next_event_ms(self):
        if self._m0 == self._m1:
            return None
        return self._mark_at[self._m0 % len(self._mark_end)]

    def run_until(self, t):
        while self._m0 != self._m1:
            k = self._m0 % len(self._mark_end)
            if ticks_diff(self._mark_at[k], t) > 0:
                break
            self._ready = self._mark_end[k]
            self._m0 += 1

    # -- host side -------------------------------------------------------------------------
    def write(self, buf, n=None, off=0):
        if n is None:
            n = len(buf) - off
        self.written += n
        if self.peer is None:
            return n
        room = self._room
        done = 0
        waited = 0
        while room is not None and n - done > room():
            # the peer holds the flow: hand what it takes, wait (fake time) for the rest
            k = room()
            if k > 0:
                self.peer.host_write(buf, k, off + done)
                done += k
            elif waited < 600000:
                self.clock.idle(1)
                waited += 1
            else:
                raise ScriptError('host write blocked for %d ms' % waited)
        self.peer.host_write(buf, n - done, off + done)
        return n

    def any(self):
        return self._ready - self._head

    def readinto(self, buf):
        n = self._ready - self._head
        if n > self.chunk:
            n = self.chunk
        if n > len(buf):
            n = len(buf)
        size = len(self._buf)
        src = self._buf
        pos = self._head
        for i in range(n):
            buf[i] = src[(pos + i) % size]
        self._head = pos + n
        self.read_count += n
        return n

    def wait_readable(self, ms):
        if not self.any():
            self.clock.idle(ms, self)
        return self.any() > 0


class Script(object):
    """A strict conversation: ('>', b'AT\\r') the host must write exactly this; ('<', b'OK')
    the modem answers; ('~', ms) the following answers come ms later. Answers are fed as soon as
    the host has written everything expected before them."""

    def __init__(self, steps):
        self.steps = [(kind, val if kind == '~' else bytearray(val)) for kind, val in steps]
        self._i = 0        # current step
        self._off = 0      # bytes of the current '>' step already matched
        self._delay = 0
        self.uart = None

    def bind(self, uart):
        self.uart = uart
        self._advance()

    def _advance(self):
        steps = self.steps
        while self._i < len(steps):
            kind, val = steps[self._i]
            if kind == '<':
                at = ticks_add(self.uart.clock.now, self._delay)
                self.uart.feed(val, at)
            elif kind == '~':
                self._delay = val
            else:
                return
            self._i += 1

    def host_write(self, buf, n, off=0):
        # buf is a bytearray (the AT channel writes nothing else), so buf[j] is an int everywhere.
        for j in range(off, off + n):
            if self._i >= len(self.steps):
                raise ScriptError(self._diff(buf, n, j, b''))
            want = self.steps[self._i][1]   # _advance leaves _i on a '>' step
            if buf[j] != want[self._off]:
                raise ScriptError(self._diff(buf[off:off + n], n, j - off, want))
            self._off += 1
            if self._off == len(want):
                self._off = 0
                self._i += 1
                self._delay = 0
                self._advance()

    def _diff(self, buf, n, j, want):
        got = bytes(buf[:n])
        return ('step %d: expected %r, host wrote %r (mismatch at byte %d of the write, '
                '%d bytes of the step already matched)' % (self._i, bytes(want), got, j, self._off))

    def done(self):
        """True once every step has been played; raises with the first missing step otherwise."""
        if self._i < len(self.steps):
            raise ScriptError('script not finished: next step %d is %r'
                              % (self._i, self.steps[self._i]))
        return True
