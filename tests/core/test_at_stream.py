"""The AT channel: open-ended data streams (a data mode opened by a command's OK or by a URC,
ended by the consumer) and URC handlers that yield to the command in flight."""
from mktest import setup
from modemkit.at import Cmd, OK, FAIL
from modemkit.sched import Return


def run(env, main):
    r = env.sched.run(main())
    env.script.done()
    return r


class _Stream(object):
    """An open-ended stream consumer ending on a bare 0x03 (as a Wavecom data mode does)."""

    def __init__(self, size=64):
        self.data = bytearray(size)
        self.n = 0
        self.ended = 0

    def __call__(self, buf, start, end):
        for i in range(start, end):
            if buf[i] == 3:
                self.ended += 1
                return i + 1 - start
            self.data[self.n] = buf[i]
            self.n += 1
        return None

    def got(self):
        return bytes(self.data[:self.n])


def test_command_opens_an_open_ended_stream():
    # chunk=3: the final line, the stream and its end marker arrive split anywhere
    env = setup([('>', b'AT#OTCP=1\r'),
                 ('<', b'\r\nOK_Info_WaitingForData\r\n\nOK\r\n+X: 1\r\x03\r\nOk_Info_Closed\r\n'),
                 ('>', b'AT\r'), ('<', b'\r\nOK\r\n')])
    env.chan.add_final(b'OK_Info_', OK, True)
    closed = []
    env.chan.on(b'Ok_Info_', lambda line: closed.append(line.bytes()), True)
    st = _Stream()
    otcp = Cmd(b'AT#OTCP=1', stream=st)

    def main():
        r = yield env.chan.send(otcp)
        first = (r.status, r.final())
        yield env.sched.sleep_ms(50)
        r = yield env.chan.send(Cmd(b'AT'))
        raise Return((first, r.status))

    assert run(env, main) == ((OK, b'OK_Info_WaitingForData'), OK)
    # only the CR LF ending the opening line is not stream: the stream's own LF is kept
    assert st.got() == b'\nOK\r\n+X: 1\r' and st.ended == 1, st.got()
    assert closed == [b'Ok_Info_Closed'], closed


def test_failed_command_opens_no_stream():
    env = setup([('>', b'AT#OTCP=1\r'), ('<', b'\r#CME ERROR: 38016\r\n+CREG: 1\r\n')])
    env.chan.add_final(b'#CME ERROR', FAIL, True)
    urcs = []
    env.chan.on(b'+CREG:', lambda line: urcs.append(line.bytes()))
    st = _Stream()

    def main():
        r = yield env.chan.send(Cmd(b'AT#OTCP=1', stream=st))
        yield env.sched.sleep_ms(10)
        raise Return((r.status, r.code))

    assert run(env, main) == (FAIL, 38016)
    assert st.n == 0 and urcs == [b'+CREG: 1'], (st.got(), urcs)


def test_stream_from_a_urc_ends_at_the_last_byte_of_a_chunk():
    env = setup([], chunk=4)
    st = _Stream()
    env.chan.on(b'RING', lambda line: env.chan.read_raw(-1, st))
    env.uart.feed(b'\r\nRING\r\nab\x03\r\nNEXT\r\n')    # 'b\x03' closes a 4-byte read
    lines = []
    env.chan.on(b'NEXT', lambda line: lines.append(line.bytes()))

    def main():
        yield env.sched.sleep_ms(10)

    env.sched.run(main())
    assert st.got() == b'ab' and st.ended == 1 and lines == [b'NEXT'], (st.got(), lines)


def test_idle_urc_handler_yields_to_the_command_in_flight():
    env = setup([('>', b'AT#X\r'), ('<', b'\r#CME ERROR: 37122\r\n'),
                 ('~', 5), ('<', b'\r#CME ERROR: 35841\r\n')])
    env.chan.add_final(b'#CME ERROR', FAIL, True)
    seen = []
    env.chan.on(b'#CME ERROR', lambda line: seen.append(line.num(0)), True)

    def main():
        r = yield env.chan.send(Cmd(b'AT#X'))
        yield env.sched.sleep_ms(20)
        raise Return((r.status, r.code))

    assert run(env, main) == (FAIL, 37122)
    assert seen == [35841], seen

