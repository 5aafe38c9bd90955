"""The send path of the dialects that send with an AT command per chunk (Quectel AT+QISEND, QL
s2.1.7: <= 1460 bytes; Telit AT#SSENDEXT: <= 1500): each command carries as many bytes as the
command allows and the bytes are there, across the transmit ring's end and, for a send() larger
than the ring, straight from the application's buffer; the peer gets every byte in order."""
import os
import re

import pytest

from modemkit.sched import Return

from rig import Rig

CMD = {'quectel': (rb'AT\+QISEND=0,(\d+)\r', 1460), 'telit': (rb'AT#SSENDEXT=1,(\d+)\r', 1500)}


def sends(rig, written):
    """The byte counts of the send commands the driver wrote."""
    pat, _ = CMD[rig.dialect]
    return [int(m) for m in re.findall(pat, bytes(written))]


def record(rig):
    written = bytearray()
    write = rig.uart.write

    def rec(buf, n=None, off=0):
        written.extend(bytes(buf[off:len(buf) if n is None else off + n]))
        return write(buf, n, off)

    rig.uart.write = rec
    return written


def echo(rig, s, want, timeout_ms=30000):
    got = bytearray()
    buf = bytearray(700)
    while len(got) < want:
        n = yield s.recv_into(buf, timeout_ms)
        if not n:
            break
        got.extend(buf[:n])
    raise Return(bytes(got))


@pytest.mark.parametrize('dialect', ['quectel', 'telit'])
def test_send_larger_than_ring_goes_in_full_commands(dialect, tcp_echo_server):
    rig = Rig(dialect, board={'rx_size': 4096, 'tx_size': 1024})
    data = os.urandom(5000)
    _, top = CMD[dialect]

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        written = record(rig)
        n = yield s.send(data, 60000)
        back = yield echo(rig, s, len(data))
        yield s.close()
        raise Return((n, sends(rig, written), back))

    n, counts, back = rig.run(main())
    assert n == len(data) and back == data
    # 1024 from the ring plus the rest of the command's maximum from the send()'s buffer, then
    # full commands: never one command per ring's worth
    assert counts == [top] * (len(data) // top) + [len(data) % top], counts


@pytest.mark.parametrize('dialect', ['quectel', 'telit'])
def test_ring_bytes_across_its_end_go_in_one_command(dialect, tcp_echo_server):
    rig = Rig(dialect, board={'rx_size': 4096, 'tx_size': 1024})
    first, second = os.urandom(600), os.urandom(1000)

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        written = record(rig)
        yield s.send(first, 60000)
        # 424 bytes fit before the ring's end, 576 after: one command of 1000
        assert s.write(second) == len(second)
        yield s.send(b'', 60000)          # waits until the module accepted what is queued
        back = yield echo(rig, s, len(first) + len(second))
        yield s.close()
        raise Return((sends(rig, written), back))

    counts, back = rig.run(main())
    assert back == first + second
    assert counts == [600, 1000], counts
