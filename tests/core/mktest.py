"""What the portable tests share: a skip that works under pytest and the plain runner, the fake
modem set-up, and small assertion helpers. Portable subset only (Python 2.7 / MicroPython)."""
import gc
import sys

try:
    import pytest

    def skip(reason):
        pytest.skip(reason)

    SkipTest = pytest.skip.Exception
except ImportError:
    class SkipTest(Exception):
        pass

    def skip(reason):
        raise SkipTest(reason)

IS_MICROPYTHON = getattr(sys, 'implementation', None) is not None and \
    sys.implementation.name == 'micropython'


def raises(exc_type, fn, *args):
    """Call fn(*args) and return the exception of exc_type it raises; fail if it does not."""
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError('%s not raised' % exc_type.__name__)


def setup(steps=None, chunk=3, start_ms=0, log=None, line_bytes=128, store_bytes=256,
          **channel_args):
    """A scheduler, a fake clock and UART (driven by a strict Script when steps are given) and
    an AT channel with its reader task running. Returns a namespace object."""
    from modemkit.fakeuart import FakeClock, FakeUart, Script
    from modemkit.sched import Scheduler
    from modemkit import at

    class Env(object):
        pass

    gc.collect()   # tests run one after another in a small heap: start each unfragmented

    env = Env()
    env.clock = FakeClock(start_ms)
    env.sched = Scheduler(env.clock)
    env.uart = FakeUart(env.clock, chunk=chunk, size=512, marks=16)
    env.script = None
    if steps is not None:
        env.script = Script(steps)
        env.uart.attach(env.script)
    env.logs = []
    env.chan = at.Channel(env.sched, env.uart, log=env.logs.append if log is None else log,
                          line_bytes=line_bytes, store_bytes=store_bytes, **channel_args)
    env.reader = env.sched.spawn(env.chan.run(), 'at-rx')
    return env


_tmp_count = [0]


def tmpdir():
    """A fresh, empty directory for files a test writes (removed by the OS's /tmp cleanup)."""
    import os
    try:
        import tempfile
        return tempfile.mkdtemp(prefix='modemkit-')
    except ImportError:
        import time
        _tmp_count[0] += 1
        path = '/tmp/modemkit-%d-%d' % (time.ticks_ms(), _tmp_count[0])
        os.mkdir(path)
        return path


def need_heap_lock():
    """Skip unless the port is MicroPython's and it has micropython.heap_lock() (CPython 3,
    Python 2.7 and a MicroPython built without it cannot prove that code allocates nothing)."""
    from modemkit import port
    if port.PLATFORM != 'micropython':
        skip('heap_lock() exists only on MicroPython (port %s)' % port.PLATFORM)
    import micropython
    if not hasattr(micropython, 'heap_lock'):
        skip('this MicroPython has no heap_lock()')


def heap_locked(fn):
    """Run fn() with MicroPython's heap locked; return the MemoryError it hit, or None."""
    import micropython
    gc.collect()
    micropython.heap_lock()
    try:
        fn()
        err = None
    except MemoryError as e:
        err = e
    micropython.heap_unlock()
    return err
