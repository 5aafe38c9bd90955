"""Port for MicroPython: machine.UART on a board, a POSIX tty on the unix port."""
import time
import select

from micropython import const

PLATFORM = 'micropython'
FileError = (OSError,)           # MicroPython has no IOError
ticks_ms = time.ticks_ms
ticks_add = time.ticks_add
ticks_diff = time.ticks_diff
sleep_ms = time.sleep_ms


def idle(ms, stream=None):
    """The scheduler's idle: wait for `stream` (poll) or just sleep."""
    if stream is not None:
        stream.wait_readable(ms)
    elif ms > 0:
        time.sleep_ms(ms)


class Watchdog(object):
    def __init__(self, timeout_ms):
        try:
            from machine import WDT
            self._wdt = WDT(timeout=timeout_ms)
        except (ImportError, AttributeError):
            self._wdt = None  # the unix port has no watchdog
        self.fed = 0

    def feed(self):
        self.fed += 1
        if self._wdt is not None:
            self._wdt.feed()


class Stream(object):
    """A machine.UART, or (unix port) a tty opened as a file, with poll-based readiness."""

    def __init__(self, obj, tty):
        self._o = obj
        self._tty = tty
        self._one = bytearray(1)
        self._poll = select.poll()
        self._poll.register(obj, select.POLLIN)

    def write(self, buf, n=None, off=0):
        # a tty is unbuffered FileIO: no flush (fsync on a tty fails with EINVAL)
        if not off and (n is None or n == len(buf)):
            return self._o.write(buf) or 0
        # MicroPython's stream write(buf, off, max_len) (py/stream.c; machine.UART and a tty
        # file both take it): a part of a ring without the 32 bytes of a memoryview slice
        return self._o.write(buf, off, len(buf) - off if n is None else n) or 0

    def readinto(self, buf):
        if not self._tty:
            return self._o.readinto(buf) or 0 if self._o.any() else 0
        # MicroPython's file readinto() blocks until the whole buffer is filled, and a tty
        # cannot say how much is waiting: read the bytes poll() vouches for, one at a time.
        n = 0
        one = self._one
        while n < len(buf) and self.any():
            if not self._o.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        return n

    def any(self):
        if not self._tty:
            return self._o.any()
        for _ in self._poll.ipoll(0):     # ipoll reuses its result tuple: no allocation
            return 1
        return 0

    def wait_readable(self, ms):
        for _ in self._poll.ipoll(ms):
            return True
        return False

    def close(self):
        if self._tty:
            self._o.close()


def open_serial(port, baudrate=115200, tx=None, rx=None):
    """A UART id (int) on a board, or a device path on the unix port."""
    if isinstance(port, int):
        from machine import UART, Pin
        if tx is None:
            u = UART(port, baudrate=baudrate, timeout=0)
        else:
            u = UART(port, baudrate=baudrate, tx=Pin(tx), rx=Pin(rx), timeout=0)
        return Stream(u, False)
    return Stream(open(port, 'r+b'), True)


def pin_write(pin, value):
    from machine import Pin
    Pin(pin, Pin.OUT).value(value)


def load_json(f):
    import json
    return json.load(f)


def data_path(name):
    return name
