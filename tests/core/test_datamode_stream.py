"""The data mode's stream (modemkit.datamode): payload passes whole, the end markers (NO CARRIER,
the escape's OK, a start-up URC) end it wherever the UART's reads split them, and bytes that only
begin to look like a marker are payload. A stand-in modem holds what DataMode touches."""
from modemkit.datamode import DataMode
from modemkit.fakeuart import FakeClock
from modemkit.sched import Event, Scheduler
from modemkit import sock

# payload that starts every marker and finishes none
TRICKY = (b'a\r\nNO CARRIE\r\r\nNO CARRIER\r\r\nOKx\r\n\r\nRD\rb\r\n\r\nN\r\r' +
          bytes(bytearray(range(256))))


class _Chan(object):
    def __init__(self):
        self.held = True

    def release(self):
        self.held = False

    def read_raw(self, n, fn):
        pass


class _Modem(object):
    BOOT_URCS = (b'RDY',)

    def __init__(self):
        self.sched = Scheduler(FakeClock())
        self.cfg = {}
        self.chan = _Chan()
        self.wake = Event(self.sched)
        self.troubles = []

    def kick(self):
        pass

    def _trouble(self, back, why):
        self.troubles.append(why)


def _feed(data, piece, esc=False):
    """Feed data in pieces of `piece` bytes: (socket, DataMode, index just after the marker)."""
    m = _Modem()
    dm = DataMode(m)
    s = sock.Socket(m, sock.TCP, 2048)
    s.state = sock.OPEN
    dm.s = s
    dm.esc = esc
    buf = bytearray(data)
    i = 0
    while i < len(buf):
        end = min(i + piece, len(buf))
        used = dm._rx(buf, i, end)
        if used is not None:
            return s, dm, m, i + used
        i = end
    return s, dm, m, None


def _got(s):
    return bytes(s.rx[:s.n])


def test_no_carrier_ends_the_stream_at_every_split():
    data = TRICKY + b'\r\nNO CARRIER\r\n' + b'\r\n+QIURC: "recv",1\r\n'
    for piece in range(1, 40):
        s, dm, m, at = _feed(data, piece)
        assert at == len(TRICKY) + 14, (piece, at)
        assert _got(s) == TRICKY, piece
        assert s.state == sock.EOF and dm.s is None and not m.chan.held


def test_ok_is_payload_unless_an_escape_was_sent():
    data = TRICKY + b'\r\nOK\r\n' + b'more'
    s, dm, m, at = _feed(data, 7)
    assert at is None and _got(s) == data
    for piece in (1, 2, 5, 64):
        s, dm, m, at = _feed(data, piece, esc=True)
        assert at == len(TRICKY) + 6 and _got(s) == TRICKY
        assert s.state == sock.OPEN and dm.susp is s and dm.s is None


def test_a_start_up_urc_in_the_stream_fails_the_socket():
    s, dm, m, at = _feed(b'xyz\r\nRDY\r\n', 3)
    assert at == 10 and _got(s) == b'xyz'
    assert isinstance(s.err, sock.NetDown) and len(m.troubles) == 1


def test_a_held_prefix_is_payload_once_the_line_is_quiet():
    for tail, esc in ((b'\r', False), (b'\r\n', False), (b'\r\nNO CARR', False),
                      (b'\r\nOK\r', True)):
        s, dm, m, at = _feed(b'data' + tail, 3, esc)
        assert at is None and _got(s) == b'data' and dm._idle(False)
        dm._idle(True)
        assert _got(s) == b'data' + tail and not dm._idle(False)
