"""The AT channel (lib/modemkit/at.py) under a hostile line, through the byte-level fake UART:
random bytes, real response and URC fragments from the three manuals (whole, truncated, run
together), over-long lines, NULs, lone CRs, a URC whose binary payload holds more of the same,
prompts and finals at the deadline.  Properties: nothing escapes the channel (its reader task
lives, URC handlers' errors are counted), every exchange ends by its timeout (after a prompt, by
the data phase's too), and a plain AT succeeds afterwards."""

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit import at
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, PROMPT, PROMPT_GT, PROMPT_GT3
from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import Return, Scheduler

# Lines the manuals show (T-IPE/Telit, QL/Quectel, Wavecom/Multi-Tech), finals and URCs alike
FRAGMENTS = [
    b'OK', b'ERROR', b'+CME ERROR: 10', b'+CME ERROR: operation not allowed', b'+CMS ERROR: 500',
    b'NO CARRIER', b'CONNECT', b'CONNECT 115200', b'BUSY', b'NO ANSWER', b'NO DIALTONE',
    b'> ', b'>', b'>>>', b'SEND OK', b'SEND FAIL', b'#CME ERROR: 38027', b'RING', b'RDY',
    b'APP RDY', b'+CPIN: READY', b'+CSQ: 20,99', b'+CREG: 1,5', b'+CEREG: 0,1', b'+CGREG: 2',
    b'SRING: 1', b'SRING: 1,10', b'#SGACT: 1,1', b'#SGACT: 10.0.0.1', b'#SRECV: 1,10',
    b'#MQRING: 1,1,topic,3', b'#FTPGETPKT: f.txt,0,1', b'NO CARRIER 1',
    b'+QIURC: "recv",0,4', b'+QIURC: "closed",1', b'+QIURC: "pdpdeact",1', b'+QIRD: 4',
    b'+QIOPEN: 0,0', b'+QIACT: 1,1,1,"10.0.0.2"', b'+QIND: SMS DONE', b'POWERED DOWN',
    b'+WIND: 4', b'+WIND: 1', b'#CONNECTIONSTART: OK', b'OK_Info_DataBegin',
    b'+CMTI: "SM",3', b'AT+CSQ', b'AT+QISEND=0,5', b'',
]
ENDS = [b'\r\n', b'\r', b'\n', b'', b'\x00', b'\r\r\n', b'\n\r']

fragment = st.one_of(
    st.tuples(st.sampled_from(FRAGMENTS), st.integers(0, 40)).map(
        lambda fp: fp[0][:fp[1]] if fp[1] < len(fp[0]) else fp[0]),      # truncated or whole
    st.binary(max_size=24),                                                 # line noise
    st.integers(130, 600).map(lambda n: b'A' * n),                          # over-long line
    st.sampled_from([b'\x00' * 3, b'\r', b'\x1b', b'\xff\xfe', b'>>>>']),
)
piece = st.tuples(fragment, st.sampled_from(ENDS)).map(lambda fe: fe[0] + fe[1])
# (delay in ms after the command was written, or -1/0/1 ms around its deadline, bytes)
delay = st.one_of(st.integers(0, 2500), st.sampled_from(['D-1', 'D', 'D+1']))
episode = st.lists(st.tuples(delay, piece), max_size=12)

CHUNKS = st.integers(1, 16)
UART_SIZE = 16384


class Peer(object):
    """The modem side: answers a plain AT with OK; any other command (or data after a prompt)
    brings the episode's bytes, each at its delay."""

    def __init__(self, plan, deadline):
        self.plan = [(deadline + int(d[1:] or 0) if isinstance(d, str) else d, data)
                     for d, data in plan]
        self.line = bytearray()
        self.data_left = 0          # after AT+QISEND=0,5: five bytes of data (or an ESC)
        self.uart = None

    def bind(self, uart):
        self.uart = uart

    def host_write(self, buf, n, off=0):
        for j in range(off, off + n):
            c = buf[j]
            if self.data_left:
                self.data_left = 0 if c == 27 else self.data_left - 1
                continue
            if c != 13:
                self.line.append(c)
                continue
            cmd, self.line = bytes(self.line), bytearray()
            now = self.uart.clock.now
            if cmd.startswith(b'AT+QISEND='):
                self.data_left = 5
            if cmd == b'AT':
                self.uart.feed(b'\r\nOK\r\n', now + 5)
            elif self.plan:
                for delay, data in sorted(self.plan, key=lambda p: p[0]):
                    self.uart.feed(data, now + delay)
                self.plan = None


