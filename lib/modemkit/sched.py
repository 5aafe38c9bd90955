"""A small cooperative scheduler: generator tasks, deadlines, events, streams, child tasks.

A task is a generator. What it yields tells the scheduler what to do:
  yield                       let the others run, then continue
  yield some_generator()      call a sub-generator and receive its result (there is no
                              `yield from` on Python 2.7); its exceptions propagate to the caller
  yield s.sleep_ms(ms)        sleep
  yield ev.wait(ms)           True once the event is set, False on timeout
  yield s.readable(st, ms)    True once stream `st` has bytes, False on timeout
  yield child.join(ms)        the child's result; its exception is raised here; Timeout on timeout
A generator hands back a value with `raise Return(value)` (Python 2.7 has no `return value` in a
generator). `ms` is always optional: None waits without limit.

Memory: tasks and queues are linked through the task objects themselves and every wait records
its state in fields of the waiting task, so a switch allocates nothing. A suspended task costs its
Task object plus its generator frames (see README, "Memory"). The call depth of sub-generators is
bounded per task (`depth`, default 8); the callers' stack is allocated at a task's first call of
a sub-generator and kept, so a task that never calls one does without it.

A call that runs often can hand out one generator each time instead of a new one (a new
generator takes heap for its frame, and `raise Return(v)` an exception object): that generator
serves one call after another in a loop, and ends each with `yield sched.ret(value)`, which
gives value to the task that yielded it and leaves the generator suspended, not finished, for
the next call (see MQTT.publish). Whoever hands it out sees that no two tasks run it at once.
"""
from modemkit import port
from modemkit.port import const, ticks_add, ticks_diff

_GENERATOR = type((lambda: (yield))())
WAIT = object()       # yielded by the wait helpers below: the task's fields say what it waits for
RET = object()        # yielded through Scheduler.ret(): the result is in Task.val

# Task.state: READY and DONE, or one of the waiting states, which also say what a timeout does.
READY = 0
DONE = 1
_SLEEP = const(2)           # waiting; on timeout resume with None
_EVENT = const(3)           # waiting in a queue; on timeout resume with False
_STREAM = const(4)          # waiting for a stream (in Task.wq); on timeout resume with False
_JOIN = const(5)            # waiting in a queue or an owner; on timeout raise Timeout


class Return(Exception):
    """raise Return(value) ends a generator with a result."""

    def __init__(self, value=None):
        self.value = value


class Timeout(Exception):
    """A wait with a timeout ran out."""


class Cancelled(BaseException):
    """Raised inside a task that was cancelled. A BaseException, so `except Exception` in task
    code does not swallow it; catch it only to clean up, then re-raise."""


class SchedError(Exception):
    """A task misused the scheduler (bad yield, call depth exceeded, wait outside a task)."""


class Task(object):
    """A running generator. Few attributes on purpose: on MicroPython each one set on an
    instance costs 16 bytes of its table in every task, so those a task may never set stay on
    the class until one does (the scheduler sets a field only when its value changes). Those
    nearly every task sets are set at once: a table that grows while the task runs needs a
    new block then, in a heap fragmented by then (the table takes 2, 4, ... 12, 17 slots)."""
    joiners = None                # an Event (never set: a queue), created by the first join()
    alive_by = None               # watchdog heartbeat deadline, see Scheduler.heartbeat
    pending = None                # a cancel requested while the task itself was running
    name = 'task'
    parent = None
    depth = None                  # its own call depth limit; None: the scheduler's
    stack = None                  # from the first call: [how many callers, caller 1, ...]
    exc = None                    # thrown into it on resume; its error once DONE

    def __init__(self, sched, gen, name, parent, depth):
        self.sched = sched
        self.gen = gen                # the running generator: the top of its stack
        self.state = READY
        self.nxt = None               # link in the ready queue or in an Event's queue
        self.anxt = None              # link in the list of all tasks
        self.val = None               # sent into the generator on resume; its result once DONE
        self.wq = None                # what it waits in: an Event, an owner, or a stream
        self.deadline = None          # ticks of a timed wait
        if name:
            self.name = name
        if parent is not None:
            self.parent = parent
        if depth:
            self.depth = depth

    def done(self):
        return self.state == DONE

    def join(self, timeout_ms=None):
        """yield t.join(ms): the task's result, or its exception raised in the joiner."""
        s = self.sched
        me = s._current()
        if self.state == DONE:
            if self.exc is not None:
                me.exc = self.exc
            elif self.val is not None:
                me.val = self.val
            s._make_ready(me)
        else:
            if self.joiners is None:
                self.joiners = Event(s)
            self.joiners.push(me)
            s._suspend(me, self.joiners, timeout_ms, _JOIN)
        return WAIT

    def cancel(self):
        """Raise Cancelled inside the task at its next resumption (at once if it is waiting)."""
        if self.state == DONE:
            return
        if self is self.sched.cur:
            self.pending = Cancelled(self.name)   # met at its next yield
        else:
            self.sched._interrupt(self, Cancelled(self.name))


