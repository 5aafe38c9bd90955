"""Data modes: one connection has the UART to itself, its payload alone on the line (the V.250
online data state). Quectel transparent access mode (QL section 1.2; AT+QIOPEN <access_mode> 2,
section 2.1.4; AT+QISWTMD and ATO, 2.1.10) and Telit online mode (T-IPE 6.2 #SD <connMode> 0,
6.2.1 the escape, 6.4 #SO). No AT exchange per chunk: the line's rate is the limit.

    s = yield modem.open(host, port, data=True)
    yield s.send(buf)               # straight to the UART
    n = yield s.recv_into(buf)      # the stream, as it comes
    yield modem.escape(s)           # +++ with its guard times: command mode, connection kept
    yield modem.resume(s)           # data mode again (send() does it by itself)
    yield s.close()                 # escapes first when needed, then the dialect's close

How the channel is shared: the command that opens the mode (Cmd.hold) hands the UART to this
module's stream consumer at its CONNECT; every other AT command, another socket's fetch or send,
the lifecycle's polls, waits in the channel's queue (Channel.held) and runs once the mode ends,
by the escape's OK or by the module's NO CARRIER (the connection is over). What the module held
meanwhile (URCs, other sockets' data, the rest of this socket's data after an escape: Quectel
buffer access mode, Telit SRING) is reported then and fetched as usual. A module restart inside
the stream (its start-up URC, e.g. Quectel RDY) ends it with NetDown and a resync; an escape that
gets no OK twice does the same.

Limits, from the V.250 design both manuals follow:
- NO CARRIER and the escape's OK arrive inside the byte stream. A payload holding the bytes
  b'\\r\\nNO CARRIER\\r\\n' (or, after +++, b'\\r\\nOK\\r\\n') is taken for the end; the manuals'
  exact signal is the DCD line (AT&C1). For text bodies that may hold such lines use buffer mode.
- one socket in data mode at a time. Its transmit ring goes to the UART as it is (no command
  per chunk): write() and send() work as on any socket.
- receive back-pressure is the UART's (RTS/CTS, AT+IFC): while the socket's ring is full the
  reader leaves the UART unread. Without hardware flow control a UART's own buffer overruns
  then; with it (a pty does it by itself) nothing is lost. An escape or close reads on: bytes
  that do not fit the ring then are counted in `sock.dropped`.
- an escape whose guard time a late byte breaks reaches the peer as '+++' (QL 1.2); Telit's
  #SKIPESC=1 (T-IPE 6.6.3) keeps a good escape from the peer.
"""
from modemkit.at import Cmd, OK, TIMEOUT
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Event, Return
from modemkit import sock

GUARD_MS = 1000     # QL 1.2: 1 s before and after +++; Telit ATS12 default 50 x 20 ms (T-IPE 6.2.1)
# Bytes a write() handed over may still be on their way when it returns (a UART's FIFO, a pty's
# 64 KiB): with the board's baud rate (serial.baud) the guard counts from when the last byte
# has crossed the line, plus SLACK_MS; without it, from the last write plus NO_BAUD_SLACK_MS.
SLACK_MS = 200
NO_BAUD_SLACK_MS = 500
PIECE = 512         # bytes per UART write: the reader gets its turn in between (full duplex)
_SYNC = 2           # modemkit.modem.SYNC, the resync state (modem imports this module)
# bytearrays: indexed as ints on every interpreter
_NC = bytearray(b'\r\nNO CARRIER\r\n')
_OK = bytearray(b'\r\nOK\r\n')
_PLUS = bytearray(b'+++')


