"""The scheduler: child tasks, joins, errors and cancellation."""
from mktest import raises
from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import (Scheduler, Event, Return, Timeout, Cancelled, SchedError)
from modemkit.port import ticks_add, ticks_diff


def new(start=0):
    clock = FakeClock(start)
    return clock, Scheduler(clock)


def test_join_result_error_timeout():
    clock, s = new()

    def child(ms, result, error=None):
        yield s.sleep_ms(ms)
        if error is not None:
            raise error
        raise Return(result)

    def main():
        a = s.spawn(child(10, 'A'))
        b = s.spawn(child(20, None, KeyError('kb')))
        c = s.spawn(child(100, 'C'))
        ra = yield a.join()
        try:
            yield b.join()
            rb = None
        except KeyError as e:
            rb = e.args[0]
        try:
            yield c.join(30)
            rc = None
        except Timeout:
            rc = 'timeout'
        late = yield a.join()      # joining a finished task returns at once
        raise Return((ra, rb, rc, late, clock.now))

    assert s.run(main()) == ('A', 'kb', 'timeout', 'A', 50)


def test_unjoined_child_error_reaches_parent():
    clock, s = new()

    def child():
        yield s.sleep_ms(5)
        raise OSError(5, 'child failed')

    def parent():
        s.spawn(child())
        try:
            yield s.sleep_ms(1000)
        except OSError as e:
            raise Return(('caught', e.args[0], clock.now))

    assert s.run(parent()) == ('caught', 5, 5)


def test_cancel_waiting_task_runs_finally():
    clock, s = new()
    ev = Event(s)
    log = []

    def victim():
        try:
            yield ev.wait()
        except Cancelled:
            log.append('cancelled')
            raise
        finally:
            log.append('finally')

    def main():
        v = s.spawn(victim())
        yield s.sleep_ms(5)
        v.cancel()
        try:
            yield v.join()
        except Cancelled:
            log.append('join saw cancel')
        raise Return(ev.head is None)

    assert s.run(main()) is True      # the victim left the event's queue
    assert log == ['cancelled', 'finally', 'join saw cancel'], log


def test_cancel_ready_task_and_self_cancel():
    clock, s = new()
    log = []

    def busy():
        try:
            while True:
                yield
        except Cancelled:
            log.append('busy')

    def selfish():
        try:
            s.cur.cancel()
            yield s.sleep_ms(1000)
        except Cancelled:
            log.append('self at %d' % clock.now)

    def main():
        b = s.spawn(busy())
        s.spawn(selfish())
        yield
        b.cancel()
        yield s.sleep_ms(1)

    s.run(main())
    assert sorted(log) == ['busy', 'self at 0'], log


def test_children_cancelled_when_parent_ends():
    clock, s = new()
    log = []

    def child():
        try:
            yield s.sleep_ms(1000)
        except Cancelled:
            log.append(clock.now)

    def parent():
        s.spawn(child())
        yield s.sleep_ms(7)

    s.run(parent())
    s.run()
    assert log == [7], log


def test_on_error_hook_for_orphan_errors():
    clock, s = new()
    seen = []
    s.on_error = lambda t, e: seen.append((t.name, str(e)))

    def orphan():
        yield
        raise ValueError('lost?')

    s.spawn(orphan(), 'orphan')
    s.run()
    assert seen == [('orphan', 'lost?')], seen