class Event(object):
    """A level-triggered flag tasks can wait for. It is its own FIFO of waiters, linked through
    Task.nxt: one object per event, not two, and one class for every queue of waiting tasks (a
    task's joiners too). Anything else a task waits in must offer remove(t) likewise."""

    def __init__(self, sched):
        self.head = None
        self.tail = None
        self.sched = sched
        self.is_set = False

    def push(self, t):
        t.nxt = None
        if self.tail is None:
            self.head = t
        else:
            self.tail.nxt = t
        self.tail = t

    def pop(self):
        t = self.head
        if t is not None:
            self.head = t.nxt
            if self.head is None:
                self.tail = None
            t.nxt = None
        return t

    def remove(self, t):
        prev = None
        cur = self.head
        while cur is not None:
            if cur is t:
                if prev is None:
                    self.head = t.nxt
                else:
                    prev.nxt = t.nxt
                if self.tail is t:
                    self.tail = prev
                t.nxt = None
                return True
            prev = cur
            cur = cur.nxt
        return False

    def set(self):
        self.is_set = True
        s = self.sched
        t = self.pop()
        while t is not None:
            s._resume(t, True)
            t = self.pop()

    def clear(self):
        self.is_set = False

    def wait(self, timeout_ms=None):
        s = self.sched
        me = s._current()
        if self.is_set:
            me.val = True
            s._make_ready(me)
        else:
            self.push(me)
            s._suspend(me, self, timeout_ms, _EVENT)
        return WAIT