class DataMode(object):
    def __init__(self, modem):
        self.m = modem
        self.s = None              # the socket in data mode
        self.susp = None           # a socket an escape left in command mode (it may resume)
        self.esc = False           # +++ written: the module's OK ends the stream
        self.pat = _NC             # the end marker being matched
        self.k = 0                 # its bytes matched so far, held back from the socket
        self.ev = Event(modem.sched)
        self.t = 0                 # ticks of our last write (the guard time counts from it)
        self.guard = modem.cfg.get('guard_ms', GUARD_MS)
        self.b = modem.cfg.get('serial', {}).get('baud', 0) // 100
        self.t0 = 0                # the line's busy period: its start (ticks)...
        self.nq = 0                # ... and the bytes written since
        # end markers: NO CARRIER, the escape's OK, the module's start-up lines
        self.marks = [_NC, _OK] + [bytearray(b'\r\n' + u + b'\r\n') for u in modem.BOOT_URCS]
        c = self._c = Cmd(size=200, timeout_ms=10000)
        c.stream = self._rx
        c.hold = True
        modem.chan.stream_room = self._room
        modem.chan.stream_idle = self._idle

    def _idle(self, flush):
        # Bytes held as a possible end marker (e.g. a CR last in the payload) and nothing after
        # them: payload after all, once the line has been quiet (Channel.run, _IDLE_MS)
        s = self.s
        if not flush:
            return self.k > 0 and s is not None
        if s is not None and self.k:
            s.put(self.pat, 0, self.k)
        self.k = 0

    def _room(self):
        # Back-pressure: the AT reader leaves the UART unread while the ring is full. Closing
        # or escaping, the rest is read (and what does not fit counted in sock.dropped): the
        # module's OK or NO CARRIER is in it.
        s = self.s
        if s is None or self.esc or s.state == sock.CLOSED:
            return 0x10000
        return len(s.rx) - s.n

    def _now(self):
        return self.m.sched.clock.ticks_ms()

    def _crossed(self):
        """Ticks when the last byte written has crossed the line (10 bits a byte)."""
        return ticks_add(self.t0, self.nq * 100 // self.b) if self.b else self.t

    def _wrote(self, n):
        now = self._now()
        if self.b and ticks_diff(now, self._crossed()) > 0:
            self.t0 = now          # the line had gone idle
            self.nq = 0
        self.nq += n
        self.t = now

    # -- entering ----------------------------------------------------------------------------
    def open(self, host, port_, timeout_ms, rx_size):
        m = self.m
        m.need('tcp')
        if self.s is not None:
            raise sock.Unsupported(sock.EOPNOTSUPP, 'socket %d holds the data mode' % self.s.id)
        s = yield m.new_socket(sock.TCP, timeout_ms, rx_size)
        try:
            yield self._enter(s, m.data_cmd(s, host, port_), timeout_ms + 5000)
        except BaseException:
            m.forget(s)
            s.state = sock.CLOSED
            raise
        raise Return(s)

    def resume(self, s):
        """Data mode again for a socket an escape suspended (QL 2.1.10, T-IPE 6.4)."""
        if s is self.s:
            return
        if s is not self.susp or s.state != sock.OPEN:
            raise s.err or sock.Closed(sock.ECONNRESET, 'socket %d: not suspended' % s.id)
        if self.s is not None:
            raise sock.Unsupported(sock.EOPNOTSUPP, 'socket %d holds the data mode' % self.s.id)
        s.pending = False          # what the module held for it follows the CONNECT
        try:
            yield self._enter(s, self.m.data_cmd(s, None, 0), 10000)
        except sock.NetError as e:
            self.susp = None
            s.fail(e)
            raise

    def _enter(self, s, text, timeout_ms):
        c = self._c
        c.clear().add(text)
        c.timeout_ms = timeout_ms
        if self.s is not None:
            raise sock.Unsupported(sock.EOPNOTSUPP, 'socket %d holds the data mode' % self.s.id)
        self.k = 0
        self.esc = False
        s.res = 0                  # Telit: bytes the module announced (SRING) for #SRECV
        self.s = s                 # before the CONNECT: the stream may follow it in one read
        r = yield self.m.chan.send(c)
        st = r.status
        if st == OK and not r.final_is(b'CONNECT'):
            self.m.chan.read_raw(0, None)     # an OK: the module stayed in command mode
            self.m.chan.release()
            st = -1
        if st != OK:
            self.s = None
            if st == TIMEOUT:
                # a CONNECT may still come: the module's state is unknown, resync it
                self.m._trouble(_SYNC, 'no answer to %s' % c.text())
                raise sock.TimedOut(sock.ETIMEDOUT, '%s: no answer' % c.text())
            raise sock.Refused(sock.ECONNREFUSED, '%s: %s' % (c.text(), r.error()))
        s.state = sock.OPEN
        self.susp = None
        self._wrote(0)

    # -- the stream (in the AT reader task: never block) -------------------------------------
    def _rx(self, buf, i, end):
        # Payload goes to the socket as it comes, except bytes that may begin an end marker:
        # held (k) until they are one, or given as payload from the marker's own text.
        s = self.s
        start = i
        k = self.k
        pat = self.pat
        while i < end:
            if not k:
                j = buf.find(b'\r', i, end)
                if j < 0:
                    s.put(buf, i, end)
                    break
                if j > i:
                    s.put(buf, i, j)
                i = j + 1
                k = 1
                continue
            c = buf[i]
            if k == 2:
                # the markers share their first two bytes, CR LF; the third tells them apart
                pat = None
                for p in self.marks:
                    if p[2] == c and (p is not _OK or self.esc):
                        pat = p
                        break
                if pat is None:
                    pat = _NC
            if c == pat[k]:
                k += 1
                i += 1
                if k == len(pat):
                    self.k = 0
                    self._end(pat)
                    return i - start
                continue
            s.put(pat, 0, k)       # held bytes were payload
            k = 0
            if c == 13:
                k = 1
                i += 1
        self.k = k
        self.pat = pat
        return None

    def _end(self, pat):
        s = self.s
        m = self.m
        self.s = None
        m.chan.release()
        if pat is _OK:
            self.susp = s          # the connection stays, in command mode
        elif pat is _NC:
            # QL 1.2, T-IPE 7.5.1: the connection is over; what came before it is readable.
            # The lifecycle checks the module (Telit polls: a lost context shows no URC)
            s.rclosed = True
            if s.tlen:
                s.fail(sock.Closed(sock.ECONNRESET, 'socket %d: connection ended, %d bytes '
                                   'unsent' % (s.id, s.tlen)))
            s.peer_closed()
            m.wake.set()
        else:
            s.fail(sock.NetDown(sock.ENETDOWN, 'module restarted in data mode'))
            m._trouble(_SYNC, 'module restarted (%s in the data stream)'
                       % bytes(pat[2:-2]).decode())
        self.ev.set()
        m.kick()                   # the I/O task: other sockets' exchanges may go again

    def _drop(self, why):
        """The module's state is unknown: stop the stream, give the UART back, resync."""
        s = self.s
        self.s = self.susp = None
        self.k = 0
        chan = self.m.chan
        chan.read_raw(0, None)
        chan.release()
        err = sock.NetDown(sock.ENETDOWN, why)
        if s is not None:
            s.fail(err)
        self.m._trouble(_SYNC, why)
        return err

    # -- sending -----------------------------------------------------------------------------
    def takes(self, s):
        """For the modem's I/O task: 2 if socket s has bytes for the data mode (flush()), 1 if
        s must wait (a data mode holds the UART), 0 if s goes the usual way."""
        if s is self.s or s is self.susp and (s.tlen or s.xn > 0):
            return 2 if s.tlen or s.xn > 0 else 1
        return 1 if self.m.chan.held else 0

    def flush(self, s):
        """The I/O task: the next piece of s's transmit ring straight to the UART (zero-copy),
        after resuming the data mode if an escape left it."""
        if s is not self.s:
            yield self.resume(s)
        if s.tlen:
            tx = s.tx
            k = len(tx) - s.thead
            if k > s.tlen:
                k = s.tlen
            if k > PIECE:
                k = PIECE
            w = self.m.chan.uart.write(tx, k, s.thead) or 0
            kx = 0
        else:
            # the rest of a waiting send() (Socket.xbuf), straight from its buffer
            k = s.xn if s.xn < PIECE else PIECE
            w = kx = self.m.chan.uart.write(s.xbuf, k, s.xoff) or 0
        self._wrote(w)
        if w:
            s.sent(w - kx, kx)
        if w < k:
            yield self.m.sched.sleep_ms(2)     # the UART's buffer is full: wait for the line
        else:
            yield                              # the reader's turn (full duplex)

    def send(self, s, data, n, timeout_ms):
        """A socket without a transmit ring: straight from the caller's buffer."""
        if s is not self.s:
            yield self.resume(s)
        uart = self.m.chan.uart
        sched = self.m.sched
        t0 = self._now()
        off = 0
        while off < n:
            if self.s is not s:
                raise s.err or sock.Closed(sock.ECONNRESET,
                                           'socket %d: connection ended in data mode' % s.id)
            k = n - off
            if k > PIECE:
                k = PIECE
            w = uart.write(data, k, off) or 0
            off += w
            self._wrote(w)
            if w < k:
                # the UART's buffer is full (CTS off, or its FIFO): wait for the line
                if timeout_ms is not None and ticks_diff(self.t, t0) > timeout_ms:
                    raise sock.TimedOut(sock.ETIMEDOUT, 'send timed out')
                yield sched.sleep_ms(2)
            else:
                yield

    # -- leaving -----------------------------------------------------------------------------
    def escape(self, s):
        """+++ with the guard times (QL 1.2: no byte for 1 s before and after, the three within
        1 s; T-IPE 6.2.1 ATS12): the connection stays, the AT channel is back. Returns at once
        if the mode has ended already (NO CARRIER)."""
        sched = self.m.sched
        g = self.guard
        for _ in range(2):
            if self.s is not s:
                return
            wait = g + (SLACK_MS if self.b else NO_BAUD_SLACK_MS) - \
                ticks_diff(self._now(), self._crossed())
            if wait > 0:
                yield sched.sleep_ms(wait)
            if self.s is not s:
                return
            self.ev.clear()
            self.esc = True
            self.m.chan.uart.write(_PLUS, 3, 0)
            self._wrote(3)
            yield self.ev.wait(2 * g + 3000)
            self.esc = False
            # no OK: a byte broke a guard time (the '+++' went out as payload): once more
        raise self._drop('no answer to the escape (+++)')

    def leave(self, s):
        """Before a socket's close: out of data mode (a module takes no AT command in it)."""
        if s is self.s:
            try:
                yield self.escape(s)
            except sock.NetError:
                pass
        if s is self.susp:
            self.susp = None

    def lost(self):
        """The lifecycle failed every socket: a data mode it interrupted is over."""
        if self.s is not None or self.m.chan.held:
            self.s = None
            self.k = 0
            self.m.chan.read_raw(0, None)
            self.m.chan.release()
        self.susp = None
