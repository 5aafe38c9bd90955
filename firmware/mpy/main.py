"""modemkit main.py for MicroPython: start the app of the enabled slot.

`modemkit bundle` writes it from firmware/mpy/main.py; only the settings block differs.  The
device holds two slots, a/ and b/, each with its own compiled modemkit and app; this file names
the enabled one.  `modemkit deploy` fills the other slot, checks every file by SHA-256, and only
then replaces this file (write to main.new, rename), so a failed deploy leaves the previous app
enabled.  On the unix port (no soft reset) `modemkit deploy --start exec` imports it.
"""
import sys

# -- settings (written by modemkit bundle) --
SLOT = 'a'
VERSION = '0'
ENTRY = 'appmain'
CONFIG = 'a/board.json'
CRASH_DELAY_S = 10
# -- end of settings --

CRASH = SLOT + '/crash.txt'


def _record(exc):
    try:
        with open(CRASH, 'w') as f:
            f.write('%s %s\n' % (VERSION, repr(exc)))
            sys.print_exception(exc, f)
    except OSError:
        pass


def run():
    if SLOT not in sys.path:
        sys.path.insert(0, SLOT)
    print('modemkit: slot %s, version %s' % (SLOT, VERSION))
    try:
        app = __import__(ENTRY)
        app.main(CONFIG)
    except Exception as e:
        sys.print_exception(e)
        _record(e)
        try:
            import machine
            import time
        except ImportError:
            raise e                 # the unix port has no reset to retry with
        time.sleep(CRASH_DELAY_S)
        machine.reset()


run()
