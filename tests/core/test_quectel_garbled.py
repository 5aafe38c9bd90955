"""A garbled length in the Quectel driver's +QIRD answer (the soak's garbled bytes made one) ends
the read as 'nothing more', not with a TypeError out of the I/O task. Portable subset."""
from mktest import setup
from modemkit.quectel import Quectel
from modemkit.sock import Socket, TCP, OPEN
from modemkit.sched import Return


def test_a_garbled_qird_length_reads_as_nothing_more():
    env = setup([('>', b'AT+QIRD=0,64\r'), ('<', b'\r\n+QIRD: 1x\r\n\r\nOK\r\n')])
    m = Quectel(env.sched, env.uart, {}, log=env.logs.append)
    m.chan = env.chan                   # the channel whose reader setup() started
    s = Socket(m, TCP, 64)
    s.id = 0
    s.state = OPEN

    def main():
        yield m.fetch(s)
        raise Return(s.pending)

    assert env.sched.run(main()) is False
    env.script.done()
