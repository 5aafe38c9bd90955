"""Telit Easy Script's runtime under CPython, for the emulator: the built-in modules a script
imports (`MDM`, `MDM2`, `MOD`, `GPIO`, `SER`, `SER2`) and the flat file system it sees.

The emulator (`mktools.sim.telit.scripts`, config `run_scripts`) starts this file as a child
process for the script AT#ESCRIPT enabled, after each start-up (T-RUN §3.9 step 3):

    python -I mdmshim.py --dir DIR --script NAME --mdm-fd N --ctl-fd M [--adc CH=MV ...]

DIR mirrors the module's script store; the script runs there as `__main__` with DIR alone on
`sys.path`, as on the module.  `MDM` is bound to the socket `--mdm-fd`, which the emulator joins
to an AT instance of its own: what the script sends is parsed there exactly like commands on
the serial port.  `--ctl-fd` carries the watchdog (MOD.watchdogEnable/Reset/Disable) to the
emulator, which reboots the module when it expires; the emulator closing it ends this process
(the module lost power).  `print` and tracebacks go to stdout/stderr, which the emulator keeps.

Where CPython 3 differs from Telit's 2.7 in a way the portable subset cannot avoid:
- `time.clock()` (gone since 3.8; port_telit counts ticks with it) is provided again: seconds
  since the script started;
- on 2.7 `str(bytearray(b'AT'))` is 'AT', on 3.x it is "bytearray(b'AT')": `MDM.send` takes
  that repr (and bytes) back to the bytes it stands for, so port_telit runs unmodified;
- `open()` maps '/sys/<name>' to the flat directory and refuses to create a name longer than
  16 characters, as the module's file system does.
"""

import argparse
import ast
import builtins
import errno
import os
import re
import runpy
import select
import socket
import sys
import threading
import time
import types

NAME_MAX = 16
SYS_PREFIX = '/sys/'
_REPR = re.compile(r"^(?:bytearray\()?b(['\"]).*\1\)?$", re.S)


def to_bytes(data):
    """What MDM.send puts on the line for `data` (see the module docstring)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    text = str(data)
    if _REPR.match(text):
        inner = text[len('bytearray('):-1] if text.startswith('bytearray(') else text
        try:
            return bytes(ast.literal_eval(inner))
        except (ValueError, SyntaxError):
            pass
    return text.encode('latin-1', 'replace')


class Port:
    """One AT instance of the module as Telit's MDM module presents it (timeouts in tenths
    of a second; text is a byte string, which on CPython 3 is a latin-1 str)."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.setblocking(False)

    def _gone(self):
        # the emulator closed the instance: the module went down with the script
        os._exit(0)

    def send(self, data, timeout=10):
        out = to_bytes(data)
        end = time.monotonic() + max(timeout, 0) / 10.0
        while out:
            try:
                out = out[self.sock.send(out):]
            except BlockingIOError:
                left = end - time.monotonic()
                if left <= 0:
                    return -1
                select.select([], [self.sock], [], left)
            except OSError:
                self._gone()
        return 1

    def read(self):
        chunks = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                break
            except OSError:
                self._gone()
            if not data:
                if chunks:
                    break
                self._gone()
            chunks.append(data)
        return b''.join(chunks).decode('latin-1')

    def receive(self, timeout=0):
        select.select([self.sock], [], [], max(timeout, 0) / 10.0)
        return self.read()

    def sendbyte(self, byte, timeout=10):
        return self.send(bytes([byte & 0xFF]), timeout)

    def receivebyte(self, timeout=0):
        select.select([self.sock], [], [], max(timeout, 0) / 10.0)
        try:
            data = self.sock.recv(1)
        except BlockingIOError:
            return -1
        except OSError:
            self._gone()
        if not data:
            self._gone()
        return data[0]

    # V.24 lines: the emulator's instance has none to report
    def getDCD(self):
        return 0

    def getCTS(self):
        return 1

    def getDSR(self):
        return 1

    def getRI(self):
        return 0

    def setRTS(self, value):
        return 1

    def setDTR(self, value):
        return 1


def _module(name, obj, names):
    mod = types.ModuleType(name)
    for attr in names:
        setattr(mod, attr, getattr(obj, attr))
    return mod


MDM_API = ('send', 'read', 'receive', 'sendbyte', 'receivebyte', 'getDCD', 'getCTS', 'getDSR',
           'getRI', 'setRTS', 'setDTR')


