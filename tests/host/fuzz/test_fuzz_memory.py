"""Memory stays flat (issue 18), as a property: one AT channel lives through a run of the AT
fuzz's episodes (test_fuzz_at), one MQTT client through a run of the MQTT fuzz's broker bytes
(test_fuzz_mqtt), and neither holds more memory after the last than after the first two.  The
measure is the size of every object reachable from the channel (or the client): its buffers,
response store, URC table, queue, sockets and rings, not the scheduler or the fake line.  tests/core/test_memflat.py proves the
same on MicroPython's capped heap with gc.mem_alloc()."""

import gc
import sys
import types

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT, PROMPT_GT3
from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import Return, Scheduler, Task
from mqttfake import Broker, FakeModem
from test_fuzz_at import CHUNKS, KINDS, UART_SIZE, Peer, episode
from test_fuzz_mqtt import junk

WARM_UP = 2
SLACK = 256           # bytes: a field replaced by a longer one (the last error's text); a leak of
#                       16 bytes an episode is 80 with its list slot and header, 640 over 8


# where the walk stops: numbers (a counter or a deadline is one field however large it gets),
# errors (the last one is kept, in one field, with its traceback), code, the scheduler and its
# tasks, the fake line and broker, the test
STOP = (int, float, BaseException, types.TracebackType, types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.CodeType,
        types.FrameType, types.GeneratorType, types.MethodType, Scheduler, Task, FakeClock,
        FakeUart, Peer, FakeModem, Broker)


def footprint(root):
    """Bytes of the objects reachable from root (sys.getsizeof each, once), not through STOP:
    its buffers, lists, responses, sockets and their rings; attribute tables aside."""
    seen = {id(root)}
    tables = set()
    todo = [root]
    total = 0
    while todo:
        o = todo.pop()
        # an instance's attribute table, not counted: its size follows the fields the code
        # names (a class default first set on the instance grows it once), not the traffic
        d = getattr(o, '__dict__', None) if not isinstance(o, dict) else None
        if isinstance(d, dict):
            tables.add(id(d))
        if id(o) not in tables:
            total += sys.getsizeof(o)
        for r in gc.get_referents(o):
            if id(r) not in seen and not isinstance(r, STOP):
                seen.add(id(r))
                todo.append(r)
    return total


def flat(run, n, root):
    """run(i) for i in range(n): (footprint of root() after the warm-up, at the end)."""
    for i in range(WARM_UP):
        run(i)
    start = footprint(root())
    for i in range(WARM_UP, n):
        run(i)
    return start, footprint(root())


@examples(100)
@given(plans=st.lists(st.tuples(episode, st.sampled_from(KINDS)), min_size=WARM_UP + 8,
                      max_size=WARM_UP + 16), chunk=CHUNKS)
def _at_channel(plans, chunk):
    tried('memory-at')
    from modemkit import at
    clock = FakeClock(0)
    sched = Scheduler(clock)
    died = []
    sched.on_error = lambda task, err: died.append((task.name, err))
    uart = FakeUart(clock, chunk=chunk, size=UART_SIZE, marks=64)
    chan = at.Channel(sched, uart, log=lambda msg: None, line_bytes=128, store_bytes=256)
    chan.add_final(b'SEND OK', OK)
    chan.on(b'+QIURC:', lambda line: line.text(0) == 'recv' and chan.read_raw(
        line.num(2, 0) or 0, lambda buf, s, e: None))
    sched.spawn(chan.run(), 'at-rx')
    cmds = {'plain': Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=300),
            'sink': Cmd(b'AT+QIRD=0,1500', expect=b'+QIRD:', sink=bytearray(64),
                        timeout_ms=300),
            'prompt': Cmd(b'AT+QISEND=0,5', prompt=PROMPT_GT, timeout_ms=300),
            'prompt3': Cmd(b'AT+QISEND=0,5', prompt=PROMPT_GT3, timeout_ms=300)}
    plain_at = Cmd(b'AT', timeout_ms=1000)
    oks = []

    def main(cmd):
        r = yield chan.send(cmd)
        if r.status == PROMPT:
            yield chan.send_data(b'hello')
        yield sched.sleep_ms(3000)
        for _ in range(3):
            r = yield chan.send(plain_at)
            if r.status == OK:
                break
        raise Return(r.status)

    def run(i):
        plan, kind = plans[i]
        uart.attach(Peer(plan, 300))
        oks.append(sched.run(main(cmds[kind])) == OK)

    start, end = flat(run, len(plans), lambda: chan)
    assert died == [], died
    assert all(oks), oks
    assert end - start <= SLACK, (start, end, len(plans))


@examples(100)
@given(runs=st.lists(st.lists(junk, min_size=1, max_size=6), min_size=WARM_UP + 8,
                     max_size=WARM_UP + 16))
def _mqtt_client(runs):
    tried('memory-mqtt')
    from modemkit.mqtt import UP
    from mqttfake import client
    m = FakeModem()
    died = []
    m.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    c = client(m, log=lambda msg: None, on_message=lambda t, p, r: None, max_packet=128)

    def main(data):
        yield c.wait_up(30000)
        m.broker.record = False
        m.sock.put(bytearray(data), 0, len(data))
        yield m.sched.sleep_ms(1000)
        for _ in range(600):
            if c.state == UP and c.sock is not None and not c.sock.available():
                break
            yield m.sched.sleep_ms(100)
        raise Return(c.state)

    def run(i):
        assert m.sched.run(main(b''.join(runs[i])[:200])) == UP
        del m.logs[:]

    start, end = flat(run, len(runs), lambda: c)
    assert died == [], died
    assert end - start <= SLACK, (start, end, len(runs))


def test_the_at_channel_holds_no_more_over_many_episodes():
    run_property(_at_channel)


def test_the_mqtt_client_holds_no_more_over_many_broker_runs():
    run_property(_mqtt_client)
