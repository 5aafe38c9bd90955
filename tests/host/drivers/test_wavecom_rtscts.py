"""The Wavecom driver with board option `rtscts` (in-process, fake clock): hardware flow control
(MT App. B "Opening a TCP Socket": "the flow is controlled through the hardware flow control
mechanism"; C.2, AT+IFC). While the socket's ring or the FTP buffer is full the driver leaves
the UART unread, so what it cannot hold yet waits there instead of being lost; without the
option it is lost and counted (test_wavecom_driver.test_ring_overflow_is_counted_not_hidden).
The FTP download path is checked through a pty on MicroPython (tests/host/ftp/test_ftp_mpy.py)."""
from modemkit.sched import Return

from rig import Rig
from test_wavecom_driver import spiky


def rig_rtscts(**board):
    return Rig('wavecom', board=dict(board, variant='multitech', rtscts=True),
               sim={'variant': 'multitech'})


def test_a_full_ring_leaves_the_stream_in_the_uart(tcp_echo_server):
    rig = rig_rtscts(rx_size=512)
    data = spiky(6000, 3)          # ETX and DLE: the UART holds the escaped stream

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s.send(data, 10000)
        yield rig.sched.sleep_ms(2000)            # nobody reads
        waiting = rig.uart.any()                  # the rest waits in the UART
        held = s.n
        got = bytearray()
        buf = bytearray(300)
        while len(got) < len(data):
            n = yield s.recv_into(buf, 5000)
            if not n:
                break
            got += buf[:n]
        yield s.close()
        raise Return((bytes(got), s.dropped, waiting, held))

    got, dropped, waiting, held = rig.run(main())
    assert dropped == 0
    assert held > 512 - 64 and waiting > len(data) - 512, (held, waiting)
    assert got == data
