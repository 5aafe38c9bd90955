"""The AT channel's reader task, if it ends anyway (the soak saw it die of MemoryError in a
fragmented 64K heap), is started again by the next exchange: otherwise no exchange would ever
end, not even by its deadline, and every task would wait for ever."""
from mktest import setup
from modemkit.at import Cmd, OK, TIMEOUT
from modemkit.sched import Return


def test_a_dead_reader_is_started_again_by_the_next_exchange():
    env = setup([('>', b'AT\r'), ('<', b'\r\nOK\r\n'), ('>', b'AT+CSQ\r')])

    def main():
        env.reader.cancel()
        yield env.sched.sleep_ms(10)
        assert env.reader.done()
        r = yield env.chan.send(Cmd(b'AT'))
        first = r.status
        r = yield env.chan.send(Cmd(b'AT+CSQ', timeout_ms=500))    # unanswered: expires
        raise Return((first, r.status))

    assert env.sched.run(main()) == (OK, TIMEOUT)
    assert any('reader ended' in m and 'started again' in m for m in env.logs), env.logs