class Mod:
    """MOD: seconds since start-up, sleeps in tenths, and the watchdog (sent to the emulator)."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.t0 = time.monotonic()

    def _tell(self, text):
        try:
            self.ctl.sendall(text.encode() + b'\n')
        except OSError:
            os._exit(0)

    def secCounter(self):
        return int(time.monotonic() - self.t0)

    def sleep(self, tenths):
        time.sleep(max(tenths, 0) / 10.0)

    def watchdogEnable(self, seconds):
        self._tell(f'wd {int(seconds)}')

    def watchdogReset(self):
        self._tell('wdr')

    def watchdogDisable(self):
        self._tell('wd 0')

    def powerSaving(self, seconds):
        time.sleep(max(seconds, 0))

    def powerSavingExitCause(self):
        return 1


class Gpio:
    """GPIO: the ADC channels read configured millivolts; pins keep what was written."""

    def __init__(self, adc):
        self.adc = adc
        self.pins = {}

    def getADC(self, channel):
        return self.adc.get(channel, 0)

    def setIOvalue(self, pin, value):
        self.pins[pin] = value
        return 1

    def getIOvalue(self, pin):
        return self.pins.get(pin, 0)

    def setIOdir(self, pin, value, direction):
        self.pins[pin] = value
        return 1


class Ser:
    """SER/SER2: the module's serial ports as a script sees them; output goes to stdout."""

    def send(self, data, timeout=None):
        sys.stdout.write(to_bytes(data).decode('latin-1'))
        sys.stdout.flush()
        return 1

    def sendbyte(self, byte, timeout=None):
        return self.send(bytes([byte & 0xFF]))

    def read(self):
        return ''

    def receive(self, timeout=0):
        time.sleep(max(timeout, 0) / 10.0)
        return ''

    def receivebyte(self, timeout=0):
        return -1

    def set_speed(self, speed, char_format='8N1'):
        return 1


class _NoMdm2:
    def __getattr__(self, name):
        raise RuntimeError('MDM2 is not emulated: scripts talk AT on MDM')


def telit_open(real_open):
    def opener(file, mode='r', *args, **kw):
        if isinstance(file, str):
            if file.startswith(SYS_PREFIX):
                file = file[len(SYS_PREFIX):]
            if '/' not in file and len(file) > NAME_MAX and any(c in mode for c in 'wax+'):
                raise IOError(errno.ENAMETOOLONG, 'file names have at most 16 characters', file)
        return real_open(file, mode, *args, **kw)
    return opener


def _watch_ctl(ctl):
    """End the process when the emulator closes the control socket (power off)."""
    while True:
        try:
            if not ctl.recv(64):
                break
        except OSError:
            break
    os._exit(0)


def install(mdm_sock, ctl_sock, adc):
    """Put the Telit built-ins in sys.modules and adapt time.clock/open (module docstring)."""
    port = Port(mdm_sock)
    sys.modules['MDM'] = _module('MDM', port, MDM_API)
    sys.modules['MDM2'] = _NoMdm2()
    sys.modules['MOD'] = _module('MOD', Mod(ctl_sock), (
        'secCounter', 'sleep', 'watchdogEnable', 'watchdogReset', 'watchdogDisable',
        'powerSaving', 'powerSavingExitCause'))
    sys.modules['GPIO'] = _module('GPIO', Gpio(adc), (
        'getADC', 'setIOvalue', 'getIOvalue', 'setIOdir'))
    for name in ('SER', 'SER2'):
        sys.modules[name] = _module(name, Ser(), (
            'send', 'sendbyte', 'read', 'receive', 'receivebyte', 'set_speed'))
    t0 = time.monotonic()
    time.clock = lambda: time.monotonic() - t0
    builtins.open = telit_open(builtins.open)


def _adc(text):
    channel, _, mv = text.partition('=')
    return int(channel), int(mv)


def _low_fd(fd):
    """The same socket on the lowest free descriptor: an emulator hosting a fleet hands over
    descriptors above 1023 (pass_fds keeps their numbers), which select() refuses."""
    low = os.dup(fd)
    if low < fd:
        os.close(fd)
        return low
    os.close(low)
    return fd


def main(argv=None):
    p = argparse.ArgumentParser(description='Run one Telit Easy Script script under CPython '
                                            '(started by the modemkit emulator).')
    p.add_argument('--dir', required=True, help='the flat script directory')
    p.add_argument('--script', required=True, help='the script to run, in --dir')
    p.add_argument('--mdm-fd', type=int, required=True, help='socket of the MDM AT instance')
    p.add_argument('--ctl-fd', type=int, required=True, help='control socket (watchdog, power)')
    p.add_argument('--adc', type=_adc, action='append', default=[], metavar='CH=MV',
                   help='GPIO.getADC(CH) answers MV millivolts (repeatable)')
    args = p.parse_args(argv)
    mdm = socket.socket(fileno=_low_fd(args.mdm_fd))
    ctl = socket.socket(fileno=_low_fd(args.ctl_fd))
    threading.Thread(target=_watch_ctl, args=(ctl,), daemon=True).start()
    os.chdir(args.dir)
    # the flat directory and the standard library: nothing installed on the host
    sys.path[:] = [''] + [p for p in sys.path if p and 'site-packages' not in p
                                   and 'dist-packages' not in p]
    install(mdm, ctl, dict(args.adc))
    sys.argv = [args.script]
    try:
        runpy.run_path(args.script, run_name='__main__')
    except SystemExit:
        raise
    except BaseException as e:
        # the script stops; the module goes on without it (nothing restarts a Telit script)
        import traceback
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename != __file__ and 'runpy' not in f.filename]
        sys.stderr.write('Traceback (most recent call last):\n'
                         + ''.join(traceback.format_list(frames))
                         + ''.join(traceback.format_exception_only(type(e), e)))
        sys.stderr.flush()
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
