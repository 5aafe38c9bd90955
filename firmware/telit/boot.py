"""modemkit boot script for Telit Easy Script Python 2.7: the script AT#ESCRIPT enables.

It starts the app of its slot, counts the starts that never became healthy, and after MAX_TRIES
of them hands the module back to the script that was enabled before (AT#ESCRIPT, then
AT#REBOOT: the upgrade steps of T-RUN s3.9 run in reverse).  `modemkit bundle` writes one per
slot from firmware/telit/boot.py; only the settings block differs.  It imports nothing from the
app or from modemkit, so a broken app cannot take the fallback down with it.

Files it keeps (the flat script file system, names of at most 16 characters):
  <slot>_boots.txt   "<starts since the last healthy one> <all starts>"
  <slot>_state.txt   "<booting|alive|crashed|fallback|ended> <version> <start number>"
  <slot>_crash.txt   the last crash: the exception and the innermost frames
  mkfailed.txt       the slot last abandoned, never fallen back into
A start is healthy once the app has run HEALTHY_S seconds and is still talking to the module
(it called MDM since).  Then the counter goes back to 0 and the state says alive: that is what
`modemkit upgrade` reads back over TCPATRUN (AT#RSCRIPT) to confirm a new version.
"""
import sys

import MDM
import MOD

# -- settings (written by modemkit bundle) --
SLOT = 'a'
VERSION = '0'
ENTRY = 'a_main'
CONFIG = 'a_cfg.json'
PREV_SCRIPT = ''
PREV_SLOT = ''
MAX_TRIES = 3
HEALTHY_S = 120
CRASH_DELAY_S = 10
# -- end of settings --

BOOTS = SLOT + '_boots.txt'
STATE = SLOT + '_state.txt'
CRASH = SLOT + '_crash.txt'
FAILED = 'mkfailed.txt'
CRASH_MAX = 1024
FRAMES = 8


def _read(name):
    try:
        f = open(name, 'r')
        try:
            return f.read()
        finally:
            f.close()
    except (IOError, OSError):
        return ''


def _write(name, text):
    try:
        f = open(name, 'w')
        try:
            f.write(text)
        finally:
            f.close()
    except (IOError, OSError):
        pass


def _counts():
    parts = _read(BOOTS).split()
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 0, 0


def _state(state, start):
    _write(STATE, '%s %s %d\n' % (state, VERSION, start))


def _at(cmd, timeout_s):
    """One command on MDM, True on OK.  Only while the app does not own MDM (before it starts,
    after it crashed); what the command leaves unread the app's AT channel drops as noise."""
    MDM.send(cmd + '\r', 10)
    got = ''
    end = MOD.secCounter() + timeout_s
    while MOD.secCounter() <= end:
        got = got + MDM.receive(5)
        if got.find('\r\nOK\r\n') >= 0 or got.find('\nOK\r') >= 0:
            return True
        if got.find('ERROR') >= 0:
            return False
    return False


def _crash_text():
    kind, value, tb = sys.exc_info()
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append('  %s:%d in %s' % (code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    name = getattr(kind, '__name__', str(kind))
    return ('%s: %s\n%s\n' % (name, value, '\n'.join(frames[-FRAMES:])))[:CRASH_MAX]


class _Watched(object):
    """MDM as the app sees it: each call shows the app is still talking to the module."""

    def __init__(self, start):
        self.start = start
        self.t0 = MOD.secCounter()
        self.healthy = 0

    def _seen(self):
        if not self.healthy and MOD.secCounter() - self.t0 >= HEALTHY_S:
            self.healthy = 1
            _write(BOOTS, '0 %d\n' % self.start)
            _state('alive', self.start)

    def send(self, data, timeout):
        self._seen()
        return MDM.send(data, timeout)

    def receive(self, timeout):
        self._seen()
        return MDM.receive(timeout)

    def read(self):
        self._seen()
        return MDM.read()

    def sendbyte(self, byte, timeout):
        self._seen()
        return MDM.sendbyte(byte, timeout)

    def receivebyte(self, timeout):
        self._seen()
        return MDM.receivebyte(timeout)

    def __getattr__(self, name):
        return getattr(MDM, name)


def _fall_back(start):
    """Enable the previous script and reboot into it; False when the module refused."""
    if PREV_SLOT:
        # its state file still says alive from before: only its next healthy start may
        _at('AT#DSCRIPT="%s_state.txt"' % PREV_SLOT, 5)
    if not _at('AT#ESCRIPT="%s"' % PREV_SCRIPT, 5):
        return False
    _write(FAILED, SLOT)
    _state('fallback', start)
    _at('AT#REBOOT', 5)
    while 1:
        MOD.sleep(100)


def main():
    bad, start = _counts()
    bad = bad + 1
    start = start + 1
    _write(BOOTS, '%d %d\n' % (bad, start))
    if bad > MAX_TRIES and PREV_SCRIPT and not (PREV_SLOT and _read(FAILED).strip() == PREV_SLOT):
        _fall_back(start)
    _state('booting', start)
    sys.modules['MDM'] = _Watched(start)
    try:
        app = __import__(ENTRY)
        app.main(CONFIG)
    except Exception:
        _write(CRASH, _crash_text())
        _state('crashed', start)
        sys.modules['MDM'] = MDM
        # a pause before the reboot leaves TCPATRUN a window to repair a crash loop remotely
        MOD.sleep(int(CRASH_DELAY_S * 10))
        _at('AT#REBOOT', 5)
        return
    # the app ended by itself: its own decision, not a crash
    _write(BOOTS, '0 %d\n' % start)
    _state('ended', start)


main()
