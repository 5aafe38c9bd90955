"""The AT channel: prompts and data phases."""
from mktest import setup, raises
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT
from modemkit.sched import Return, Cancelled
from modemkit.fakeuart import ScriptError


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


def test_prompt_then_data():
    env = setup([('>', b'AT+QISEND=0,5\r'), ('<', b'\r\n> '), ('>', b'hello'),
                 ('<', b'\r\nSEND OK\r\n')])
    env.chan.add_final(b'SEND OK', OK)
    env.chan.add_final(b'SEND FAIL', FAIL)

    def main():
        r = yield env.chan.send(Cmd(b'AT+QISEND=0,5', prompt=at.PROMPT_GT))
        first = r.status
        r = yield env.chan.send_data(bytearray(b'hello'))
        raise Return((first, r.status, r.final()))

    assert run(env, main) == (PROMPT, OK, b'SEND OK')


def test_triple_prompt_split_in_chunks():
    env = setup([('>', b'AT#WSCRIPT="a.py",3\r'), ('<', b'\r\n>>>'), ('>', b'x=1'),
                 ('<', b'\r\nOK\r\n')], chunk=1)

    def main():
        r = yield env.chan.send(Cmd(b'AT#WSCRIPT="a.py",3', prompt=at.PROMPT_GT3))
        first = r.status
        r = yield env.chan.send_data(bytearray(b'x=1'))
        raise Return((first, r.status))

    assert run(env, main) == (PROMPT, OK)


def test_prompt_error_instead_of_prompt():
    env = setup([('>', b'AT+QISEND=3,5\r'), ('<', b'\r\nERROR\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT+QISEND=3,5', prompt=at.PROMPT_GT))
        raise Return(r.status)

    assert run(env, main) == FAIL
    assert raises(OSError, env.chan.send_data, b'x').args[0] == 5      # EIO, not ValueError


def test_cancel_during_prompt_sends_esc():
    env = setup([('>', b'AT+QISEND=0\r'), ('<', b'\r\n> '), ('>', b'\x1b'),
                 ('<', b'\r\nSEND FAIL\r\n'), ('>', b'AT\r'), ('<', b'\r\nOK\r\n')])
    env.chan.add_final(b'SEND FAIL', FAIL)
    seen = []

    def sender():
        r = yield env.chan.send(Cmd(b'AT+QISEND=0', prompt=at.PROMPT_GT))
        seen.append(r.status)
        yield env.sched.sleep_ms(1000)     # forgets to send the data; gets cancelled

    def main():
        t = env.sched.spawn(sender())
        yield env.sched.sleep_ms(10)
        t.cancel()
        r = yield env.chan.send(Cmd(b'AT'))
        seen.append(r.status)

    run(env, main)
    assert seen == [PROMPT, OK], seen


def test_prompt_in_the_reader_pass_of_the_deadline():
    # The prompt becomes readable exactly at the command's deadline: the reader that hands it
    # to the task must not expire the command in the same pass (ESC, then send_data() failing).
    env = setup([('>', b'AT+QISEND=0,5\r'), ('~', 1000), ('<', b'\r\n> '), ('>', b'hello'),
                 ('<', b'\r\nSEND OK\r\n')])
    env.chan.add_final(b'SEND OK', OK)

    def main():
        r = yield env.chan.send(Cmd(b'AT+QISEND=0,5', timeout_ms=1000, prompt=at.PROMPT_GT))
        first = r.status
        at_ms = env.clock.now
        r = yield env.chan.send_data(bytearray(b'hello'))
        raise Return((first, at_ms, r.status))

    assert run(env, main) == (PROMPT, 1000, OK)
    assert env.chan.timeouts == 0


def test_final_waiting_at_the_deadline_is_read_before_expiry():
    # The answer came in time but the reader only runs after the deadline (a busy scheduler):
    # bytes already received count before the command is expired.
    env = setup([('>', b'AT+CSQ\r'), ('~', 900), ('<', b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n')])

    def busy():
        yield env.sched.sleep_ms(890)
        env.clock.idle(200)             # a task that blocks past the deadline (bytes come in)

    def main():
        env.sched.spawn(busy())
        r = yield env.chan.send(Cmd(b'AT+CSQ', timeout_ms=1000, expect=b'+CSQ:'))
        raise Return((r.status, r.num(0, 0) if r.nlines else None))

    assert run(env, main) == (OK, 20)
    assert env.chan.timeouts == 0


def test_module_gives_the_prompt_up():
    # QL 2.1.15 qisend/timeout: the module leaves the prompt by itself with ERROR. The exchange
    # ends there; a late send_data() is a typed OSError and writes nothing in command mode.
    env = setup([('>', b'AT+QISEND=0,5\r'), ('<', b'\r\n> '), ('~', 50), ('<', b'\r\nERROR\r\n'),
                 ('>', b'AT\r'), ('<', b'\r\nOK\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT+QISEND=0,5', prompt=at.PROMPT_GT))
        first = r.status
        yield env.sched.sleep_ms(100)
        try:
            yield env.chan.send_data(bytearray(b'hello'))
            late = 'sent'
        except OSError as e:
            late = e.args[0]
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((first, late, r.status))

    assert run(env, main) == (PROMPT, 5, OK)
    assert env.chan.timeouts == 0 and env.chan.unsolicited == 0
