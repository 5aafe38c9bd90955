"""Where the emulator's serial port appears: a pty, a TCP port, or modemkit's in-process FakeUart.

A frontend is the DTE end of a `Wire`: the wire calls `frontend.deliver(data)` with the modem's
output, and the frontend calls `wire.from_dte(data)` with what the DTE wrote.

The pty and TCP frontends carry the line's flow control (see `wire.py`): output the DTE has not
read yet waits in a bounded buffer whose size the wire reads as the DTE's RTS (`pending()`,
`wire.dte_progress()`), and the DTE is read only while the wire says it may send
(`input_flow()`).  `OUT_MAX` stays as a last resort for output that no source can hold back (it is
far above the wire's `DTE_HIGH`): past it output is dropped, and logged.
"""

import errno
import logging
import math
import os
import socket
import tty

from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net, is_loopback
from mktools.sim.core.wire import DTE_AHEAD, Wire

log = logging.getLogger('mktools.sim.frontend')

OUT_MAX = 1 << 20           # bytes waiting for a slow DTE before output is dropped (last resort)
READ_SIZE = 4096


class _Output:
    """A bounded outgoing buffer written to a non-blocking fd (or socket) on the loop;
    `progress()` is called after the DTE took (or a failed write lost) some of it."""

    def __init__(self, loop, fileobj, write, progress):
        self.loop = loop
        self.fileobj = fileobj
        self.write = write          # write(bytes) -> int, raises BlockingIOError
        self.progress = progress
        self.buf = bytearray()
        self.dropped = 0
        self.peak = 0               # the most bytes ever waiting

    def push(self, data):
        room = OUT_MAX - len(self.buf)
        if len(data) > room:
            self.dropped += len(data) - room
            log.warning('DTE not reading: %d bytes dropped', len(data) - room)
        self.buf += data[:room]
        self.peak = max(self.peak, len(self.buf))
        self.flush()

    def flush(self):
        before = len(self.buf)
        try:
            while self.buf:
                del self.buf[:self.write(self.buf)]
        except BlockingIOError:
            self.loop.add_writer(self.fileobj, self.flush)
        except OSError as e:
            log.warning('DTE write failed: %s', e)
            self.buf.clear()
        if not self.buf:
            self.loop.remove_writer(self.fileobj)
        if len(self.buf) < before:
            self.progress()


class PtyFrontend:
    """A pseudo-terminal: the DTE opens `self.path` (or the `link` symlink to it)."""

    def __init__(self, loop, wire, link=None):
        self.loop = loop
        self.wire = wire
        self.master, self.slave = os.openpty()
        # raw, no echo: the modem does its own echo; the slave stays open so the pty survives
        # the DTE closing and reopening it
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.link = link
        if link:
            if os.path.lexists(link):
                if not os.path.islink(link):
                    raise FileExistsError(f'{link} exists and is not a symlink')
                os.unlink(link)
            os.symlink(self.path, link)
        self._out = _Output(loop, self.master, lambda data: os.write(self.master, data),
                            wire.dte_progress)
        self._reading = False
        wire.dte = self
        self.input_flow()

    def input_flow(self):
        """Read the DTE only while the wire lets it send: otherwise its bytes wait in the pty
        and its writes block, as at a UART with CTS off."""
        want = self.wire.dte_may_send()
        if want != self._reading:
            self._reading = want
            (self.loop.add_reader(self.master, self._readable) if want
             else self.loop.remove_reader(self.master))

    def _readable(self):
        try:
            data = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno == errno.EIO:     # no process has the slave open
                return
            raise
        if data:
            self.wire.from_dte(data)
            self.input_flow()

    def deliver(self, data):
        self._out.push(data)

    def pending(self):
        """Output the DTE has not read yet (beyond what the pty itself holds)."""
        return len(self._out.buf)

    def close(self):
        self._reading = False
        self.loop.remove_reader(self.master)
        self.loop.remove_writer(self.master)
        os.close(self.master)
        os.close(self.slave)
        if self.link and os.path.islink(self.link) and os.readlink(self.link) == self.path:
            os.unlink(self.link)


