"""The scheduler on a fake clock: sleeps, events, streams, child tasks, cancellation, watchdog."""
from mktest import raises
from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import (Scheduler, Event, Return, Timeout, Cancelled, SchedError)
from modemkit.port import ticks_add, ticks_diff


def new(start=0):
    clock = FakeClock(start)
    return clock, Scheduler(clock)


def test_sleep_order_and_fake_time():
    clock, s = new()
    seen = []

    def sleeper(name, ms):
        yield s.sleep_ms(ms)
        seen.append((name, clock.now))

    s.spawn(sleeper('b', 30))
    s.spawn(sleeper('a', 10))
    s.spawn(sleeper('c', 20))
    s.run()
    assert seen == [('a', 10), ('c', 20), ('b', 30)], seen


def test_plain_yield_round_robin():
    clock, s = new()
    seen = []

    def worker(name):
        for i in range(3):
            seen.append(name + str(i))
            yield

    s.spawn(worker('x'))
    s.spawn(worker('y'))
    s.run()
    assert seen == ['x0', 'y0', 'x1', 'y1', 'x2', 'y2'], seen


def test_sub_generator_result_and_error():
    clock, s = new()

    def add(a, b):
        yield s.sleep_ms(5)
        raise Return(a + b)

    def boom():
        yield
        raise ValueError('inner')

    def no_result():
        yield

    def main():
        x = yield add(2, 3)
        y = yield add(x, 10)
        z = yield no_result()
        try:
            yield boom()
        except ValueError as e:
            raise Return((x, y, z, str(e)))

    assert s.run(main()) == (5, 15, None, 'inner')
    assert clock.now == 10


def test_event_wait_set_and_timeout():
    clock, s = new()
    ev = Event(s)
    out = []

    def waiter():
        out.append((yield ev.wait(50)))
        out.append(clock.now)
        ev.clear()
        out.append((yield ev.wait(20)))
        out.append(clock.now)

    def setter():
        yield s.sleep_ms(30)
        ev.set()

    s.spawn(waiter())
    s.spawn(setter())
    s.run()
    assert out == [True, 30, False, 50], out


def test_event_already_set_returns_at_once():
    clock, s = new()
    ev = Event(s)
    ev.set()

    def main():
        r = yield ev.wait()
        raise Return((r, clock.now))

    assert s.run(main()) == (True, 0)


def test_readable_stream_and_timeout():
    clock, s = new()
    uart = FakeUart(clock)
    uart.feed(b'hi', 40)

    def main():
        early = yield s.readable(uart, 10)
        t1 = clock.now
        late = yield s.readable(uart, 100)
        raise Return((early, t1, late, clock.now))

    assert s.run(main()) == (False, 10, True, 40)


def test_misuse_is_reported():
    clock, s = new()

    def bad_yield():
        yield 42

    def deep(n):
        if n:
            yield deep(n - 1)
        yield

    e = raises(SchedError, s.run, bad_yield())
    assert 'yielded 42' in str(e)
    e = raises(SchedError, s.run, deep(20))
    assert 'depth' in str(e)
    e = raises(SchedError, s.sleep_ms, 5)
    assert 'outside a task' in str(e)
    raises(SchedError, s.spawn, 'not a generator')


def test_deadlock_detected():
    clock, s = new()
    ev = Event(s)

    def stuck():
        yield ev.wait()

    e = raises(SchedError, s.run, stuck())
    assert 'deadlock' in str(e)


def test_ticks_wrap_during_sleep():
    # Start the fake clock 5 ms before the tick counter wraps: deadlines must still work.
    start = ticks_add(0, -5)
    clock, s = new(start)

    def main():
        yield s.sleep_ms(20)
        raise Return(ticks_diff(clock.now, start))

    assert s.run(main()) == 20
    assert clock.now == ticks_add(0, 15)


def test_watchdog_fed_only_while_heartbeats_hold():
    clock, s = new()

    class Dog(object):
        fed = 0

        def feed(self):
            self.fed += 1

    dog = Dog()
    s.watchdog = dog

    def healthy():
        for i in range(5):
            s.heartbeat(50)
            yield s.sleep_ms(10)

    s.run(healthy())
    fed_healthy = dog.fed
    assert fed_healthy > 0

    def wedged():
        s.heartbeat(10)
        yield s.sleep_ms(100)     # breaks its promise: no heartbeat for 100 ms
        s.heartbeat(1000)

    def observer():
        yield s.sleep_ms(50)      # passes while `wedged` is overdue
        yield s.sleep_ms(30)

    before = dog.fed
    s.spawn(wedged())
    s.run(observer())
    # the passes at 50 and 80 ms found the heartbeat overdue and did not feed
    assert dog.fed - before <= 2, dog.fed - before