class Scheduler(object):
    def __init__(self, clock=None, depth=8):
        self.clock = clock if clock is not None else port   # ticks_ms() and idle()
        self.depth = depth
        self.cur = None
        self._rhead = None            # ready queue, linked through Task.nxt
        self._rtail = None
        self._all = None              # every live task, linked through Task.anxt
        self.watchdog = None
        self.on_error = None          # called with (task, exc) for an error nobody received

    # -- tasks -----------------------------------------------------------------------------
    def spawn(self, gen, name=None, parent=None, depth=None):
        """Start a task. Spawned from inside a task, it is that task's child (unless
        parent=False): the child is cancelled when the parent ends, and an error nobody joins
        is raised in the parent."""
        if type(gen) is not _GENERATOR:
            raise SchedError('spawn() needs a generator, got %r' % (gen,))
        if parent is None:
            parent = self.cur
        elif parent is False:
            parent = None          # a top-level task even when spawned from a task
        t = Task(self, gen, name, parent, depth)
        t.anxt = self._all
        self._all = t
        self._make_ready(t)
        return t

    def run(self, main=None):
        """Run until `main` (a generator) finishes and return its result or raise its error;
        without `main`, run until no task is left."""
        mt = self.spawn(main, 'main') if main is not None else None
        while True:
            if mt is not None and mt.state == DONE:
                if mt.exc is not None:
                    raise mt.exc
                return mt.val
            if not self.run_once():
                if mt is not None:
                    raise SchedError('deadlock: every task waits without a timeout')
                return None

    # -- waits (called by a task just before it yields WAIT) --------------------------------
    def sleep_ms(self, ms):
        self._suspend(self._current(), None, ms, _SLEEP)
        return WAIT

    def readable(self, stream, timeout_ms=None):
        me = self._current()
        if stream.any():
            me.val = True
            self._make_ready(me)
        else:
            self._suspend(me, stream, timeout_ms, _STREAM)
        return WAIT

    def ret(self, value=None):
        """`yield s.ret(value)` ends a call of a generator that serves call after call:
        value goes to the task that yielded the generator (as `raise Return(value)`, without
        allocating), and the generator stays suspended there until it is yielded again."""
        t = self._current()
        if value is not None or t.val is not None:
            t.val = value
        return RET

    def suspend(self, owner, timeout_ms=None):
        """Park the current task in `owner` (which offers remove(task)) until wake(task, v)."""
        self._suspend(self._current(), owner, timeout_ms, _JOIN)
        return WAIT

    def wake(self, t, val=None, exc=None):
        """Resume a suspended task with a value, or with an exception raised in it."""
        if t.state < _SLEEP:
            return
        if exc is not None:
            t.exc = exc
        self._resume(t, val)

    def heartbeat(self, ms):
        """Promise that the current task calls heartbeat() again within ms. While any promise
        is broken the watchdog is no longer fed, so a wedged task resets the device."""
        self._current().alive_by = ticks_add(self.clock.ticks_ms(), ms)

    # -- internals -------------------------------------------------------------------------
    def _current(self):
        if self.cur is None:
            raise SchedError('wait outside a task')
        return self.cur

    def _make_ready(self, t):
        t.state = READY
        t.nxt = None
        if self._rtail is None:
            self._rhead = t
        else:
            self._rtail.nxt = t
        self._rtail = t

    def _suspend(self, t, wq, timeout_ms, state):
        t.state = state
        if wq is not None or t.wq is not None:
            t.wq = wq
        if timeout_ms is not None:
            t.deadline = ticks_add(self.clock.ticks_ms(), timeout_ms)
        elif t.deadline is not None:
            t.deadline = None

    def _resume(self, t, val):
        # only what changes is set: a field a task never used stays on the class (Task)
        if val is not None or t.val is not None:
            t.val = val
        if t.deadline is not None:
            t.deadline = None
        if t.wq is not None:
            t.wq = None
        self._make_ready(t)

    def _unwait(self, t):
        if t.state != _STREAM and t.wq is not None:
            t.wq.remove(t)

    def _expire(self, t):
        self._unwait(t)
        if t.state == _JOIN:
            t.exc = Timeout('%s: wait timed out' % t.name)
            self._resume(t, None)
        else:
            self._resume(t, None if t.state == _SLEEP else False)

    def _interrupt(self, t, exc):
        t.exc = exc
        if t.val is not None:
            t.val = None
        if t.state >= _SLEEP:
            self._unwait(t)
            self._resume(t, None)
        # a READY or running task meets t.exc at its next resumption

    def run_once(self):
        """One pass: wake what is due, run what is ready, or idle. False if nothing can ever
        happen again (no task ready, none with a timeout or a stream)."""
        clock = self.clock
        now = clock.ticks_ms()
        soonest = None
        stream = None
        streams = 0
        overdue = False
        t = self._all
        while t is not None:
            if t.state >= _SLEEP:
                if t.state == _STREAM and t.wq.any():
                    self._resume(t, True)
                elif t.deadline is not None and ticks_diff(t.deadline, now) <= 0:
                    self._expire(t)
                else:
                    if t.deadline is not None:
                        d = ticks_diff(t.deadline, now)
                        if soonest is None or d < soonest:
                            soonest = d
                    if t.state == _STREAM:
                        stream = t.wq
                        streams += 1
            if t.alive_by is not None and ticks_diff(t.alive_by, now) < 0:
                overdue = True
            t = t.anxt
        if self.watchdog is not None and not overdue:
            self.watchdog.feed()
        if self._rhead is None:
            if soonest is None and streams == 0:
                return False
            if streams > 1:
                # no portable poll over several streams: look again every 10 ms
                stream = None
                if soonest is None or soonest > 10:
                    soonest = 10
            clock.idle(-1 if soonest is None else soonest, stream)
            return True
        last = self._rtail
        while True:
            t = self._rhead
            self._rhead = t.nxt
            if self._rhead is None:
                self._rtail = None
            t.nxt = None
            self._step(t)
            if t is last:
                break
        return True

    def _step(self, t):
        self.cur = t
        val = t.val
        exc = t.exc
        if val is not None:
            t.val = None
        if exc is not None:
            t.exc = None
        while True:
            gen = t.gen
            try:
                if exc is not None:
                    e = exc
                    exc = None
                    y = gen.throw(e)
                else:
                    y = gen.send(val)
            except Return as r:
                val = r.value
                if self._pop(t, val, None):
                    break
                continue
            except StopIteration:
                val = None
                if self._pop(t, None, None):
                    break
                continue
            except (Exception, Cancelled) as e:
                if self._pop(t, None, e):
                    break
                exc = e
                val = None
                continue
            if t.pending is not None:
                # cancelled itself while running: deliver Cancelled at its next step
                e = t.pending
                t.pending = None
                if type(y) is _GENERATOR:
                    y.close()
                if t.state >= _SLEEP:
                    self._interrupt(t, e)
                else:
                    t.exc = e
                    if y is not WAIT:      # WAIT while READY: it is queued already
                        self._make_ready(t)
                break
            if y is WAIT:
                break
            if y is None:
                if t.state < _SLEEP:
                    self._make_ready(t)
                break
            if y is RET:
                # a call ended (Scheduler.ret): the result goes to the caller, the generator
                # is left suspended for its next call
                val = t.val
                if val is not None:
                    t.val = None
                if self._pop(t, val, None):
                    break
                continue
            if type(y) is _GENERATOR:
                depth = t.depth or self.depth
                st = t.stack
                if st is None:
                    st = t.stack = [None] * depth     # once per task, kept
                    st[0] = 0
                n = st[0] + 1
                if n >= depth:
                    exc = SchedError('%s: sub-generator depth %d exceeded' % (t.name, depth))
                    y.close()
                    continue
                st[n] = gen
                st[0] = n
                t.gen = y
                val = None
                continue
            exc = SchedError('%s: yielded %r (expected None, a generator or a wait)' % (t.name, y))
        self.cur = None

    def _pop(self, t, val, err):
        """Leave the current generator; True when the task itself has finished."""
        st = t.stack
        if st is not None and st[0]:
            n = st[0]
            t.gen = st[n]
            st[n] = None
            st[0] = n - 1
            return False
        t.gen = None
        self._finish(t, val, err)
        return True

    def _finish(self, t, val, err):
        t.state = DONE
        if val is not None or t.val is not None:
            t.val = val
        if err is not None or t.exc is not None:
            t.exc = err
        if t.wq is not None:
            t.wq = None
        prev = None
        cur = self._all
        while cur is not None:
            if cur is t:
                if prev is None:
                    self._all = t.anxt
                else:
                    prev.anxt = t.anxt
            elif cur.parent is t:
                cur.parent = None     # it is set on the instance: no new field
                cur.cancel()
            prev = cur if cur is not t else prev
            cur = cur.anxt
        t.anxt = None
        received = False
        q = t.joiners
        j = None if q is None else q.pop()
        while j is not None:
            received = True
            if err is not None:
                j.exc = err
            self._resume(j, val)
            j = q.pop()
        if err is None or received or isinstance(err, Cancelled):
            return
        p = t.parent
        if p is not None and p.state != DONE:
            self._interrupt(p, err)
        elif self.on_error is not None:
            self.on_error(t, err)
        else:
            print('modemkit.sched: task %s died: %r' % (t.name, err))