class TcpFrontend:
    """A raw TCP port on the loopback: one DTE client at a time; extra clients are refused."""

    def __init__(self, loop, wire, host='127.0.0.1', port=0):
        if not is_loopback(host):
            raise ValueError(f'{host}: the emulator only listens on 127.0.0.0/8')
        self.loop = loop
        self.wire = wire
        self.listener = socket.create_server((host, port))
        self.listener.setblocking(False)
        self.host, self.port = self.listener.getsockname()[:2]
        self.client = None
        self._out = None
        self._reading = False
        wire.dte = self
        loop.add_reader(self.listener, self._accept)

    def _accept(self):
        try:
            sock, addr = self.listener.accept()
        except BlockingIOError:
            return
        if self.client is not None:
            log.info('refused a second DTE client from %s', addr)
            sock.close()
            return
        sock.setblocking(False)
        self.client = sock
        self._out = _Output(self.loop, sock, sock.send, self.wire.dte_progress)
        self._reading = False
        self.input_flow()
        log.info('DTE client connected from %s', addr)

    def input_flow(self):
        """Read the client only while the wire lets the DTE send (see PtyFrontend)."""
        want = self.client is not None and self.wire.dte_may_send()
        if self.client is not None and want != self._reading:
            (self.loop.add_reader(self.client, self._readable) if want
             else self.loop.remove_reader(self.client))
        self._reading = want

    def _readable(self):
        try:
            data = self.client.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self._drop_client()
            return
        self.wire.from_dte(data)
        if self.client is not None:
            self.input_flow()

    def _drop_client(self):
        self.loop.remove_reader(self.client)
        self.loop.remove_writer(self.client)
        self.client.close()
        self.client = None
        self._out = None
        self._reading = False
        log.info('DTE client disconnected')
        self.wire.dte_progress()        # what it had not read is gone: the flow is on again

    def deliver(self, data):
        if self._out is not None:
            self._out.push(data)

    def pending(self):
        """Output the client has not read yet (beyond the kernel's socket buffers)."""
        return len(self._out.buf) if self._out is not None else 0

    def close(self):
        if self.client is not None:
            self._drop_client()
        self.loop.remove_reader(self.listener)
        self.listener.close()


class InProcessFrontend:
    """The peer of a `modemkit.fakeuart.FakeUart`: the emulator runs on a fake-clock `Loop`
    whose time (seconds) is driven by the FakeClock (milliseconds).

    While real sockets are open the clock is offered an event every `step_ms`, and each
    `run_until` gives them up to `real_poll_s` of real time, so loopback servers can answer.
    FakeClock ticks wrap after 2**30 ms; an emulated session is assumed to be far shorter."""

    def __init__(self, loop, wire, uart, step_ms=10, real_poll_s=0.001, flow=False):
        if not loop.fake:
            raise ValueError('InProcessFrontend needs a Loop(fake=True)')
        # flow: the FakeUart's writes wait while the wire holds the DTE (CTS off, or a paced
        # line DTE_AHEAD bytes ahead), as a pty's do; off, they are taken at once
        self.host_room = self._host_room if flow else None
        self.loop = loop
        self.wire = wire
        self.uart = uart
        self.clock = uart.clock
        self.step_ms = step_ms
        self.real_poll_s = real_poll_s
        self._origin_ms = self.clock.now - round(loop.now() * 1000)
        wire.dte = self
        uart.attach(self)

    def _ms(self, seconds):
        return self._origin_ms + math.ceil(round(seconds * 1000, 6))

    def _seconds(self, t_ms):
        return (t_ms - self._origin_ms) / 1000

    def host_write(self, buf, n=None, off=0):
        """Bytes the host wrote to the FakeUart (buf[off:off+n])."""
        data = bytes(buf[off:len(buf) if n is None else off + n])
        self.run_until(self.clock.now)
        self.wire.from_dte(data)

    def _host_room(self):
        return max(0, DTE_AHEAD - self.wire._up.in_flight) if self.wire.cts else 0

    def next_event_ms(self):
        """Absolute FakeClock ms of the next emulator timer (or poll step), or None."""
        nxt = self.loop.next_timer()
        t_ms = None if nxt is None else max(self._ms(nxt), self.clock.now)
        if self.loop.has_fds():
            step = self.clock.now + self.step_ms
            t_ms = step if t_ms is None else min(t_ms, step)
        return t_ms

    def run_until(self, t_ms):
        """Run every emulator timer due up to `t_ms`."""
        if self.loop.has_fds():
            self.loop.poll(self.real_poll_s)
        # _ms() rounds a timer's float time to 1e-6 ms before its ceiling, so a timer at
        # 2.6100000000000003 s is due at 2610 ms: advance a hair past t_ms to run it.
        self.loop.advance_to(max(self._seconds(t_ms) + 1e-9, self.loop.now()))

    def deliver(self, data):
        self.uart.feed(data, self._ms(self.loop.now()))


def in_process(modem_cls, uart, config=None, baud=None, net_latency_s=0.0, flow=False):
    """An emulated `modem_cls` behind `uart` (a FakeUart): returns the InProcessFrontend, whose
    `.modem`, `.net`, `.wire` and `.loop` the test can reach; `flow`: the DTE's writes honour
    the line's flow control (see InProcessFrontend)."""
    config = dict(config or {})
    loop = Loop(fake=True)
    net = Net(loop, hosts=config.get('hosts'), latency_s=net_latency_s)
    wire = Wire(loop, baud=baud if baud is not None else config.get('baud'))
    modem = modem_cls(loop, net, config)
    modem.attach(wire)
    frontend = InProcessFrontend(loop, wire, uart, flow=flow)
    frontend.modem, frontend.net = modem, net
    return frontend
