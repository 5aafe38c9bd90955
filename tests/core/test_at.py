"""The AT channel: outcomes, URCs, bounds (scripted fake UART, 3-byte chunks)."""
from mktest import setup, raises
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT
from modemkit.sched import Return, Cancelled
from modemkit.fakeuart import ScriptError


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


def test_ok_with_lines_echo_on():
    env = setup([('>', b'AT+CSQ\r'), ('<', b'AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n')])
    CSQ = Cmd(b'AT+CSQ', expect=b'+CSQ:')

    def main():
        r = yield env.chan.send(CSQ)
        raise Return((r.status, r.lines(), r.num(0, 0), r.num(0, 1), r.final()))

    assert run(env, main) == (OK, [b'+CSQ: 20,99'], 20, 99, b'OK')


def test_fail_codes_and_texts():
    env = setup([('>', b'AT+QIOPEN=1\r'), ('<', b'\r\nERROR\r\n'),
                 ('>', b'AT#SD=1\r'), ('<', b'\r\n+CME ERROR: context not opened\r\n'),
                 ('>', b'AT+X\r'), ('<', b'\r\n+CME ERROR: 552\r\n'),
                 ('>', b'AT+Y\r'), ('<', b'\r\n#CME ERROR: 38027\r\n')])
    env.chan.add_final(b'#CME ERROR:', FAIL, True)
    out = []

    def main():
        for text in (b'AT+QIOPEN=1', b'AT#SD=1', b'AT+X', b'AT+Y'):
            r = yield env.chan.send(Cmd(text))
            out.append((r.status, r.code, r.error()))

    run(env, main)
    assert out == [(FAIL, -1, 'ERROR'), (FAIL, -1, '+CME ERROR: context not opened'),
                   (FAIL, 552, '+CME ERROR: 552'), (FAIL, 38027, '#CME ERROR: 38027')], out


def test_urc_between_echo_and_ok():
    env = setup([('>', b'AT+CREG?\r'),
                 ('<', b'AT+CREG?\r\r\n+QIURC: "recv",3\r\n+CREG: 0,1\r\n\r\nOK\r\n')])
    urcs = []
    env.chan.on(b'+QIURC:', lambda line: urcs.append((line.text(0), line.num(1))))

    def main():
        r = yield env.chan.send(Cmd(b'AT+CREG?', expect=b'+CREG:'))
        raise Return(r.lines())

    assert run(env, main) == [b'+CREG: 0,1']
    assert urcs == [('recv', 3)], urcs


def test_urc_split_across_chunks_while_idle():
    for chunk in (1, 2, 3, 7):
        env = setup([], chunk=chunk)
        urcs = []
        env.chan.on(b'+QIURC: "closed"', lambda line: urcs.append(line.num(1)))
        env.uart.feed(b'\r\n+QIURC: "clo', 5)
        env.uart.feed(b'sed",11\r', 9)
        env.uart.feed(b'\n', 30)

        def main():
            yield env.sched.sleep_ms(50)

        env.sched.run(main())
        assert urcs == [11], (chunk, urcs)
        assert env.chan.unsolicited == 0
