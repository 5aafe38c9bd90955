"""Quectel connections the module refuses for a reason the driver can remove (both seen in the
soak): an AT+QICLOSE lost on the line leaves the module holding the connectID, so the next
AT+QIOPEN of that id gets ERROR (QL chapter 4, 563) -- the driver closes the id and opens again;
a context gone without a "pdpdeact" URC makes every open end in +QIOPEN: <id>,561 -- the driver
attaches again."""
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


def test_open_on_a_context_gone_without_a_urc_attaches_again(tcp_echo_server):
    rig = Rig('quectel')

    def main():
        yield rig.drv.wait_ready(60000)
        ctx = rig.sim.contexts[1]
        ctx.active, ctx.ip = False, ''         # gone, and no +QIURC: "pdpdeact" said so
        try:
            yield rig.drv.open('echo.test', tcp_echo_server.port, timeout_ms=20000)
            first = 'opened'
        except Exception as e:
            first = type(e).__name__
        yield rig.sched.sleep_ms(100)
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port, timeout_ms=20000)
        yield s.close()
        raise Return(first)

    assert rig.run(main()) == 'Refused'
    assert any('-> attach (context unusable (+QIOPEN error 561))' in m
               for m in rig.transitions()), rig.transitions()
