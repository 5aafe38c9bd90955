"""The platform layer, chosen once at import: ticks, sleep, serial streams, watchdog, files.

Everything that differs between interpreters lives behind this module; nothing else in modemkit
tests `sys.implementation`.

Interface (every port module provides it):
  ticks_ms() -> int            monotonic milliseconds, wrapping at the port's period
  ticks_add(t, delta) -> int   wrap-safe addition
  ticks_diff(a, b) -> int      wrap-safe a - b (valid while |a - b| < period / 2)
  sleep_ms(ms)
  idle(ms, stream=None)        sleep up to ms (ms < 0: no limit), or until stream has bytes;
                               this module is the scheduler's default clock
  Watchdog(timeout_ms)         .feed()
  data_path(name) -> str       where the application keeps a file called `name`
  pin_write(pin, value)        drive a GPIO (the module's power key)
  const(x)                     MicroPython's compile-time constant (identity elsewhere)
  PLATFORM                     'micropython', 'telit' or 'cpython'
  load_json(f) -> object       json.load(f) with text as str (2.7's json gives unicode, which
                               is not a str there and which bytes cannot be mixed with)
  FileError                    what a failed open()/read of a file raises, a tuple for
                               `except FileError:`: (OSError,), or (IOError, OSError) on 2.7,
                               where open() raises IOError (not an OSError); MicroPython has no
                               name IOError at all. Name it alone: CPython 3 refuses a tuple
                               nested in an except tuple
A serial stream (returned by each port's opener) offers write(buf, n=None, off=0) -> int,
readinto(buf) -> int (non-blocking: 0 when nothing is waiting), any() -> int, and
wait_readable(ms) -> bool (ms < 0 waits without limit).
"""
import sys

_impl = getattr(sys, 'implementation', None)
if _impl is not None and _impl.name == 'micropython':
    from modemkit.port_mpy import *
elif _impl is None:
    # sys.implementation appeared in Python 3.3: without it this is Telit's Python 2.7.
    from modemkit.port_telit import *
else:
    from modemkit.port_cpy import *
del sys, _impl        # not part of the interface (and two slots fewer in the module table)
