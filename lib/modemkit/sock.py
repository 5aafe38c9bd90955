"""The socket interface every dialect implements: Socket objects and the error family.

Every transport failure is an OSError subclass with an errno, so one reconnect path in a service
catches them all:
  Refused (ECONNREFUSED)   the peer refused, or the module could not connect
  Closed  (ECONNRESET)     the peer closed or reset the connection while we were sending
  TimedOut (ETIMEDOUT)     an operation ran out of time
  NetDown (ENETDOWN)       the PDP context is gone or the module rebooted
  Unsupported (EOPNOTSUPP) the dialect cannot do this (see its CAPS)
  NetError (EIO)           anything else the module reports (its text is in the message)

A Socket's receive buffer is a fixed ring allocated once (`rx_size`); when it is full the dialect
stops reading from the module (back-pressure) instead of dropping bytes. On dialects that send
with an AT command per chunk (Modem.SEND_CMD), sending goes through a transmit ring (`tx_size`)
that the modem's I/O task empties: write() queues bytes without waiting, and several small
writes go out in one command. Socket methods other than write() are generators:
`n = yield sock.recv_into(buf, timeout_ms)` inside a task.
"""
from modemkit.port import const
from modemkit.sched import Event, Return

ECONNREFUSED = 111
ECONNRESET = 104
ETIMEDOUT = 110
ENETDOWN = 100
EOPNOTSUPP = 95
EIO = 5

TCP = 0
UDP = 1
LISTENER = 2

OPENING = 0
OPEN = 1
EOF = 2         # the peer closed; buffered bytes can still be read
CLOSED = 3


class NetError(OSError):
    pass


class Refused(NetError):
    pass


class Closed(NetError):
    pass


class TimedOut(NetError):
    pass


class NetDown(NetError):
    pass


class Unsupported(NetError):
    pass


_WRAP = const(0x3fffffff)       # byte counters wrap here: they stay small ints everywhere


