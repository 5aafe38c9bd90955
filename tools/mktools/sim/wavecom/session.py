"""The common part of a Wavecom data-mode session: the serial side of the flow.

Network -> host bytes are DLE-encoded when the session escapes (TCP DLEMODE=1, UDP, FTP get)
and held while the session does not own the port yet; host -> network bytes are collected for
the TX delay (`#TCPTXDELAY`, `#UDPTXDELAY`: "the time delay introduced before sending a TCP frame
that has not been entirely filled with user data") and sent by frames.

Both directions are flow-controlled: MT App. B "Opening a TCP Socket": "This link is
bi-directional and the flow is controlled through the hardware flow control mechanism" (RTS/CTS,
AT+IFC, "Configuring Flow Control over the Serial Port").  While the host holds RTS off (it does
not read, `modem.dte_stopped()`) or the serial line is more than `BACKLOG_S` behind, the session
stops reading the network (the TCP window closes on the peer); while `TX_HIGH` host bytes wait
for the network, CTS is off and the host's writes wait.
"""

from mktools.sim.core.net import NetError
from mktools.sim.wavecom.dle import ETX_BYTE, DleDecoder, dle_encode

HOLD_MAX = 64 * 1024        # network bytes held for the host before the source is paused
TX_MAX = 64 * 1024          # host bytes collected before they are refused (with CTS ignored)
TX_HIGH = 32 * 1024         # host bytes waiting for the network at which CTS goes off
TX_LOW = 8 * 1024           # ... at or below which it comes on again
FRAME = 1460                # a "filled" TCP frame (Ethernet MSS); also the UDP datagram cap
BACKLOG_S = 0.25            # serial line backlog above which the network source is paused


class DataSession:
    """One flow that can own the serial port in data mode."""

    name = 'session'
    escaped = True

    def __init__(self, modem):
        self.modem = modem
        self.decoder = DleDecoder()
        self.closed = False
        self.stalled = False
        self.banner_due = False     # the running command's final result will open data mode
        self.started = False        # the session owns (or owned) the port
        self._deferred = None
        self._held = bytearray()
        self._tx = bytearray()
        self._tx_timer = None
        self._resume_timer = None

    # -- network -> host --------------------------------------------------------------------

    def deliver(self, data):
        """Bytes from the network for the host."""
        if self.escaped:
            data = dle_encode(data)
        if self._held or not self.modem.to_host(self, data):
            self._held += data
            if len(self._held) > HOLD_MAX:
                self.pause_source()
        self._throttle()

    def port_started(self):
        """The session now owns the port: flush what was held (and end, if it already did)."""
        self.started = True
        if self._held:
            held, self._held = bytes(self._held), bytearray()
            self.modem.to_host(self, held)
            self.resume_source()
        if self._deferred is not None:
            self.leave(*self._deferred)
            return
        self._throttle()

    def _throttle(self):
        """Pause the network source while the host cannot take more."""
        if self.closed or not self._host_busy():
            return
        self.pause_source()
        self._wait_host()

    def _host_busy(self):
        return self.modem.dte_stopped() or self.modem.host_backlog_s() > BACKLOG_S

    def _wait_host(self):
        if self.modem.dte_stopped():
            # RTS off: resumed by the wire as soon as the host has read enough
            self.modem.when_dte_resumes(self._host_ready)
        elif self._resume_timer is None:
            backlog = self.modem.host_backlog_s()
            self._resume_timer = self.modem.later(backlog - BACKLOG_S / 2, self._resume)

    def _resume(self):
        self._resume_timer = None
        self._host_ready()

    def _host_ready(self):
        if self.closed or self._resume_timer is not None:
            return
        if self._host_busy():
            self._wait_host()
        elif len(self._held) <= HOLD_MAX:
            self.resume_source()

    def pause_source(self):
        """Stop reading the network (subclasses with a connection implement)."""

    def resume_source(self):
        """Start reading the network again (subclasses implement)."""

    # -- host -> network --------------------------------------------------------------------

    def decode(self, data):
        """Host bytes -> (payload, ended, rest) per the session's escaping."""
        if self.escaped:
            return self.decoder.feed(data)
        return bytes(data), False, b''

    def queue_tx(self, payload, delay_ms):
        """Collect host payload: full frames go now, a partial one after `delay_ms`."""
        offset = 0
        while offset < len(payload):
            room = TX_MAX - len(self._tx)
            if room <= 0:
                self.modem.log('tx_overflow', session=self.name, lost=len(payload) - offset)
                break
            self._tx += payload[offset:offset + room]
            offset += room
            self._send_frames(full_only=delay_ms > 0)
        if self._tx and self._tx_timer is None:
            self._tx_timer = self.modem.later(delay_ms / 1000, self._tx_due)
        self._input_flow()

    def _input_flow(self):
        """CTS off while `TX_HIGH` host bytes wait for the network, on again at `TX_LOW`."""
        if len(self._tx) >= TX_HIGH:
            self.modem.set_cts(False)
        elif len(self._tx) <= TX_LOW:
            self.modem.set_cts(True)

    def _tx_due(self):
        self._tx_timer = None
        self.flush_tx()

    def flush_tx(self):
        """Send everything collected, the last frame partial."""
        if self._tx_timer is not None:
            self._tx_timer.cancel()
            self._tx_timer = None
        self._send_frames(full_only=False)

    def _send_frames(self, full_only):
        while self._tx and not self.stalled and not self.closed:
            if full_only and len(self._tx) < FRAME:
                return
            sent = self.transmit(bytes(self._tx[:FRAME]))
            if not sent:
                if self._tx_timer is None:
                    self._tx_timer = self.modem.later(0.01, self._tx_due)
                return
            del self._tx[:sent]
            self._input_flow()

    def tx_pending(self):
        return len(self._tx)

    def transmit(self, frame):
        """Send one frame; returns the bytes taken (subclasses implement)."""
        raise NotImplementedError

    # -- ending -----------------------------------------------------------------------------

    def stop_timers(self):
        for timer in (self._tx_timer, self._resume_timer):
            if timer is not None:
                timer.cancel()
        self._tx_timer = self._resume_timer = None

    def leave(self, final, lead=b'', info_key=None):
        """Close the session's serial side: data mode ends with `lead`, `info_key`, `final`.
        A session whose banner is still due ends right after the banner."""
        self.stop_timers()
        if self.banner_due and not self.started:
            self._deferred = (final, lead, info_key)
            return True
        self.closed = True
        if self._held:
            self.modem.to_host(self, bytes(self._held))
            self._held = bytearray()
        self.modem.set_cts(True)
        return self.modem.close_data_mode(self, final, lead, info_key)

    def fail(self, code):
        """An error ends the session: ETX-prefixed when the flow escapes (MT Chapter 5/6,
        "If this error occurs once the ... connection opened, it is preceded by an ETX")."""
        return self.leave(self.modem.error(code), ETX_BYTE if self.escaped else b'')


def is_dotted_ip(text):
    """A 32-bit number in dotted-decimal notation (xxx.xxx.xxx.xxx)."""
    parts = (text or '').split('.')
    return len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts)


def resolve(net, host):
    """A host name or dotted IP -> `(address, None)`, or `(None, code)`: 38027 when the name does
    not resolve ("No answer from DNS servers"), 38016 when the address is unreachable."""
    if not host:
        return None, 38027
    try:
        return net.resolve(host), None
    except NetError as e:
        return None, 38027 if e.why == 'dns' else 38016
