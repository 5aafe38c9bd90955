"""The driver's I/O task (Modem._io) against the emulator: an exchange that goes wrong ends that
socket's operation with a typed error, and the task goes on (or is started again), so the modem
is never left deaf."""
from modemkit.sched import Return
from modemkit.sock import NetError

from rig import Rig
from test_faults import echo_once


def stall_next_answer(rig, until_ms):
    """The line to the host stalls: the module's next output, and all after it, reach the
    driver at `until_ms` (fake clock)."""
    deliver = rig.fe.deliver

    def held(data):
        rig.fe.deliver = deliver
        rig.uart.feed(data, until_ms)

    rig.fe.deliver = held


def test_quectel_send_prompt_at_its_deadline(tcp_echo_server):
    rig = Rig('quectel')

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        # AT+QISEND's "> " reaches the driver exactly at the command's 10 s deadline (the I/O
        # task's send timeout), in the reader pass that finds the deadline reached; the
        # module, which gives a prompt up after 2 s (QL 2.1.15, set by the driver), has
        # answered ERROR by then, in the same bytes: the driver asks whether the connection
        # is still up (QL 2.1.7: ERROR may mean closed) and sends again.
        stall_next_answer(rig, rig.clock.now + 10000)
        t0 = rig.clock.now
        try:
            yield s.send(b'over a stalled line', 60000)
            first = 'sent'
        except NetError as e:
            first = type(e).__name__
        took = rig.clock.now - t0
        try:
            yield s.close()
        except NetError:
            pass
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((first, took, again))

    first, took, again = rig.run(main())
    assert first == 'sent' and 10000 <= took < 12000, (first, took)
    assert again == b'ping after recovery'          # the I/O task still serves the modem
    assert rig.drv._io_t is not None and not rig.drv._io_t.done()


def test_dead_io_task_is_started_again(tcp_echo_server):
    rig = Rig('quectel')

    def main():
        yield rig.drv.wait_ready(60000)
        first = rig.drv._io_t
        first.cancel()                  # whatever ended it, the next kick starts a new one
        yield rig.sched.sleep_ms(10)
        again = yield echo_once(rig, tcp_echo_server.port)
        raise Return((first.done(), rig.drv._io_t is not first, again))

    assert rig.run(main()) == (True, True, b'ping after recovery')
    assert any('I/O task ended' in m for m in rig.logs), rig.logs
