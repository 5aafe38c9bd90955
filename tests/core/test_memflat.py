"""Memory stays flat (issue 18): one AT channel, and one MQTT client, live through many seeded
episodes of hostile bytes (the fragments tests/host/fuzz uses: manual lines whole and cut,
over-long lines, NULs, lone CRs, prompts at deadlines; corrupt MQTT packets) and hold no more
memory at the end than after the first few.  The measure is the interpreter's own: on
MicroPython the heap in use after gc.collect() (gc.mem_alloc(), under the test run's heap cap),
on CPython 3 the bytes tracemalloc sees allocated, on 2.7 (neither) only the count of the
objects the collector tracks, a weaker measure.
Portable subset."""
import gc

from mktest import IS_MICROPYTHON, setup
from modemkit.at import Cmd, OK, FAIL, PROMPT, PROMPT_GT
from modemkit.sched import Return

FRAGMENTS = [
    b'OK', b'ERROR', b'+CME ERROR: 10', b'+CMS ERROR: 500', b'NO CARRIER', b'CONNECT',
    b'> ', b'>', b'SEND OK', b'SEND FAIL', b'#CME ERROR: 38027', b'RING', b'RDY',
    b'+CSQ: 20,99', b'+CREG: 1,5', b'SRING: 1,10', b'#SRECV: 1,10', b'+QIURC: "recv",0,4',
    b'+QIURC: "closed",1', b'+QIRD: 4', b'+QIOPEN: 0,0', b'+WIND: 4', b'OK_Info_DataBegin',
    b'+CMTI: "SM",3', b'AT+CSQ', b'',
]
ENDS = [b'\r\n', b'\r', b'\n', b'', b'\x00', b'\r\r\n']
EPISODES = 60          # measured ones, after WARM_UP
WARM_UP = 8
# Bytes the end may differ from the start by: a conservative collector keeps a few dead blocks
# a stale stack slot points to. A leak of 16 bytes per episode is more.
SLACK_BYTES = 768
SLACK_OBJECTS = 12            # 2.7: objects the collector tracks (a list that grows is one)


class Rand(object):
    """A tiny seeded generator (an LCG): the same episodes on every interpreter."""

    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7fffffff
        return (self.x >> 8) % n


def _piece(rnd):
    k = rnd.below(10)
    if k < 6:
        f = FRAGMENTS[rnd.below(len(FRAGMENTS))]
        if rnd.below(3) == 0:
            f = f[:rnd.below(len(f) + 1)]
    elif k < 8:
        noise = bytearray(rnd.below(12))
        for i in range(len(noise)):
            noise[i] = rnd.below(256)
        f = bytes(noise)
    elif k < 9:
        f = b'A' * (130 + rnd.below(200))          # longer than the line buffer
    else:
        f = b'\x00\x00\r\x1b'
    return f + ENDS[rnd.below(len(ENDS))]


class Peer(object):
    """Answers a plain AT with OK; the episode's command brings the episode's bytes, each at
    its delay (around the command's deadline too); data after a prompt is swallowed."""

    def __init__(self):
        self.plan = []
        self.line = bytearray(64)
        self.n = 0
        self.uart = None
        self.data_left = 0

    def bind(self, uart):
        self.uart = uart

    def host_write(self, buf, n, off=0):
        for j in range(off, off + n):
            c = buf[j]
            if self.data_left:
                self.data_left = 0 if c == 27 else self.data_left - 1
                continue
            if c != 13:
                if self.n < len(self.line):
                    self.line[self.n] = c
                    self.n += 1
                continue
            now = self.uart.clock.now
            is_at = self.n == 2 and self.line[0] == 65 and self.line[1] == 84
            if self.n > 10 and self.line[:10] == b'AT+QISEND=':
                self.data_left = 5
            self.n = 0
            if is_at:
                self.uart.feed(b'\r\nOK\r\n', now + 5)
            else:
                for delay, data in self.plan:
                    self.uart.feed(data, now + delay)
                self.plan = []


def _plan(rnd, deadline):
    plan = []
    total = 0
    for _ in range(rnd.below(8)):
        k = rnd.below(5)
        delay = deadline - 1 + rnd.below(3) if k == 0 else rnd.below(1500)
        p = _piece(rnd)
        total += len(p)
        if total > 400:                 # the fake UART of mktest.setup() holds 512
            break
        plan.append((delay, p))
    return plan