def channel(plan, chunk, deadline):
    clock = FakeClock(0)
    sched = Scheduler(clock)
    died = []
    sched.on_error = lambda task, err: died.append((task.name, err))
    uart = FakeUart(clock, chunk=chunk, size=UART_SIZE, marks=64)
    uart.attach(Peer(plan, deadline))
    logs = []
    chan = at.Channel(sched, uart, log=logs.append, line_bytes=128, store_bytes=256)
    chan.add_final(b'SEND OK', OK)
    chan.add_final(b'SEND FAIL', FAIL)
    chan.add_final(b'#CME ERROR:', FAIL, True)
    sched.spawn(chan.run(), 'at-rx')
    return sched, chan, died


KINDS = ('plain', 'prompt', 'prompt3', 'sink')


@examples(3000)
@given(plan=episode, chunk=CHUNKS, kind=st.sampled_from(KINDS),
       timeout=st.sampled_from([100, 300, 1000, 2000]), cancel=st.booleans())
def _one_exchange(plan, chunk, kind, timeout, cancel):
    tried('at-channel')
    sched, chan, died = channel(plan, chunk, timeout)
    urcs = []

    def on_qiurc(line):
        urcs.append(line.bytes())
        if line.text(0) == 'recv':
            # Quectel direct push: the payload follows the header (QL §2.1.4)
            chan.read_raw(line.num(2, 0) or 0, lambda buf, s, e: None)

    def on_creg(line):
        line.num(5)                            # a field that is not there
        raise ValueError('a handler that breaks')

    chan.on(b'+QIURC:', on_qiurc)
    chan.on(b'+CREG:', on_creg)
    chan.on(b'+WIND:', lambda line: urcs.append(line.bytes()), idle=True)
    if kind == 'plain':
        cmd = Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=timeout)
    elif kind == 'sink':
        cmd = Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=bytearray(64), timeout_ms=timeout)
    else:
        cmd = Cmd(b'AT+QISEND=0,5', prompt=PROMPT_GT if kind == 'prompt' else PROMPT_GT3,
                  timeout_ms=timeout)
    clock = sched.clock

    def main():
        t0 = clock.ticks_ms()
        r = yield chan.send(cmd)
        limit = timeout
        prompted = r.status == PROMPT
        if prompted:
            r = yield chan.send_data(b'hello', cancel=cancel)
            limit = 2 * timeout
        # every exchange ends by its timeout (a few ms of chunked delivery aside)
        assert r.status in (OK, FAIL, TIMEOUT), r.status
        assert clock.ticks_ms() - t0 <= limit + 20, (clock.ticks_ms() - t0, limit)
        yield sched.sleep_ms(3000)             # the rest of the episode arrives, unasked
        statuses = []
        for _ in range(3):
            r = yield chan.send(Cmd(b'AT', timeout_ms=1000))
            statuses.append(r.status)
            if r.status == OK:
                break
        raise Return((statuses, prompted))

    (statuses, prompted) = sched.run(main())
    assert died == [], died
    # a plain AT succeeds afterwards, at once unless the line lost bytes the module counts:
    # - a direct-push header whose payload was cut takes the next bytes as payload until an
    #   exchange expires (QL §2.1.4 gives the length up front);
    # - a prompt that never arrived leaves the module waiting for its 5 bytes of data, which
    #   the next commands' bytes become (the channel cannot tell a lost prompt from none)
    assert statuses[-1] == OK, (statuses, urcs)
    if len(statuses) > 1:
        assert (any(u.startswith(b'+QIURC: "recv"') for u in urcs)
                or kind.startswith('prompt') and not prompted), (statuses, urcs)


def test_at_channel_survives_any_line():
    run_property(_one_exchange)
