"""modemkit.usock's writes on a dialect with a transmit ring (Quectel), to a real TCP echo server
through the emulated module: a blocking write returns once the module has accepted its bytes
(nothing is left in the ring for a caller that then sleeps); a non-blocking one queues them
without running the scheduler, and flush() or close() send them, in order."""
import time

from rig import Rig

from modemkit import usock


def connected(server, board=None):
    rig = Rig('quectel', board=board)
    rig.run(rig.drv.wait_ready(60000))
    s = usock.Socket(rig.drv)
    s.connect(('echo.test', server.port))
    return rig, s


def counting_passes(rig):
    passes = [0]
    run_once = rig.sched.run_once

    def counted():
        passes[0] += 1
        return run_once()
    rig.sched.run_once = counted
    return passes


def wait_received(server, n, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while len(server.received) < n and time.monotonic() < end:
        time.sleep(0.01)
    return bytes(server.received)


def test_a_blocking_write_returns_once_the_module_accepted_it(tcp_echo_server):
    rig, s = connected(tcp_echo_server)
    passes = counting_passes(rig)
    assert s.write(b'x' * 100) == 100
    assert passes[0] > 0 and s._s.tlen == 0      # sent before the call returned
    assert wait_received(tcp_echo_server, 100) == b'x' * 100   # with no further call
    assert s.read(100) == b'x' * 100
    s.close()


def test_a_non_blocking_write_is_queued_and_flush_sends_it(tcp_echo_server):
    rig, s = connected(tcp_echo_server)
    s.settimeout(0)
    passes = counting_passes(rig)
    assert s.write(b'a' * 100) == 100
    assert s.write(bytearray(b'bcd'), 2) == 2
    assert passes[0] == 0                       # the scheduler did not run
    assert s._s.tlen == 102                     # the bytes wait in the ring
    assert tcp_echo_server.received == b''
    s.settimeout(None)
    s.flush()
    assert passes[0] > 0
    assert s._s.tlen == 0
    assert s.read(102) == b'a' * 100 + b'bc'   # echoed: they reached the server in order
    s.close()


def test_a_write_larger_than_the_ring_and_close_send_every_byte(tcp_echo_server):
    rig, s = connected(tcp_echo_server, board={'tx_size': 256, 'rx_size': 8192})
    data = bytes(bytearray(i % 251 for i in range(5000)))
    assert s.write(data) == 5000               # waits for room pass by pass, then returns
    assert s._s.tlen <= 256
    assert s._s.tlen == 0
    s.settimeout(0)
    for i in range(3):
        assert s.write(b'tail%d' % i) == 5     # queued
    s.close()                                   # sends what is queued, then closes
    want = data + b'tail0tail1tail2'
    assert wait_received(tcp_echo_server, len(want)) == want

