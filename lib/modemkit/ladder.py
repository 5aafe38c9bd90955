"""The recovery ladder: consecutive failures climb from the mildest remedy to the strongest,

    reconnect -> re-attach (PDP context) -> module reset (AT+CFUN=1,1) -> power cycle (power key)

and the count of failures is kept in a small file, so that an MCU that restarts in the middle
(a watchdog, a brown-out) goes on from the rung it had reached instead of starting again from
the bottom. A success (a connection opened through the module) puts it back at the bottom.

`steps` = how many failures each of the first three rungs takes, e.g. (2, 2, 2): failures 1-2
reconnect, 3-4 re-attach, 5-6 reset the module, 7 and later power-cycle it. The file holds one
line, '<failures>', replaced with write-then-rename so that a power cut leaves the old or the
new count; a missing or unreadable file counts as 0. The file is written only when the count
changes: a device that stays healthy never writes it.
"""
import os

RECONNECT = 0
REATTACH = 1
RESET = 2
POWER = 3
COUNT_MAX = 1000000        # the count stops here (a file that says more is corrupt)


class Ladder(object):
    def __init__(self, path, steps=(2, 2, 2)):
        self.path = path
        self.steps = steps
        self.failures = 0
        self.failed_at = 2         # modem.SYNC: the lifecycle state whose step failed last
        try:
            f = open(path)
            try:
                n = int(f.read().strip())
            finally:
                f.close()
            if 0 <= n <= COUNT_MAX:
                self.failures = n
        except Exception:
            # no file yet, or an unreadable one (2.7 raises IOError, which MicroPython does not
            # even name): the bottom rung
            pass

    def rung(self, failures=None):
        """The rung that failure number `failures` (default: the last one) stands on."""
        n = self.failures if failures is None else failures
        top = 0
        for i in range(len(self.steps)):
            top += self.steps[i]
            if n <= top:
                return i
        return POWER

    def fail(self):
        """One more failure: counted on flash first (a restart right after keeps it); the
        rung to act on."""
        if self.failures < COUNT_MAX:
            self._save(self.failures + 1)
        return self.rung()

    def ok(self):
        """A success: back to the bottom (the file is written only if it was not there)."""
        if self.failures:
            self._save(0)

    def _save(self, n):
        tmp = self.path + '.t'
        f = open(tmp, 'w')
        try:
            f.write('%d\n' % n)
        finally:
            f.close()
        try:
            os.rename(tmp, self.path)
        except OSError:
            # Telit's file system (and old FAT ports) will not rename over a file
            os.remove(self.path)
            os.rename(tmp, self.path)
        self.failures = n
