"""Port for CPython on a host (a Linux gateway, the desktop): pyserial streams."""
import os
import select
import time

from modemkit.ticks import ticks_add, ticks_diff, TICKS_PERIOD

PLATFORM = 'cpython'
FileError = (OSError,)           # IOError is an alias of OSError since 3.3
_T0 = time.monotonic()


def const(x):
    """MicroPython folds const() at compile time; elsewhere it is the identity."""
    return x


def ticks_ms():
    return int((time.monotonic() - _T0) * 1000) & (TICKS_PERIOD - 1)


def sleep_ms(ms):
    time.sleep(ms / 1000.0)


def idle(ms, stream=None):
    """The scheduler's idle: wait for `stream` or just sleep."""
    if stream is not None:
        stream.wait_readable(ms)
    elif ms > 0:
        sleep_ms(ms)


class Watchdog(object):
    """No hardware watchdog on a host: feeding is recorded so tests can observe it."""

    def __init__(self, timeout_ms):
        self.timeout_ms = timeout_ms
        self.fed = 0

    def feed(self):
        self.fed += 1


class Serial(object):
    """A serial port (pyserial URL or device path) as a modemkit stream."""

    def __init__(self, port, baudrate=115200):
        import serial  # host-only dependency, imported where it is needed
        self._s = serial.serial_for_url(port, baudrate=baudrate, timeout=0)

    def write(self, buf, n=None, off=0):
        if off or (n is not None and n != len(buf)):
            buf = memoryview(buf)[off:off + (len(buf) - off if n is None else n)]
        return self._s.write(buf)

    def readinto(self, buf):
        n = self._s.in_waiting
        if not n:
            return 0
        data = self._s.read(min(n, len(buf)))
        buf[:len(data)] = data
        return len(data)

    def any(self):
        return self._s.in_waiting

    def wait_readable(self, ms):
        if self._s.in_waiting:
            return True
        fd = self._s.fileno() if hasattr(self._s, 'fileno') else None
        if fd is None:
            sleep_ms(min(ms, 10) if ms >= 0 else 10)
            return self._s.in_waiting > 0
        r = select.select([fd], [], [], None if ms < 0 else ms / 1000.0)[0]
        return bool(r)

    def close(self):
        self._s.close()


def open_serial(port, baudrate=115200):
    return Serial(port, baudrate)


def pin_write(pin, value):
    raise OSError(95, 'no GPIO on a host: drop "power" from the board config')


def load_json(f):
    import json
    return json.load(f)


def data_path(name):
    return os.path.join(os.environ.get('MODEMKIT_DATA', '.'), name)
