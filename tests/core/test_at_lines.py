"""The AT channel: bounded lines, garbage, field parsing, the Cmd builder."""
from mktest import setup, raises
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT
from modemkit.sched import Return, Cancelled
from modemkit.fakeuart import ScriptError


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


def test_overlong_line_dropped_then_channel_works():
    junk = b"+JUNK: " + b"z" * 300
    env = setup([('>', b'AT\r'), ('<', b'\r\n' + junk + b'\r\nOK\r\n')], line_bytes=64)

    def main():
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((r.status, r.lines()))

    assert run(env, main) == (OK, [])
    assert env.chan.overlong == 1
    assert any('longer than 64' in m for m in env.logs), env.logs


def test_garbage_bytes_counted_and_dropped():
    env = setup([('>', b'AT\r'), ('<', b'\r\n\xff\xfe\x00garbage\x81\r\n\r\nOK\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((r.status, r.lines()))

    assert run(env, main) == (OK, [])
    assert env.chan.garbage == 1


def test_echo_off_and_expect_prefix_beats_urc_table():
    # +QIOPEN: is a URC, but AT+QIOPEN=? answers with the same prefix.
    env = setup([('>', b'AT+QIOPEN=?\r'),
                 ('<', b'\r\n+QIOPEN: (1-16),(0-11),"TCP/UDP"\r\n\r\nOK\r\n'),
                 ('<', b'\r\n+QIOPEN: 0,0\r\n')])
    urcs = []
    env.chan.on(b'+QIOPEN:', lambda line: urcs.append((line.num(0), line.num(1))))

    def main():
        r = yield env.chan.send(Cmd(b'AT+QIOPEN=?', expect=b'+QIOPEN:'))
        lines = r.lines()
        yield env.sched.sleep_ms(10)
        raise Return(lines)

    assert run(env, main) == [b'+QIOPEN: (1-16),(0-11),"TCP/UDP"']
    assert urcs == [(0, 0)], urcs


def test_response_line_store_is_bounded():
    many = b''.join([('\r\n+L: %d\r\n' % i).encode() for i in range(10)])
    env = setup([('>', b'AT+LIST\r'), ('<', many + b'\r\nOK\r\n')], max_lines=4)

    def main():
        r = yield env.chan.send(Cmd(b'AT+LIST'))
        raise Return((r.status, r.nlines, r.dropped, r.num(3)))

    assert run(env, main) == (OK, 4, 6, 3)


def test_cmd_builder_in_place():
    c = Cmd(size=24)
    c.clear().add(b'AT+QIRD=').add(11).add(',').add(1500)
    assert c.text() == 'AT+QIRD=11,1500'
    c.clear().add('AT+QIRD=').add(0).add(b',0')
    assert c.text() == 'AT+QIRD=0,0'
    raises(ValueError, c.add, b'x' * 40)
    raises(ValueError, c.add, -1)


def test_fields_quoted_and_negative():
    env = setup([('>', b'AT+Q\r'), ('<', b'\r\n+Q: "a,b",-12, 7,"x"\r\nOK\r\n')])

    def main():
        r = yield env.chan.send(Cmd(b'AT+Q'))
        raise Return((r.text(0, 0), r.num(0, 1), r.num(0, 2), r.text(0, 3), r.num(0, 9),
                      r.num(0, 0, 'dflt')))

    assert run(env, main) == ('a,b', -12, 7, 'x', None, 'dflt')


def test_urc_handler_error_is_contained():
    env = setup([])

    def bad(line):
        raise ValueError('handler bug')

    env.chan.on(b'+BAD', bad)
    env.uart.feed(b'\r\n+BAD: 1\r\n')

    def main():
        yield env.sched.sleep_ms(5)

    env.sched.run(main())
    assert env.chan.handler_errors == 1
