"""Port for Telit's on-module Python 2.7 (xE910 family): MDM/MDM2, MOD timers, flat files.

Telit Python has no select(): idling polls the stream in short sleeps. MDM.read() returns
whatever the module has produced (possibly '') without blocking; MDM.send(s, timeout) takes its
timeout in tenths of a second.
"""
import time

import MOD

from modemkit.ticks import ticks_add, ticks_diff, TICKS_PERIOD

PLATFORM = 'telit'
FileError = (IOError, OSError)   # 2.7: open() raises IOError, os.* OSError
_POLL_MS = 20


def const(x):
    """MicroPython folds const() at compile time; elsewhere it is the identity."""
    return x


def ticks_ms():
    # time.clock() counts seconds since the script started, with millisecond resolution here.
    return int(time.clock() * 1000) & (TICKS_PERIOD - 1)


def sleep_ms(ms):
    time.sleep(ms / 1000.0)


def idle(ms, stream=None):
    """The scheduler's idle: wait for `stream` or just sleep."""
    if stream is not None:
        stream.wait_readable(ms)
    elif ms > 0:
        sleep_ms(ms)


class Watchdog(object):
    def __init__(self, timeout_ms):
        MOD.watchdogEnable(max(1, timeout_ms // 1000))
        self.fed = 0

    def feed(self):
        self.fed += 1
        MOD.watchdogReset()


class MdmStream(object):
    """MDM or MDM2 (the module's own AT parser instances) as a modemkit stream."""

    def __init__(self, mdm, size=512):
        self._m = mdm
        self._pend = ''
        self._size = size

    def _pull(self):
        if len(self._pend) < self._size:
            self._pend = self._pend + self._m.read()

    def write(self, buf, n=None, off=0):
        if n is None:
            n = len(buf) - off
        self._m.send(bytes(buf[off:off + n]), 10)      # bytes is str on 2.7
        return n

    def readinto(self, buf):
        self._pull()
        n = min(len(buf), len(self._pend))
        for i in range(n):
            buf[i] = ord(self._pend[i])
        self._pend = self._pend[n:]
        return n

    def any(self):
        self._pull()
        return len(self._pend)

    def wait_readable(self, ms):
        start = ticks_ms()
        while not self.any():
            if ms >= 0 and ticks_diff(ticks_ms(), start) >= ms:
                return False
            sleep_ms(_POLL_MS)
        return True


def open_serial(port='MDM', baudrate=None):
    """'MDM' or 'MDM2': the interfaces Telit Python scripts use to talk AT to their own module."""
    if port == 'MDM2':
        import MDM2
        return MdmStream(MDM2)
    import MDM
    return MdmStream(MDM)


def pin_write(pin, value):
    import GPIO
    GPIO.setIOvalue(pin, value)


def load_json(f):
    import json
    return _native(json.load(f))


def _native(v):
    # 2.7's json gives unicode; AT commands and MQTT topics are built from str (bytes here)
    if isinstance(v, unicode):
        return v.encode('utf-8')
    if isinstance(v, dict):
        return dict((_native(k), _native(x)) for k, x in v.items())
    if isinstance(v, list):
        return [_native(x) for x in v]
    return v


def data_path(name):
    # Telit's script file system is flat (names <= 16 characters) under /sys; an absolute path
    # is the caller's own, as os.path.join treats it on the other ports
    if name.startswith('/'):
        return name
    return '/sys/' + name
