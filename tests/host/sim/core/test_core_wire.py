"""The serial line (`mktools.sim.core.wire.Wire`): pacing, counters, faults, trace."""

import io

from harness import Harness
from mktools.sim.core.loop import Loop
from mktools.sim.core.modem import Modem
from mktools.sim.core.wire import Wire


class Sink:
    """Records what reaches one end of the wire, with the fake time."""

    def __init__(self, loop):
        self.loop = loop
        self.got = []

    def deliver(self, data):
        self.got.append((round(self.loop.now(), 6), bytes(data)))

    receive = deliver

    def data(self):
        return b''.join(chunk for _, chunk in self.got)


def make(baud=None, latency_s=0.0, seed=0):
    loop = Loop(fake=True)
    wire = Wire(loop, baud=baud, latency_s=latency_s, seed=seed)
    wire.dte, wire.dce = Sink(loop), Sink(loop)
    return loop, wire


def test_unpaced_line_delivers_at_once_and_counts():
    loop, wire = make()
    wire.to_dte(b'\r\nOK\r\n')
    wire.from_dte(b'AT\r')
    assert wire.dte.got == [(0.0, b'\r\nOK\r\n')]
    assert wire.dce.got == [(0.0, b'AT\r')]
    assert (wire.count_up, wire.count_down) == (3, 6)


def test_baud_rate_paces_each_byte_at_ten_bits():
    loop, wire = make(baud=1000)                     # 10 ms per byte
    wire.to_dte(b'x' * 20)
    wire.to_dte(b'yz')                               # queued behind the first 20 bytes
    loop.advance_to(0.155)
    assert wire.dte.data() == b'x' * 15
    assert wire.in_flight() == 7
    loop.advance_to(1.0)
    assert wire.dte.data() == b'x' * 20 + b'yz'
    assert wire.dte.got[19] == (0.2, b'x') and wire.dte.got[-1] == (0.22, b'z')
    assert wire.in_flight() == 0


def test_fast_lines_deliver_in_pieces_of_a_millisecond():
    loop, wire = make(baud=115200)                   # 86.8 us per byte: 11 bytes per piece
    wire.to_dte(b'y' * 30)
    loop.advance_to(1.0)
    assert [len(chunk) for _, chunk in wire.dte.got] == [11, 11, 8]
    assert wire.dte.got[-1][0] == round(30 * 10 / 115200, 6)


def test_directions_are_independent_and_latency_adds():
    loop, wire = make(baud=10000, latency_s=0.05)    # 1 ms per byte
    wire.to_dte(b'abcd')
    wire.from_dte(b'AT\r')
    loop.advance_to(1.0)
    assert wire.dte.data() == b'abcd' and wire.dte.got[-1] == (0.054, b'd')
    assert wire.dce.data() == b'AT\r' and wire.dce.got[-1] == (0.053, b'\r')


def test_drop_and_garble_are_seeded_and_logged():
    outputs = []
    for _ in range(2):
        loop, wire = make(seed=42)
        wire.drop_rate, wire.garble_rate = 0.1, 0.1
        wire.to_dte(bytes(range(200)))
        outputs.append((wire.dte.data(), [e['event'] for e in wire.events]))
    assert outputs[0] == outputs[1]
    data, events = outputs[0]
    assert wire.count_down == 200                     # counted before the faults
    assert len(data) == 200 - events.count('drop')
    assert events.count('drop') > 5 and events.count('garble') > 5


def test_trace_is_written_and_bounded():
    loop, wire = make()
    wire.trace = io.StringIO()
    wire.from_dte(b'AT\r')
    wire.to_dte(b'\r\nOK\r\n')
    assert wire.trace.getvalue() == "0.000000 > b'AT\\r'\n0.000000 < b'\\r\\nOK\\r\\n'\n"
    wire._trace_left = 10
    wire.to_dte(b'more')
    assert wire.trace.getvalue().endswith('trace limit reached\n')
    wire.to_dte(b'even more')
    assert wire.trace.getvalue().count('limit') == 1


def test_modem_behind_a_slow_line():
    # 9600 baud, 1.04 ms a byte: each echoed byte starts down as it arrives (A at 1.04 ms,
    # back at 2.08 ms); the CR arrives at 3.125 ms, its echo is back at 4.17 ms and the six
    # bytes of the result at 10.42 ms
    with Harness(Modem, baud=9600) as h:
        h.write('AT\r')
        assert h.read(0.005) == b'AT\r'
        assert h.read(0.005) == b'\r\nOK\r'          # at 10 ms the last LF is on the line
        assert h.read(0.001) == b'\n'
        assert (h.wire.count_up, h.wire.count_down) == (3, 9)
