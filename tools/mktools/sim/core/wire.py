"""`Wire`: the serial line between the DTE (a frontend) and the DCE (the `Modem`).

Each direction is its own line (full duplex).  With a baud rate a byte takes 10/baud seconds
(8N1: start + 8 data + stop bits); bytes come out in order at the time they finish crossing,
plus `latency_s`.  Counters count every byte put on the line, before faults.

Hardware flow control (RTS/CTS, the Wavecom manuals' AT+IFC: MT App. B "Serial Communication",
"either hardware (RTS/CTS) or none") is emulated in both directions:

- towards the DTE, `wire.rts`: a DTE that stops reading holds its RTS off.  A frontend that
  cannot hand bytes to its DTE keeps them (`frontend.pending()`); once more than `DTE_HIGH`
  bytes wait for the DTE (on the line and in the frontend) `rts` goes False, and True again at
  `DTE_LOW` or less, when the wire calls `dce.dte_resumed()`.  The modem's network sources
  check it and stop reading their sockets (TCP back-pressure to the peer);
- from the DTE, `wire.cts`: the modem clears it (`set_cts(False)`) while it cannot take more
  input; a frontend reads its DTE only while `dte_may_send()` (CTS on, and less than
  `DTE_AHEAD` bytes on a paced line), so a DTE's writes wait in the pty or socket as they would
  at a UART with CTS off, or at the line's own pace.  Frontends are told by `dte.input_flow()`.
"""

import logging
import random
from collections import deque

log = logging.getLogger('mktools.sim.core.wire')

PIECE_S = 0.001             # pacing delivers bytes in pieces of at most 1 ms of line time
BACKLOG_MAX = 1 << 20       # bytes in flight per direction before the line overflows
DTE_HIGH = 64 * 1024        # bytes waiting for the DTE above which it holds the flow (RTS off)
DTE_LOW = 16 * 1024         # ... at or below which it takes output again (RTS on)
DTE_AHEAD = 4096            # DTE bytes on a paced line before the frontend stops reading more
TRACE_LIMIT = 1 << 20       # bytes of trace text written at most
EVENTS_MAX = 1000


class _Direction:
    """One direction of the line: fault filter, pacing, delivery."""

    def __init__(self, wire, name, deliver):
        self.wire = wire
        self.name = name
        self.deliver = deliver
        self.free_at = 0.0          # when the line finishes sending what it already has
        self.in_flight = 0          # bytes put on the line and not yet delivered

    def put(self, data):
        wire = self.wire
        data = wire._faults(self.name, data)
        if not data:
            return
        if self.in_flight + len(data) > BACKLOG_MAX:
            wire.log('overflow', direction=self.name, lost=len(data))
            return
        if not wire.baud and not wire.latency_s:
            self.deliver(data)
            return
        byte_s = 10.0 / wire.baud if wire.baud else 0.0
        start = max(self.free_at, wire.loop.now())
        size = max(1, int(PIECE_S / byte_s)) if byte_s else len(data)
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
        for piece in pieces:
            start += len(piece) * byte_s
            self.in_flight += len(piece)
            wire.loop.call_at(start + wire.latency_s, self._arrive, piece)
        self.free_at = start

    def _arrive(self, piece):
        self.in_flight -= len(piece)
        self.deliver(piece)
        self.wire._flow(self.name)


class Wire:
    """Serial line: `from_dte`/`to_dte` in, `dce.receive`/`dte.deliver` out.

    `dce` is set by `Modem.attach(wire)`, `dte` by the frontend."""

    def __init__(self, loop, baud=None, latency_s=0.0, seed=0, trace=None):
        self.loop = loop
        self.baud = baud
        self.latency_s = latency_s
        self.dce = None
        self.dte = None
        self.count_up = 0
        self.count_down = 0
        self.drop_rate = 0.0
        self.garble_rate = 0.0
        self.random = random.Random(seed)
        self.events = deque(maxlen=EVENTS_MAX)
        self.trace = trace                   # a text file object, or None
        self._trace_left = TRACE_LIMIT
        self._up = _Direction(self, 'up', lambda data: self.dce.receive(data))
        self._down = _Direction(self, 'down', lambda data: self.dte.deliver(data))
        self.rts = True                      # the DTE takes output (see the module docstring)
        self.cts = True                      # the modem takes input

    def from_dte(self, data):
        """Bytes the DTE wrote, on their way to the modem."""
        data = bytes(data)
        self.count_up += len(data)
        self._trace('>', data)
        self._up.put(data)

    def to_dte(self, data):
        """Bytes the modem wrote, on their way to the DTE."""
        data = bytes(data)
        self.count_down += len(data)
        self._trace('<', data)
        self._down.put(data)
        self.dte_progress()

    def in_flight(self):
        """Bytes on the line not yet delivered, both directions."""
        return self._up.in_flight + self._down.in_flight

    # -- flow control -----------------------------------------------------------------------

    def dte_pending(self):
        """Bytes sent to the DTE that it has not taken yet: on the line and in the frontend."""
        pending = getattr(self.dte, 'pending', None)
        return self._down.in_flight + (pending() if pending is not None else 0)

    def dte_progress(self):
        """Re-evaluate the DTE's RTS; frontends call it whenever their DTE took (or lost) bytes."""
        pending = self.dte_pending()
        if self.rts and pending > DTE_HIGH:
            self.rts = False
            self.log('rts_off', pending=pending)
        elif not self.rts and pending <= DTE_LOW:
            self.rts = True
            self.log('rts_on', pending=pending)
            resumed = getattr(self.dce, 'dte_resumed', None)
            if resumed is not None:
                resumed()

    def set_cts(self, on):
        """The modem takes DTE input (True) or not (False) (CTS towards the DTE)."""
        if on != self.cts:
            self.cts = on
            self.log('cts_on' if on else 'cts_off')
            self._tell_dte()

    def dte_may_send(self):
        """Whether a frontend may read more from its DTE now."""
        return self.cts and self._up.in_flight < DTE_AHEAD

    def _tell_dte(self):
        input_flow = getattr(self.dte, 'input_flow', None)
        if input_flow is not None:
            input_flow()

    def _flow(self, direction):
        if direction == 'down':
            self.dte_progress()
        elif self._up.in_flight < DTE_AHEAD:
            self._tell_dte()

    def backlog_s(self):
        """Seconds until the line to the DTE has delivered everything it holds."""
        return max(0.0, self._down.free_at - self.loop.now())

    def log(self, event, **kw):
        entry = {'t': round(self.loop.now(), 6), 'event': event, **kw}
        self.events.append(entry)
        log.info('wire %s', entry)

    def _faults(self, direction, data):
        if not (self.drop_rate or self.garble_rate):
            return data
        out = bytearray()
        for b in data:
            if self.drop_rate and self.random.random() < self.drop_rate:
                self.log('drop', direction=direction, byte=b)
                continue
            if self.garble_rate and self.random.random() < self.garble_rate:
                garbled = b ^ self.random.randrange(1, 256)
                self.log('garble', direction=direction, byte=b, to=garbled)
                b = garbled
            out.append(b)
        return bytes(out)

    def _trace(self, arrow, data):
        if self.trace is None or self._trace_left <= 0:
            return
        text = f'{self.loop.now():.6f} {arrow} {data!r}\n'
        if len(text) > self._trace_left:
            text = f'{self.loop.now():.6f} trace limit reached\n'
        self._trace_left -= len(text)
        self.trace.write(text)
