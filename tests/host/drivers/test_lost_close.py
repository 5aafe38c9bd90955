"""An AT+QICLOSE lost on the line leaves the Quectel module holding the connectID; the next
AT+QIOPEN of that id gets ERROR (QL chapter 4, 563). Seen in the soak after garbled bytes: every
reconnection failed until the module restarted. The driver closes the id and opens again."""
from modemkit.sched import Return

from rig import Rig


def test_open_after_a_lost_close_reuses_the_id(tcp_echo_server):
    rig = Rig('quectel')

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        assert s.id == 0
        rig.drv.forget(s)             # closed here, but the AT+QICLOSE never reached the module
        assert 0 in rig.sim.sockets
        again = yield rig.drv.open('echo.test', tcp_echo_server.port, timeout_ms=20000)
        yield again.send(b'hello', 5000)
        buf = bytearray(16)
        n = yield again.recv_into(buf, 5000)
        yield again.close()
        raise Return((again.id, bytes(buf[:n])))

    assert rig.run(main()) == (0, b'hello')
