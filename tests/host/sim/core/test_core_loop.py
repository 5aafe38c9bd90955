"""The event loop (`mktools.sim.core.loop.Loop`) on the fake and the real clock."""

import socket
import time

import pytest

from mktools.sim.core.loop import Loop


def test_fake_timers_run_in_order_at_their_time():
    loop = Loop(fake=True)
    seen = []
    loop.call_later(0.3, lambda: seen.append(('b', loop.now())))
    loop.call_later(0.1, lambda: seen.append(('a', loop.now())))
    loop.call_later(0.1, lambda: loop.call_later(0.1, lambda: seen.append(('a2', loop.now()))))
    cancelled = loop.call_later(0.2, lambda: seen.append(('never', loop.now())))
    cancelled.cancel()
    assert loop.next_timer() == 0.1
    loop.advance_to(0.25)
    assert seen == [('a', 0.1), ('a2', 0.2)] and loop.now() == 0.25
    loop.advance_to(1.0)
    assert seen[-1] == ('b', 0.3) and loop.next_timer() is None


def test_fake_clock_only_moves_in_advance_to():
    loop = Loop(fake=True, start=5.0)
    loop.run_once(0.01)
    assert loop.now() == 5.0
    with pytest.raises(RuntimeError):
        Loop().advance_to(1.0)


def test_readers_and_writers_on_real_fds():
    loop = Loop(fake=True)
    a, b = socket.socketpair()
    got = []
    loop.add_reader(a, lambda: got.append(a.recv(10)))
    loop.add_writer(b, lambda: (got.append('writable'), loop.remove_writer(b)))
    b.send(b'hi')
    loop.advance_to(0.0)
    assert sorted(map(str, got)) == ["b'hi'", 'writable']
    loop.remove_reader(a)
    assert not loop.has_fds()
    a.close()
    b.close()


def test_a_callback_may_close_another_ready_fd():
    loop = Loop(fake=True)
    pairs = [socket.socketpair() for _ in range(2)]
    calls = []

    def close_both():
        calls.append('closer')
        for r, _ in pairs:
            loop.remove_reader(r)
            r.close()
    for r, w in pairs:
        loop.add_reader(r, close_both)
        w.send(b'x')
    loop.poll(0.1)
    assert calls == ['closer']
    for _, w in pairs:
        w.close()


def test_real_clock_run_forever_until_stop():
    loop = Loop()
    start = time.monotonic()
    loop.call_later(0.05, loop.stop)
    loop.run_forever()
    assert 0.04 <= time.monotonic() - start < 1.0


def test_a_stop_before_run_forever_is_not_lost():
    loop = Loop()
    loop.stop()                                  # e.g. SIGTERM right after start-up
    backstop = loop.call_later(2.0, loop.stop)   # a lost stop fails the test, not hangs it
    start = time.monotonic()
    loop.run_forever()
    assert time.monotonic() - start < 0.5        # returned at once
    backstop.cancel()
    ran = []
    loop.call_later(0.01, ran.append, 'timer')
    loop.call_later(0.05, loop.stop)
    start = time.monotonic()
    loop.run_forever()                           # runs again until the next stop
    assert ran == ['timer'] and 0.04 <= time.monotonic() - start < 1.0
