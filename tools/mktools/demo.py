"""The main job, shown live: modemkit's AT channel driving a (scripted) Quectel module.

    python -m mktools.demo

Each exchange is printed as the channel sees it: what was sent, the lines and the outcome.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'lib'))

from modemkit import at                                    # noqa: E402
from modemkit.fakeuart import FakeClock, FakeUart, Script  # noqa: E402
from modemkit.sched import Scheduler                       # noqa: E402

CONVERSATION = [
    ('>', b'ATE0\r'), ('<', b'ATE0\r\r\nOK\r\n'),
    ('>', b'AT+CSQ\r'), ('~', 40), ('<', b'\r\n+CSQ: 24,99\r\n\r\nOK\r\n'),
    ('>', b'AT+QIACT=1\r'), ('~', 900), ('<', b'\r\nOK\r\n'),
    ('>', b'AT+QIOPEN=1,0,"TCP","127.0.0.1",7,0,0\r'), ('<', b'\r\nOK\r\n'),
    ('~', 120), ('<', b'\r\n+QIOPEN: 0,0\r\n'),
    ('>', b'AT+QISEND=0,5\r'), ('<', b'\r\n> '), ('>', b'hello'), ('<', b'\r\nSEND OK\r\n'),
    ('~', 60), ('<', b'\r\n+QIURC: "recv",0\r\n'),
    ('>', b'AT+QIRD=0,1500\r'), ('<', b'\r\n+QIRD: 5\r\nhello\r\n\r\nOK\r\n'),
    ('>', b'AT+QICLOSE=0\r'), ('<', b'\r\nOK\r\n'),
]


def main():
    clock = FakeClock()
    sched = Scheduler(clock)
    uart = FakeUart(clock)
    uart.attach(Script(CONVERSATION))
    chan = at.Channel(sched, uart)
    chan.add_final(b'SEND OK', at.OK)
    chan.add_final(b'SEND FAIL', at.FAIL)
    events = []
    chan.on(b'+QIOPEN:', lambda line: events.append(line.bytes()))
    chan.on(b'+QIURC:', lambda line: events.append(line.bytes()))
    payload = bytearray(1500)

    def show(cmd, r):
        print('%7d ms  %-40s -> %s %s' % (clock.now, cmd.text(), at.STATUS_NAMES[r.status],
                                          ' | '.join(l.decode() for l in r.lines())))
        while events:
            print('%7d ms  %-40s    %s' % (clock.now, '(URC)', events.pop(0).decode()))

    def job():
        for text, expect, timeout in ((b'ATE0', None, 300), (b'AT+CSQ', b'+CSQ:', 300),
                                      (b'AT+QIACT=1', None, 150000),
                                      (b'AT+QIOPEN=1,0,"TCP","127.0.0.1",7,0,0', None, 150000)):
            cmd = at.Cmd(text, expect=expect, timeout_ms=timeout)
            show(cmd, (yield chan.send(cmd)))
        yield sched.sleep_ms(200)
        send = at.Cmd(b'AT+QISEND=0,5', prompt=at.PROMPT_GT)
        show(send, (yield chan.send(send)))
        show(send, (yield chan.send_data(bytearray(b'hello'))))
        yield sched.sleep_ms(100)
        rd = at.Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=payload)
        r = yield chan.send(rd)
        show(rd, r)
        print('%7d ms  read %d payload bytes: %r' % (clock.now, r.nraw, bytes(payload[:r.nraw])))
        close = at.Cmd(b'AT+QICLOSE=0', timeout_ms=10000)
        show(close, (yield chan.send(close)))

    sched.spawn(chan.run(), 'at-rx')
    sched.run(job())
    print('done: %d ms of modem time, channel stats: %d unsolicited, %d garbled, %d timeouts'
          % (clock.now, chan.stats.unsolicited, chan.stats.garbage, chan.stats.timeouts))
    return 0


if __name__ == '__main__':
    sys.exit(main())
