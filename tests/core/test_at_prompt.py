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
    assert raises(ValueError, env.chan.send_data, b'x')


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
