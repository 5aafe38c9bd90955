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


def test_response_is_read_by_its_task_before_another_command_starts():
    # A task woken by a timer in the same pass as the reader that completes an exchange runs
    # before the answered task. Its send() on the idle channel must not start a command at once:
    # that would reset the shared Response, and the answered task would see no payload (the
    # Telit FTP download lost #FTPRECV blocks this way under CPU load).
    from modemkit.fakeuart import FakeClock, FakeUart, Script
    from modemkit.sched import Scheduler
    clock = FakeClock(0)
    sched = Scheduler(clock)
    uart = FakeUart(clock, chunk=64, size=512, marks=16)
    script = Script([('>', b'AT#FTPRECV=4\r'), ('~', 50),
                     ('<', b'\r\n#FTPRECV: 4\r\nabcd\r\n\r\nOK\r\n'),
                     ('>', b'AT+CSQ\r'), ('<', b'\r\n+CSQ: 9,99\r\n\r\nOK\r\n')])
    uart.attach(script)
    chan = at.Channel(sched, uart, log=lambda m: None)
    seen = []

    def neighbour():
        yield sched.sleep_ms(50)           # due when the answer arrives
        r = yield chan.send(Cmd(b'AT+CSQ', expect=b'+CSQ:'))
        seen.append(('csq', r.status, r.num(0)))

    # spawned before the reader, so the scheduler readies the reader first in that pass
    other = sched.spawn(neighbour())
    sched.spawn(chan.run(), 'at-rx')
    buf = bytearray(16)

    def main():
        r = yield chan.send(Cmd(b'AT#FTPRECV=4', expect=b'#FTPRECV:', sink=buf))
        seen.append(('recv', r.status, r.nraw, bytes(buf[:r.nraw])))
        yield other.join()

    sched.run(main())
    script.done()
    assert seen == [('recv', OK, 4, b'abcd'), ('csq', OK, 9)], seen
