"""Port for MicroPython: machine.UART on a board, a POSIX tty on the unix port."""
import time
import select

from micropython import const

PLATFORM = 'micropython'
ticks_ms = time.ticks_ms
ticks_add = time.ticks_add
ticks_diff = time.ticks_diff
sleep_ms = time.sleep_ms


class Clock(object):
    """Real time; idles in poll() on the stream a task waits for, otherwise sleeps."""

    def ticks_ms(self):
        return time.ticks_ms()

    def idle(self, ms, stream=None):
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


def _part(buf, n, off):
    # A UART has no (offset, length) write: only a partial write costs a memoryview.
    if off or (n is not None and n != len(buf)):
        return memoryview(buf)[off:off + (len(buf) - off if n is None else n)]
    return buf


class _Stream(object):
    """Common poll-based readiness for a UART or a tty file."""

    def _setup_poll(self, obj):
        self._poll = select.poll()
        self._poll.register(obj, select.POLLIN)

    def wait_readable(self, ms):
        # ipoll reuses its result tuple: no heap allocation while idling.
        for _ in self._poll.ipoll(ms):
            return True
        return False

    def any(self):
        for _ in self._poll.ipoll(0):
            return 1
        return 0


class Uart(_Stream):
    """machine.UART with modemkit's stream interface."""

    def __init__(self, uart):
        self._u = uart
        self._setup_poll(uart)

    def write(self, buf, n=None, off=0):
        return self._u.write(_part(buf, n, off)) or 0

    def readinto(self, buf):
        if not self._u.any():
            return 0
        return self._u.readinto(buf) or 0

    def any(self):
        return self._u.any()


class TtyFile(_Stream):
    """A POSIX serial device or pty (unix port), opened as a file; the far side keeps it raw."""

    def __init__(self, path):
        self._f = open(path, 'r+b')
        self._one = bytearray(1)
        self._setup_poll(self._f)

    def write(self, buf, n=None, off=0):
        # unbuffered FileIO: no flush (fsync on a tty fails with EINVAL)
        return self._f.write(_part(buf, n, off)) or 0

    def readinto(self, buf):
        # MicroPython's file readinto() blocks until the whole buffer is filled, and a tty
        # cannot say how much is waiting: read the bytes poll() vouches for, one at a time.
        n = 0
        one = self._one
        f = self._f
        while n < len(buf) and self.any():
            if not f.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        return n

    def close(self):
        self._f.close()


def open_serial(port, baudrate=115200, tx=None, rx=None):
    """A UART id (int) on a board, or a device path on the unix port."""
    if isinstance(port, int):
        from machine import UART
        if tx is None:
            u = UART(port, baudrate=baudrate, timeout=0)
        else:
            from machine import Pin
            u = UART(port, baudrate=baudrate, tx=Pin(tx), rx=Pin(rx), timeout=0)
        return Uart(u)
    return TtyFile(port)


def pin_write(pin, value):
    from machine import Pin
    Pin(pin, Pin.OUT).value(value)


def data_path(name):
    return name
