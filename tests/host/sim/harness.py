"""A small synchronous harness that plays the DTE against one emulated modem on a fake clock.

    h = Harness(QuectelModem, config={...})
    h.cmd('AT+CSQ')              # -> ['+CSQ: 20,99', 'OK']
    h.write(b'hello'); h.read(0.5); h.advance(2.0)
    h.wait_for(lambda: ..., 5.0); h.expect_urc('+QIURC: "recv",0', 5.0)

Advancing the fake clock also polls real sockets (a short real `select` per step), so that
loopback connections to servers started by the tests make progress.
"""

import re

from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net
from mktools.sim.core.wire import Wire

RX_MAX = 8 * 1024 * 1024
STEP_S = 0.01           # fake seconds per step while real fds are open
REAL_POLL_S = 0.001     # real seconds each step may wait for those fds
_LINE_SPLIT = re.compile(r'\r\n|\r|\n')


class Harness:
    """A fake-clock Loop, a Net, a Wire and the modem, with this object as the DTE."""

    def __init__(self, modem_cls, config=None, baud=None, latency_s=0.0, net_latency_s=0.0,
                 seed=0):
        config = dict(config or {})
        self.loop = Loop(fake=True)
        self.net = Net(self.loop, hosts=config.get('hosts'), latency_s=net_latency_s)
        self.wire = Wire(self.loop, baud=baud if baud is not None else config.get('baud'),
                         latency_s=latency_s, seed=seed)
        self.modem = modem_cls(self.loop, self.net, config)
        self.modem.attach(self.wire)
        self.wire.dte = self
        self.rx = bytearray()       # everything the DTE has received
        self.mark = 0               # how much of rx read()/lines()/cmd() have consumed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.net.close_all()
        self.loop.close()

    def now(self):
        return self.loop.now()

    # -- the DTE side of the wire -----------------------------------------------------------

    def deliver(self, data):
        if len(self.rx) + len(data) > RX_MAX:
            raise AssertionError('harness receive buffer overflow')
        self.rx += data

    def write(self, data):
        """DTE bytes (str is sent as latin-1), then run whatever is due now."""
        if isinstance(data, str):
            data = data.encode('latin-1')
        self.wire.from_dte(data)
        self.advance(0)

    def read(self, timeout_s=0.0):
        """Advance `timeout_s` and return the bytes received since the last read."""
        self.advance(timeout_s)
        data, self.mark = bytes(self.rx[self.mark:]), len(self.rx)
        return data

    def lines(self, timeout_s=0.0):
        """Like read(), as non-empty stripped text lines."""
        return split_lines(self.read(timeout_s))

    # -- time -------------------------------------------------------------------------------

    def advance(self, seconds):
        """Move the fake clock by `seconds`, running timers and polling real sockets."""
        self._run(self.loop.now() + seconds, None)

    def wait_for(self, condition, timeout_s=10.0):
        """Advance until `condition()` holds; AssertionError after `timeout_s` fake seconds."""
        if not self._run(self.loop.now() + timeout_s, condition):
            raise AssertionError(f'condition not met within {timeout_s} s; unread output: '
                                 f'{bytes(self.rx[self.mark:])!r}')

    def _run(self, end, condition):
        return drive(self.loop, end, condition)

    # -- commands ---------------------------------------------------------------------------

    def cmd(self, line, timeout_s=10.0):
        """Send `line` + CR and wait for its final result code (or a data prompt); returns the
        non-empty response lines without the echo.  Unread earlier output is discarded."""
        self.mark = len(self.rx)
        done_before = self.modem.results
        self.write(line + '\r')
        self.wait_for(lambda: (self.modem.results > done_before or self.modem.mode == 'prompt')
                      and not self.wire.in_flight(), timeout_s)
        out = self.read()
        echo = (line + '\r').encode('latin-1')
        if out.startswith(echo):
            out = out[len(echo):]
        return split_lines(out)

    def expect_urc(self, text, timeout_s=5.0, prefix=False):
        """Wait for a complete received line equal to `text` (or starting with it, with
        prefix=True); returns it and consumes output up to and including it."""
        found = []

        def seen():
            pending = bytes(self.rx[self.mark:]).decode('latin-1')
            offset = 0
            for match in _LINE_SPLIT.finditer(pending):
                candidate = pending[offset:match.start()].strip()
                if candidate == text or (prefix and candidate.startswith(text)):
                    found.append(candidate)
                    self.mark += match.end()
                    return True
                offset = match.end()
            return False

        self.wait_for(seen, timeout_s)
        return found[0]


def drive(loop, end, condition=None):
    """Advance a fake-clock `loop` to time `end`, or until `condition()` holds (returns whether
    it did; True when there is no condition).  While real fds are open or a condition is
    watched (it may depend on a server thread), the clock moves in steps of STEP_S, each
    giving real fds and threads up to REAL_POLL_S of real time."""
    stepping = condition is not None
    while True:
        if stepping or loop.has_fds():
            loop.poll(REAL_POLL_S)
        loop.advance_to(loop.now())
        if condition is not None and condition():
            return True
        now = loop.now()
        if now >= end:
            return condition is None
        target = end
        nxt = loop.next_timer()
        if nxt is not None:
            target = min(target, nxt)
        if stepping or loop.has_fds():
            target = min(target, now + STEP_S)
        loop.advance_to(target)


def split_lines(data):
    """Bytes -> the non-empty stripped lines in them."""
    text = data.decode('latin-1') if isinstance(data, (bytes, bytearray)) else data
    return [part.strip() for part in _LINE_SPLIT.split(text) if part.strip()]
