"""modemkit main.py for MicroPython: start the app of the enabled slot.

`modemkit bundle` writes it from firmware/mpy/main.py; only the settings block differs.  The
device holds two slots, a/ and b/, each with its own compiled modemkit and app; this file names
the enabled one.  `modemkit deploy` fills the other slot, checks every file by SHA-256, and only
then replaces this file (write to main.new, rename), so a failed deploy leaves the previous app
enabled.  On the unix port (no soft reset) `modemkit deploy --start exec` imports it.

Over the air (modemkit.ota) the app does the same from the device: it fills the other slot,
verifies it, keeps this file as main.old, writes the trial marker ota_pend.txt and rewrites
this file's settings.  The first boot of the new slot renames the marker to ota_try.txt and,
where the port has a machine.Timer, resets the board if the app has not called ota.confirm()
(which deletes it) within the marker's deadline.  A boot that still finds ota_try.txt puts
main.old back and starts the previous slot: a crash, a hang, a reset or an app that ends
without confirming all lead back to the version that ran before.
"""
import os
import sys

# -- settings (written by modemkit bundle) --
SLOT = 'a'
VERSION = '0'
ENTRY = 'appmain'
CONFIG = 'a/board.json'
CRASH_DELAY_S = 10
# -- end of settings --

PEND = 'ota_pend.txt'
TRY = 'ota_try.txt'
OLD = 'main.old'
FAIL = 'ota_fail.txt'
_timer = None


def _record(exc):
    try:
        with open(SLOT + '/crash.txt', 'w') as f:
            f.write('%s %s\n' % (VERSION, repr(exc)))
            sys.print_exception(exc, f)
    except OSError:
        pass


def _words(name):
    try:
        with open(name) as f:
            return f.read().split()
    except OSError:
        return None


def _settings(path):
    got = {}
    with open(path) as f:
        for line in f:
            k = line.split(' = ', 1)
            if len(k) == 2 and k[0] in ('SLOT', 'VERSION', 'ENTRY', 'CONFIG'):
                got[k[0]] = k[1].strip().strip('\'"')
    return got


def _slot():
    """Settle the slot to start; the seconds a trial has to confirm (0: not a trial)."""
    global SLOT, VERSION, ENTRY, CONFIG
    tried = _words(TRY)
    if tried is not None:
        if tried and tried[0] == SLOT:
            # the last boot started this slot on trial and it never confirmed: go back
            try:
                prev = _settings(OLD)
                os.rename(OLD, 'main.py')
            except OSError:
                prev = None          # nothing to go back to: keep this slot
            if prev is not None and 'SLOT' not in prev:
                prev = None
            with open(FAIL, 'w') as f:
                f.write('%s %s\n' % (VERSION, prev['SLOT'] if prev else SLOT))
            print('modemkit: version %s never confirmed itself%s' % (
                VERSION, ', back to slot %s' % prev['SLOT'] if prev else ''))
            if prev:
                SLOT, VERSION = prev['SLOT'], prev.get('VERSION', '?')
                ENTRY = prev.get('ENTRY', ENTRY)
                CONFIG = prev.get('CONFIG', SLOT + '/board.json')
        os.remove(TRY)
    pend = _words(PEND)
    if pend is not None:
        if pend and pend[0] == SLOT:
            os.rename(PEND, TRY)
            print('modemkit: version %s on trial' % VERSION)
            return int(pend[1]) if len(pend) > 1 else 0
        os.remove(PEND)             # the switch was cut before main.py changed
    return 0


def _arm(seconds):
    """Reset the board after `seconds` unless ota.confirm() deleted the trial marker."""
    global _timer
    try:
        from machine import Timer, reset
    except ImportError:
        return                      # the unix port: the trial ends with the process

    def expire(t):
        if _words(TRY) is not None:
            reset()

    for tid in (-1, 0):             # a virtual timer (rp2, esp8266), else hardware 0 (esp32)
        try:
            _timer = Timer(tid)
            _timer.init(mode=Timer.ONE_SHOT, period=seconds * 1000, callback=expire)
            return
        except Exception:
            _timer = None


def run():
    trial_s = _slot()
    if trial_s:
        _arm(trial_s)
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
            from machine import reset
            import time
        except ImportError:
            raise e                 # the unix port has no reset to retry with
        time.sleep(CRASH_DELAY_S)
        reset()


run()