class Socket(object):
    # Fields most sockets never set live here, on the class, until one does: every field an
    # instance sets costs 16 bytes or more in its attribute table.
    err = None                 # raised by the next operation (e.g. NetDown)
    addr = None                # UDP: (ip, port) of the datagram in rx; listener: client
    backlog = None             # listener: accepted Sockets not yet taken (bounded list)
    res = None                 # the dialect's scratch (e.g. an open result)
    rclosed = False            # the module says the peer closed; drain, then EOF
    dropped = 0                # bytes a pushing module delivered without room (lost)
    xbuf = None                # send(): the rest of its data, which the I/O task may take
    xoff = 0                   # from the application's buffer, after the ring's bytes
    xn = 0

    def __init__(self, modem, kind, rx_size, tx_size=0):
        # a size allocates a ring; a bytearray is used as the ring (see Modem.open)
        self.modem = modem
        self.kind = kind
        self.id = -1               # the module's connection id
        self.state = OPENING
        self.rx = rx_size if isinstance(rx_size, bytearray) else bytearray(rx_size)
        self.head = 0              # ring: next byte to read
        self.n = 0                 # bytes buffered
        self.pending = False       # the module holds data for us not yet fetched
        self.ev = Event(modem.sched)
        self.put_fn = self.put     # bound once: the I/O task hands it to the AT channel
        self.tx = None if not tx_size else tx_size if isinstance(tx_size, bytearray) \
            else bytearray(tx_size)
        self.thead = 0             # transmit ring: next byte the I/O task sends
        self.tlen = 0              # bytes queued, not yet accepted by the module
        self.tqueued = 0           # byte counters (mod _WRAP) for send() to wait on
        self.tsent = 0

    def __repr__(self):
        return '<Socket %d %s %d buffered>' % (self.id, ('opening', 'open', 'eof', 'closed')
                                               [self.state], self.n)

    # -- for dialects ----------------------------------------------------------------------
    def room(self):
        """Bytes the dialect may fetch now; a UDP socket holds one datagram at a time."""
        if self.kind == UDP:
            return 0 if self.n else len(self.rx)
        return len(self.rx) - self.n

    def put(self, buf, start, end):
        """Append buf[start:end]; what does not fit is counted in `dropped` (only a module
        that pushes data unasked can overrun: fetches ask for at most room())."""
        room = len(self.rx) - self.n
        if end - start > room:
            self.dropped += end - start - room
            end = start + room
        rx = self.rx
        size = len(rx)
        pos = (self.head + self.n) % size
        for i in range(start, end):
            rx[pos] = buf[i]
            pos += 1
            if pos == size:
                pos = 0
        self.n += end - start
        self.ev.set()

    def fail(self, err):
        """The connection is gone: wake every waiter with err."""
        if self.state != CLOSED:
            self.err = err
        self.pending = False
        self.tlen = 0
        self.ev.set()

    def sent(self, k, kx=0):
        """The I/O task's chunk was accepted by the module: k bytes of the ring at thead, then
        kx bytes of send()'s buffer at xoff."""
        self.thead = (self.thead + k) % len(self.tx)
        self.tlen -= k
        if kx:
            self.tqueued = (self.tqueued + kx) & _WRAP     # queued and sent at once
            if self.xn >= kx:          # send() still waits for them (it may have timed out)
                self.xoff += kx
                self.xn -= kx
        self.tsent = (self.tsent + k + kx) & _WRAP
        self.ev.set()

    def peer_closed(self):
        if self.state == OPEN or self.state == OPENING:
            self.state = EOF
        self.ev.set()

    # -- the interface ---------------------------------------------------------------------
    def available(self):
        return self.n

    def recv_into(self, buf, timeout_ms=None, nbytes=None, off=0):
        """Bytes copied into buf[off:] (0 at end of stream). Raises TimedOut, or the socket's
        error. UDP: one whole datagram (truncated to buf); its sender is in self.addr. `off`
        rather than a memoryview of the rest: Python 2.7's memoryview takes no int items."""
        want = len(buf) - off if nbytes is None else nbytes
        yield self._wait_data(timeout_ms)
        raise Return(self.take_into(buf, want, off))

    def take_into(self, buf, want, off=0):
        """recv_into() without waiting: copies what is there into buf[off:], up to want bytes;
        their count."""
        k = want if want < self.n else self.n
        rx = self.rx
        size = len(rx)
        h = self.head
        for i in range(off, off + k):
            buf[i] = rx[h]
            h += 1
            if h == size:
                h = 0
        if self.kind == UDP:
            self.n = 0             # the rest of a datagram that did not fit is discarded
            self.head = 0
        else:
            self.head = h
            self.n -= k
        if self.pending:
            self.modem.kick()
        return k

    def _wait_data(self, timeout_ms):
        # checks again after every wake-up: data, end of stream, error, or time up
        while self.n == 0:
            if self.err is not None:
                raise self.err
            if self.state >= EOF:
                raise Return(None)
            self.ev.clear()
            if not (yield self.ev.wait(timeout_ms)):
                raise TimedOut(ETIMEDOUT, 'receive timed out')

    def write(self, buf, n=None, off=0):
        """Queue buf[off:off+n] for the I/O task without waiting; returns how many bytes fit.
        Only on dialects with a transmit ring (tx is not None); allocates nothing."""
        if self.err is not None:
            raise self.err
        if self.state != OPEN:
            raise Closed(ECONNRESET, 'socket not open')
        tx = self.tx
        size = len(tx)
        if n is None:
            n = len(buf) - off
        if self.kind == UDP:
            # one datagram at a time, never split across the ring's end
            if self.tlen or n > size:
                return 0
            self.thead = 0
        room = size - self.tlen
        if n > room:
            n = room
        pos = (self.thead + self.tlen) % size
        for i in range(off, off + n):
            tx[pos] = buf[i]
            pos += 1
            if pos == size:
                pos = 0
        self.tlen += n
        self.tqueued = (self.tqueued + n) & _WRAP
        if n:
            self.modem.kick()
        return n

    def send(self, data, timeout_ms=None, nbytes=None):
        """Send all of data and wait until the module has accepted it (in the dialect's chunk
        size). Returns the byte count; raises TimedOut, Closed or the socket's error."""
        n = len(data) if nbytes is None else nbytes
        if self.tx is None:
            if self.err is not None:
                raise self.err
            if self.state != OPEN:
                raise Closed(ECONNRESET, 'socket not open')
            yield self.modem.send(self, data, n, timeout_ms)
            raise Return(n)
        if self.kind == UDP and n > min(len(self.tx), self.modem.SEND_CHUNK):
            raise NetError(EIO, 'datagram of %d bytes is too large' % n)
        off = self.write(data, n, 0)
        if off < n and self.kind != UDP and self.xbuf is None:
            # The ring is full: the I/O task takes the rest straight from data, after the
            # ring's bytes and in the same command (one up to the command's maximum, not one
            # per ring's worth), and without copying it. data stays ours until send() returns.
            # One send() at a time does this; another meanwhile waits for room in the ring.
            self.xbuf = data
            self.xoff = off
            self.xn = n - off
            self.modem.kick()
            try:
                while self.xn > 0:
                    yield self._wait_tx(timeout_ms)
            finally:
                self.xbuf = None
                self.xn = 0
            off = n
        while off < n:
            yield self._wait_tx(timeout_ms)
            off += self.write(data, n - off, off)
        target = self.tqueued
        while 0 < ((target - self.tsent) & _WRAP) < 0x20000000:   # not yet reached, wrap-safe
            yield self._wait_tx(timeout_ms)
        if self.err is not None:
            raise self.err
        raise Return(n)

    def _wait_tx(self, timeout_ms):
        if self.err is not None:
            raise self.err
        if self.state == CLOSED:
            raise Closed(ECONNRESET, 'socket closed while sending')
        self.ev.clear()
        if not (yield self.ev.wait(timeout_ms)):
            raise TimedOut(ETIMEDOUT, 'send timed out')

    def sendto(self, data, addr, timeout_ms=None):
        """UDP service sockets: one datagram to addr (ip, port)."""
        yield self.modem.sendto(self, data, addr, timeout_ms)
        raise Return(len(data))

    def accept(self, timeout_ms=None):
        """Listener: the next incoming connection (a Socket already open)."""
        while not self.backlog:
            if self.err is not None:
                raise self.err
            self.ev.clear()
            if not (yield self.ev.wait(timeout_ms)):
                raise TimedOut(ETIMEDOUT, 'accept timed out')
        raise Return(self.backlog.pop(0))

    def close(self):
        if self.state != CLOSED:
            self.state = CLOSED
            self.tlen = 0
            self.ev.set()               # senders still waiting give up
            dm = getattr(self.modem, 'dm', None)     # modems without data modes have none
            if dm is not None:
                yield dm.leave(self)                # a data mode takes no AT command
            yield self.modem.close(self)
