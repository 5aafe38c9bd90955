"""The emulator's single-threaded event loop: timers plus `select` on real fds.

On the real clock time is `time.monotonic()`.  On the fake clock (`Loop(fake=True)`) time only
moves in `advance_to()`; real sockets and fds are still polled (without blocking) between timers
so that loopback networking keeps making progress.
"""

import heapq
import itertools
import selectors
import time

MAX_TIMERS = 100_000


class TimerHandle:
    """A scheduled call; `cancel()` makes it a no-op."""

    __slots__ = ('when', 'fn', 'args', 'cancelled')

    def __init__(self, when, fn, args):
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True


class Loop:
    """Timers and fd callbacks on one thread, on a real or a fake clock."""

    def __init__(self, fake=False, start=0.0):
        self.fake = fake
        self._now = start
        self._timers = []            # heap of (when, seq, TimerHandle)
        self._seq = itertools.count()
        self._selector = selectors.DefaultSelector()
        self._stopped = False

    def now(self):
        """Current time in seconds."""
        return self._now if self.fake else time.monotonic()

    # -- timers -----------------------------------------------------------------------------

    def call_later(self, delay_s, fn, *args):
        """Run `fn(*args)` after `delay_s` seconds; returns a cancellable handle."""
        return self.call_at(self.now() + max(0.0, delay_s), fn, *args)

    def call_at(self, when, fn, *args):
        """Run `fn(*args)` at absolute time `when`."""
        if len(self._timers) >= MAX_TIMERS:
            self._timers = [t for t in self._timers if not t[2].cancelled]
            heapq.heapify(self._timers)
            if len(self._timers) >= MAX_TIMERS:
                raise RuntimeError('timer queue full')
        handle = TimerHandle(when, fn, args)
        heapq.heappush(self._timers, (when, next(self._seq), handle))
        return handle

    def next_timer(self):
        """Absolute time of the earliest live timer, or None."""
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0][0] if self._timers else None

    def _run_due_timers(self, until):
        """Run timers due at or before `until`, in order (including ones they schedule)."""
        while True:
            when = self.next_timer()
            if when is None or when > until:
                return
            _, _, handle = heapq.heappop(self._timers)
            if self.fake:
                self._now = max(self._now, when)
            handle.fn(*handle.args)

    # -- fds --------------------------------------------------------------------------------

    def _set_callback(self, fileobj, slot, fn):
        try:
            key = self._selector.get_key(fileobj)
            callbacks = list(key.data)
        except KeyError:
            key, callbacks = None, [None, None]
        callbacks[slot] = fn
        mask = (selectors.EVENT_READ if callbacks[0] else 0) | \
               (selectors.EVENT_WRITE if callbacks[1] else 0)
        if key is None:
            if mask:
                self._selector.register(fileobj, mask, callbacks)
        elif mask:
            self._selector.modify(fileobj, mask, callbacks)
        else:
            self._selector.unregister(fileobj)

    def add_reader(self, fileobj, fn):
        """Call `fn()` whenever `fileobj` (an fd or object with fileno()) is readable."""
        self._set_callback(fileobj, 0, fn)

    def remove_reader(self, fileobj):
        self._set_callback(fileobj, 0, None)

    def add_writer(self, fileobj, fn):
        """Call `fn()` whenever `fileobj` is writable."""
        self._set_callback(fileobj, 1, fn)

    def remove_writer(self, fileobj):
        self._set_callback(fileobj, 1, None)

    def has_fds(self):
        """True when any fd is being watched."""
        return bool(self._selector.get_map())

    def poll(self, timeout_s=0.0):
        """Wait up to `timeout_s` *real* seconds for fds and run their callbacks; no timers."""
        if not self.has_fds():
            if timeout_s > 0:
                time.sleep(timeout_s)
            return 0
        # epoll rounds its timeout up to a whole millisecond, which would make every timer (a
        # paced byte's arrival, a turnaround) up to 1 ms late: wait the whole milliseconds for
        # fds, then sleep what is left of the last one
        whole = int(timeout_s * 1000) / 1000.0
        ready = self._selector.select(whole)
        if not ready and timeout_s > whole:
            time.sleep(timeout_s - whole)
            ready = self._selector.select(0)
        for key, events in ready:
            # an earlier callback may have unregistered (and closed) this fd
            if events & selectors.EVENT_READ:
                self._call_if_registered(key.fileobj, 0)
            if events & selectors.EVENT_WRITE:
                self._call_if_registered(key.fileobj, 1)
        return len(ready)

    def _call_if_registered(self, fileobj, slot):
        try:
            fn = self._selector.get_key(fileobj).data[slot]
        except (KeyError, ValueError):
            return
        if fn is not None:
            fn()

    # -- running ----------------------------------------------------------------------------

    def run_once(self, max_wait_s=1.0):
        """Wait for fds (up to `max_wait_s`, less if a timer is due sooner), run callbacks, then
        run due timers.  On the fake clock the wait is real time and the clock does not move."""
        wait = max_wait_s
        when = self.next_timer()
        if when is not None:
            wait = min(wait, max(0.0, when - self.now()))
        self.poll(wait)
        self._run_due_timers(self.now())

    def advance_to(self, t):
        """Fake clock: run timers due up to `t` in order, polling fds between them without
        blocking, then set now = t."""
        if not self.fake:
            raise RuntimeError('advance_to() needs a fake clock')
        self.poll(0.0)
        while True:
            when = self.next_timer()
            if when is None or when > t:
                break
            self._run_due_timers(max(when, self._now))
            self.poll(0.0)
        self._now = max(self._now, t)

    def run_forever(self):
        """Run until `stop()` (a stop() that came before the call counts too)."""
        while not self._stopped:
            self.run_once(1.0)
        self._stopped = False

    def stop(self):
        self._stopped = True

    def close(self):
        self._selector.close()
