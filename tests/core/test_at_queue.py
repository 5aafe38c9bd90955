"""The AT channel: timeouts, queued callers, cancellation, strict scripts."""
from mktest import setup, raises
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT
from modemkit.sched import Return, Cancelled
from modemkit.fakeuart import ScriptError


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


def test_timeout_then_recovery_on_next_command():
    env = setup([('>', b'AT+COPS?\r'), ('~', 0),
                 ('>', b'AT\r'), ('<', b'\r\nOK\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT+COPS?', timeout_ms=300))
        first = (r.status, r.error(), env.clock.now)
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((first, r.status))

    assert run(env, main) == ((TIMEOUT, 'timeout', 300), OK)
    assert env.chan.timeouts == 1


def test_late_response_after_timeout_is_not_taken_for_the_next():
    # The modem answers after the timeout but before the next command: dropped, counted.
    env = setup([('>', b'AT+QIACT=1\r'), ('~', 500), ('<', b'\r\nOK\r\n'),
                 ('>', b'AT+CSQ\r'), ('<', b'\r\n+CSQ: 9,99\r\n\r\nOK\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT+QIACT=1', timeout_ms=100))
        first = r.status
        yield env.sched.sleep_ms(1000)
        r = yield env.chan.send(Cmd(b'AT+CSQ', expect=b'+CSQ:'))
        raise Return((first, r.status, r.num(0)))

    assert run(env, main) == (TIMEOUT, OK, 9)
    assert env.chan.unsolicited == 1


def test_queued_callers_run_in_order_one_in_flight():
    env = setup([('>', b'AT+A\r'), ('~', 20), ('<', b'\r\nOK\r\n'),
                 ('>', b'AT+B\r'), ('<', b'\r\n+B: 2\r\nOK\r\n'),
                 ('>', b'AT+C\r'), ('<', b'\r\nERROR\r\n')])
    done = []

    def caller(text):
        r = yield env.chan.send(Cmd(text))
        done.append((text, r.status, r.lines(), env.clock.now))

    def main():
        a = env.sched.spawn(caller(b'AT+A'))
        b = env.sched.spawn(caller(b'AT+B'))
        c = env.sched.spawn(caller(b'AT+C'))
        yield env.sched.sleep_ms(5)
        assert env.chan.busy()
        yield a.join()
        yield b.join()
        yield c.join()

    run(env, main)
    assert done == [(b'AT+A', OK, [], 20), (b'AT+B', OK, [b'+B: 2'], 20),
                    (b'AT+C', FAIL, [], 20)], done


def test_cancelled_waiter_leaves_queue_and_channel_survives():
    env = setup([('>', b'AT+SLOW\r'), ('~', 100), ('<', b'\r\nOK\r\n'),
                 ('>', b'AT+NEXT\r'), ('<', b'\r\nOK\r\n')])
    log = []

    def caller(text):
        try:
            r = yield env.chan.send(Cmd(text))
            log.append((text, r.status))
        except Cancelled:
            log.append((text, 'cancelled'))
            raise

    def main():
        slow = env.sched.spawn(caller(b'AT+SLOW'))
        queued = env.sched.spawn(caller(b'AT+NEVER'))
        yield env.sched.sleep_ms(10)
        slow.cancel()        # in flight: runs to its end, nobody gets the response
        queued.cancel()      # still queued: never written
        yield env.sched.sleep_ms(200)
        r = yield env.chan.send(Cmd(b'AT+NEXT'))
        log.append((b'AT+NEXT', r.status))

    run(env, main)
    assert log == [(b'AT+SLOW', 'cancelled'), (b'AT+NEVER', 'cancelled'), (b'AT+NEXT', OK)], log


def test_unexpected_write_fails_with_diff():
    env = setup([('>', b'AT+CSQ\r')])

    def main():
        yield env.chan.send(Cmd(b'AT+CSX'))

    e = raises(ScriptError, env.sched.run, main())
    assert "expected" in str(e) and 'AT+CSX' in str(e), str(e)


def held_env(steps, ms):
    # A data mode's end (here a 'GONE' URC) after which the module still owes an 'OK' that
    # answers no command (Wavecom: ETX, Ok_Info_SocketClosed, OK; MT App. B)
    env = setup(steps)
    env.released = []

    def gone(line):
        env.chan.hold(ms)

    def owed(line):
        env.released.append(env.clock.now)
        env.chan.release()

    env.chan.on(b'GONE', gone)
    env.chan.on(b'OK', owed, True)
    return env


def test_hold_keeps_the_next_command_until_the_owed_line():
    # the owed OK comes 200 ms after GONE; a command sent in between is written only after it,
    # so it is not taken for that command's answer
    env = held_env([('<', b'\r\nGONE\r\n'), ('~', 200), ('<', b'\r\nOK\r\n'),
                    ('>', b'AT+X\r'), ('~', 0), ('<', b'\r\n+X: 7\r\n\r\nOK\r\n')], 5000)

    def main():
        yield env.sched.sleep_ms(50)
        r = yield env.chan.send(Cmd(b'AT+X', expect=b'+X:'))
        raise Return((r.status, r.nlines and r.num(0), env.clock.now))

    status, x, t = run(env, main)
    assert (status, x) == (OK, 7), (status, x)
    assert env.released == [200] and t >= 200, (env.released, t)
    assert env.chan.unsolicited == 0 and env.logs == [], env.logs


def test_hold_expires_when_the_owed_line_does_not_come():
    env = held_env([('<', b'\r\nGONE\r\n'),
                    ('>', b'AT+Y\r'), ('<', b'\r\nOK\r\n')], 300)

    def main():
        yield env.sched.sleep_ms(10)
        r = yield env.chan.send(Cmd(b'AT+Y'))
        raise Return((r.status, env.clock.now))

    status, t = run(env, main)
    assert status == OK and 300 <= t < 400, (status, t)
    assert env.released == [] and len(env.logs) == 1, (env.released, env.logs)