def _measure():
    gc.collect()
    gc.collect()
    if IS_MICROPYTHON:
        return gc.mem_alloc(), SLACK_BYTES
    try:
        import tracemalloc
    except ImportError:
        return len(gc.get_objects()), SLACK_OBJECTS
    # tracemalloc sees the whole process: threads other tests left running (a server, a
    # subprocess's line reader) allocate meanwhile. Count only what was allocated from the
    # code under test: modemkit's modules and these tests' helpers.
    import os
    import modemkit
    mine = [tracemalloc.Filter(True, os.path.join(os.path.dirname(f), '*'))
            for f in (modemkit.__file__, __file__)]
    traces = tracemalloc.take_snapshot().filter_traces(mine).traces
    return sum(t.size for t in traces), SLACK_BYTES


def _flat(episode, n, what):
    """Run episode(i) WARM_UP + n times; the memory in use after the warm-up and at the end."""
    tm = None
    if not IS_MICROPYTHON:
        try:
            import tracemalloc as tm
            tm.start()
        except ImportError:
            tm = None
    try:
        for i in range(WARM_UP):
            episode(i)
        start, slack = _measure()
        for i in range(n):
            episode(WARM_UP + i)
        end, slack = _measure()
    finally:
        if tm is not None:
            tm.stop()
    assert end - start <= slack, '%s: %d -> %d over %d episodes' % (what, start, end, n)
    return start, end


def test_the_at_channel_holds_no_more_after_many_hostile_episodes():
    env = setup(chunk=7, log=lambda msg: None)
    died = []
    env.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    peer = Peer()
    env.uart.attach(peer)
    chan = env.chan
    chan.add_final(b'SEND OK', OK)
    chan.add_final(b'SEND FAIL', FAIL)
    seen = [0]

    def on_qiurc(line):
        seen[0] += 1
        if line.text(0) == 'recv':
            chan.read_raw(line.num(2, 0) or 0, lambda buf, s, e: None)

    chan.on(b'+QIURC:', on_qiurc)
    rnd = Rand(18)
    plain = Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=300)
    prompt = Cmd(b'AT+QISEND=0,5', prompt=PROMPT_GT, timeout_ms=300)
    sink = Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=bytearray(64), timeout_ms=300)
    at = Cmd(b'AT', timeout_ms=1000)
    data = bytearray(b'hello')
    statuses = [0, 0]

    def main(cmd):
        r = yield chan.send(cmd)
        if r.status == PROMPT:
            r = yield chan.send_data(data)
        yield env.sched.sleep_ms(1600)        # the rest of the episode arrives, unasked
        for _ in range(3):
            r = yield chan.send(at)
            if r.status == OK:
                break
        statuses[r.status == OK] += 1
        raise Return(None)

    cmds = (plain, prompt, sink)

    def episode(i):
        cmd = cmds[rnd.below(3)]
        peer.plan = _plan(rnd, cmd.timeout_ms)
        env.sched.run(main(cmd))

    _flat(episode, EPISODES, 'AT channel')
    assert died == [], died
    assert statuses[1] >= EPISODES, statuses      # a plain AT succeeded after each episode
    assert chan.garbage + chan.overlong > 0 and seen[0] > 0      # the episodes were hostile


REAL = [b'\x40\x02\x00\x01', b'\x90\x03\x00\x01\x00', b'\xb0\x02\x00\x01', b'\xd0\x00',
        b'\x20\x02\x00\x00', b'\x30\x06\x00\x03a/bx', b'\x32\x08\x00\x03a/b\x00\x05x']


def test_the_mqtt_client_holds_no_more_after_many_corrupt_packets():
    from mqttfake import FakeModem, client
    from modemkit.mqtt import UP
    m = FakeModem()
    died = []
    m.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    c = client(m, log=lambda msg: None, on_message=lambda t, p, r: None)
    rnd = Rand(1883)
    junk = bytearray(40)

    def main():
        yield c.wait_up(30000)
        if m.broker is not None:
            m.broker.record = False
        n = 0
        for _ in range(1 + rnd.below(3)):
            p = bytearray(REAL[rnd.below(len(REAL))])
            for j in range(len(p)):
                if n < len(junk):
                    junk[n] = p[j]
                    n += 1
            if rnd.below(2) and n:                 # one byte spoiled, or the packet cut
                junk[rnd.below(n)] = rnd.below(256)
            if rnd.below(3) == 0:
                n -= rnd.below(n + 1)
        m.sock.put(junk, 0, n)
        yield m.sched.sleep_ms(1000)
        for _ in range(300):
            if c.state == UP and c.sock is not None and not c.sock.available():
                break
            yield m.sched.sleep_ms(100)
        raise Return(None)

    def episode(i):
        m.sched.run(main())
        del m.logs[:]

    _flat(episode, EPISODES, 'MQTT client')
    assert died == [], died
    assert c.state == UP and c.connects > 1, (c.state, c.connects)     # it reconnected
