"""Heap use on MicroPython: a task switch and a steady-state AT exchange allocate nothing
(proved with micropython.heap_lock), and the cost of a suspended task is bounded."""
import gc

from mktest import need_heap_lock, setup, heap_locked as _locked
from modemkit.fakeuart import FakeClock
from modemkit.sched import Scheduler, Event
from modemkit.at import Cmd, OK

# Heap bytes per suspended task (Task object, a one-frame generator) on the 64-bit unix port:
# issue 17 asks for no more than asyncio's 256; README "Memory" quotes the measured figure. A
# 32-bit MCU needs about half.
TASK_BYTES_BOUND = 256


def _need_micropython():
    need_heap_lock()


def test_task_switch_allocates_nothing():
    _need_micropython()
    clock = FakeClock()
    s = Scheduler(clock)
    ping = Event(s)
    pong = Event(s)
    count = [0, 0]

    def player(mine, other, k):
        while True:
            yield mine.wait()
            mine.clear()
            count[k] += 1
            yield s.sleep_ms(1)
            other.set()

    def ticker():
        while True:
            yield s.sleep_ms(3)
            yield

    s.spawn(player(ping, pong, 0))
    s.spawn(player(pong, ping, 1))
    s.spawn(ticker())
    ping.set()
    for _ in range(10):           # warm up outside the lock (first resumptions, timers)
        s.run_once()

    def passes():
        for _ in range(500):
            s.run_once()

    before = count[0] + count[1]
    err = _locked(passes)
    assert err is None, 'a task switch allocated: %r' % err
    assert count[0] + count[1] - before > 100, count


def test_steady_state_at_exchange_allocates_nothing():
    _need_micropython()
    rounds = 30
    steps = []
    for _ in range(rounds + 2):
        steps.append(('>', b'AT+CSQ\r'))
        steps.append(('<', b'\r\n+CSQ: 21,99\r\n\r\nOK\r\n'))
    env = setup(steps)
    csq = Cmd(b'AT+CSQ', expect=b'+CSQ:')
    total = [0, 0]

    def poller():
        while True:
            r = yield env.chan.send(csq)
            if r.status == OK:
                total[0] += r.num(0, 0)
                total[1] += 1

    env.sched.spawn(poller())
    for _ in range(40):
        env.sched.run_once()

    def exchanges():
        while total[1] < rounds:
            env.sched.run_once()

    done_before = total[1]
    err = _locked(exchanges)
    assert err is None, 'an AT exchange allocated: %r' % err
    assert total[1] - done_before > 15 and total[0] == 21 * total[1], total


def test_suspended_task_cost_is_bounded():
    _need_micropython()
    s = Scheduler(FakeClock())

    def idle():
        while True:
            yield s.sleep_ms(1000)

    tasks = [None] * 20              # preallocated so the list itself is not measured
    gc.collect()
    free0 = gc.mem_free()
    for i in range(20):
        tasks[i] = s.spawn(idle())
    s.run_once()                     # every task started and suspended
    gc.collect()
    per_task = (free0 - gc.mem_free()) // 20
    print('heap bytes per suspended task: %d' % per_task)
    assert 0 < per_task <= TASK_BYTES_BOUND, per_task

