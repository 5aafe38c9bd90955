"""The AT channel: length-prefixed payloads, prompts and data phases."""
from mktest import setup, raises
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT
from modemkit.sched import Return, Cancelled
from modemkit.fakeuart import ScriptError


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


def test_binary_payload_containing_ok():
    payload = b'x\r\nOK\r\n\r\n+QIURC: "closed",0\r\nERROR\r\n>end'
    head = ('\r\n+QIRD: %d\r\n' % len(payload)).encode()
    env = setup([('>', b'AT+QIRD=0,1500\r'), ('<', head + payload + b'\r\nOK\r\n')])
    urcs = []
    env.chan.on(b'+QIURC:', lambda line: urcs.append(line.bytes()))
    sink = bytearray(1500)
    QIRD = Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=sink)

    def main():
        r = yield env.chan.send(QIRD)
        raise Return((r.status, r.nraw, bytes(sink[:r.nraw]), r.lines()))

    status, n, data, lines = run(env, main)
    assert status == OK and n == len(payload) and data == payload, (status, n, data)
    assert lines == [head.strip()]
    assert urcs == []          # the URC-looking bytes were payload, not a URC


def test_zero_byte_read():
    env = setup([('>', b'AT+QIRD=0,1500\r'), ('<', b'\r\n+QIRD: 0\r\n\r\nOK\r\n')])
    sink = bytearray(16)

    def main():
        r = yield env.chan.send(Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=sink))
        raise Return((r.status, r.nraw, r.num(0)))

    assert run(env, main) == (OK, 0, 0)


def test_payload_larger_than_sink_is_discarded_not_wedged():
    env = setup([('>', b'AT#SRECV=1,8\r'), ('<', b'\r\n#SRECV: 1,8\r\n12345678\r\nOK\r\n'),
                 ('>', b'AT\r'), ('<', b'\r\nOK\r\n')])
    sink = bytearray(5)

    def main():
        r = yield env.chan.send(Cmd(b'AT#SRECV=1,8', expect=b'#SRECV:', sink=sink,
                                    length_field=1))
        first = (r.status, r.nraw, r.overflow, bytes(sink))
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((first, r.status))

    assert run(env, main) == ((OK, 5, 3, b'12345'), OK)


def test_direct_push_urc_with_raw_payload():
    env = setup([])
    got = []
    data = bytearray(64)
    state = [0]

    def consume(buf, start, end):
        for i in range(start, end):
            data[state[0]] = buf[i]
            state[0] += 1

    def on_recv(line):
        n = line.num(2, 0)
        got.append(n)
        env.chan.read_raw(n, consume)

    env.chan.on(b'+QIURC: "recv"', on_recv)
    env.uart.feed(b'\r\n+QIURC: "recv",0,6\r\nOK\r\n\xff\r\n+QIURC: "closed",0\r\n')

    def main():
        yield env.sched.sleep_ms(10)

    env.sched.run(main())
    assert got == [6] and bytes(data[:state[0]]) == b'OK\r\n\xff\r', (got, data[:state[0]])
