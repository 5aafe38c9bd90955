"""Telit Easy Script's runtime for the emulator: the built-in modules a script imports (`MDM`,
`MDM2`, `MOD`, `GPIO`, `SER`, `SER2`) and the flat file system it sees.  It runs under Python 2.7
(what the module runs; the emulator uses it when one is installed) and under CPython 3.

The emulator (`mktools.sim.telit.scripts`, config `run_scripts`) starts this file as a child
process for the script AT#ESCRIPT enabled, after each start-up (T-RUN s3.9 step 3):

    python mdmshim.py --dir DIR --script NAME --mdm-fd N --ctl-fd M [--adc CH=MV ...] [-- ARG ...]

DIR mirrors the module's script store; the script runs there as `__main__` with DIR alone on
`sys.path`, as on the module.  `MDM` is bound to the socket `--mdm-fd`, which the emulator joins
to an AT instance of its own: what the script sends is parsed there exactly like commands on
the serial port.  `--ctl-fd` carries the watchdog (MOD.watchdogEnable/Reset/Disable) to the
emulator, which reboots the module when it expires; the emulator closing it ends this process
(the module lost power).  `print` and tracebacks go to stdout/stderr, which the emulator keeps.
With `--mdm-tcp HOST:PORT` instead, MDM is the serial line of an emulator started with
`modemkit sim --dialect telit --tcp HOST:PORT`: the script drives the module as an on-module
script drives its own.  Without either there is no module to talk to (MDM raises on use), and
without `--ctl-fd` the watchdog goes nowhere: that is how `make test` runs the portable tests on
2.7 with `port_telit`.

Where this runtime differs from the module's, for CPython's sake:
- `time.clock()` counts seconds since the script started, as on the module (gone from CPython 3
  since 3.8; on CPython 2.7 under Linux it counts CPU time, which would stop port_telit's ticks
  while the script sleeps);
- on CPython 3 `str(bytearray(b'AT'))` is "bytearray(b'AT')" (on 2.7 it is 'AT'): `MDM.send`
  takes that repr (and bytes) back to the bytes it stands for, so port_telit runs unmodified;
- `open()` maps '/sys/<name>' to the flat directory and refuses to create a name longer than
  16 characters, as the module's file system does.
"""

import os
import sys

# Run as a file, this folder is sys.path[0], and it holds modules named like the standard
# library's (socket.py): Python 3 leaves it out under -I, Python 2.7 has no -I.
if sys.path and os.path.abspath(sys.path[0] or '.') == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse                     # noqa: E402 (after the path fix above)
import ast                          # noqa: E402
import errno                        # noqa: E402
import re                           # noqa: E402
import runpy                        # noqa: E402
import select                       # noqa: E402
import socket                       # noqa: E402
import threading                    # noqa: E402
import time                         # noqa: E402
import types                        # noqa: E402

try:
    import builtins
except ImportError:                 # Python 2.7
    import __builtin__ as builtins

PY2 = sys.version_info[0] == 2
_now = getattr(time, 'monotonic', time.time)
_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK)
NAME_MAX = 16
SYS_PREFIX = '/sys/'
_REPR = re.compile(r"^(?:bytearray\()?b(['\"]).*\1\)?$", re.S)


def to_bytes(data):
    """What MDM.send puts on the line for `data` (see the module docstring)."""
    if isinstance(data, memoryview):
        return data.tobytes()
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)          # on 2.7 a str is bytes already
    text = str(data)
    if _REPR.match(text):
        inner = text[len('bytearray('):-1] if text.startswith('bytearray(') else text
        try:
            return bytes(ast.literal_eval(inner))
        except (ValueError, SyntaxError):
            pass
    return text.encode('latin-1', 'replace')


def _blocked(e):
    return getattr(e, 'errno', None) in _AGAIN


class Port(object):
    """One AT instance of the module as Telit's MDM module presents it (timeouts in tenths
    of a second; text is a byte string, which on CPython 3 is a latin-1 str)."""

    def __init__(self, sock):
        self.sock = sock
        if sock is not None:
            self.sock.setblocking(False)

    def _gone(self):
        # the emulator closed the instance: the module went down with the script
        os._exit(0)

    def send(self, data, timeout=10):
        out = to_bytes(data)
        end = _now() + max(timeout, 0) / 10.0
        while out:
            try:
                out = out[self._sock().send(out):]
            except (OSError, socket.error) as e:
                if not _blocked(e):
                    self._gone()
                left = end - _now()
                if left <= 0:
                    return -1
                select.select([], [self.sock], [], left)
        return 1

    def _sock(self):
        if self.sock is None:
            raise RuntimeError('no emulated module: MDM needs --mdm-fd')
        return self.sock

    def read(self):
        chunks = []
        while True:
            try:
                data = self._sock().recv(4096)
            except (OSError, socket.error) as e:
                if _blocked(e):
                    break
                self._gone()
            if not data:
                if chunks:
                    break
                self._gone()
            chunks.append(data)
        data = b''.join(chunks)
        return data if PY2 else data.decode('latin-1')

    def receive(self, timeout=0):
        select.select([self._sock()], [], [], max(timeout, 0) / 10.0)
        return self.read()

    def sendbyte(self, byte, timeout=10):
        return self.send(bytearray([byte & 0xFF]), timeout)

    def receivebyte(self, timeout=0):
        select.select([self._sock()], [], [], max(timeout, 0) / 10.0)
        try:
            data = self.sock.recv(1)
        except (OSError, socket.error) as e:
            if _blocked(e):
                return -1
            self._gone()
        if not data:
            self._gone()
        return bytearray(data)[0]

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


class Mod(object):
    """MOD: seconds since start-up, sleeps in tenths, and the watchdog (sent to the emulator)."""

    def __init__(self, ctl):
        self.ctl = ctl
        self.t0 = _now()

    def _tell(self, text):
        if self.ctl is None:
            return                  # no emulator: the watchdog goes nowhere
        try:
            self.ctl.sendall(text.encode('ascii') + b'\n')
        except (OSError, socket.error):
            os._exit(0)

    def secCounter(self):
        return int(_now() - self.t0)

    def sleep(self, tenths):
        time.sleep(max(tenths, 0) / 10.0)

    def watchdogEnable(self, seconds):
        self._tell('wd %d' % int(seconds))

    def watchdogReset(self):
        self._tell('wdr')

    def watchdogDisable(self):
        self._tell('wd 0')

    def powerSaving(self, seconds):
        time.sleep(max(seconds, 0))

    def powerSavingExitCause(self):
        return 1


class Gpio(object):
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


class Ser(object):
    """SER/SER2: the module's serial ports as a script sees them; output goes to stdout."""

    def send(self, data, timeout=None):
        out = to_bytes(data)
        sys.stdout.write(out if PY2 else out.decode('latin-1'))
        sys.stdout.flush()
        return 1

    def sendbyte(self, byte, timeout=None):
        return self.send(bytearray([byte & 0xFF]))

    def read(self):
        return ''

    def receive(self, timeout=0):
        time.sleep(max(timeout, 0) / 10.0)
        return ''

    def receivebyte(self, timeout=0):
        return -1

    def set_speed(self, speed, char_format='8N1'):
        return 1


class _NoMdm2(object):
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
        except (OSError, socket.error):
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
    t0 = _now()
    time.clock = lambda: _now() - t0
    builtins.open = telit_open(builtins.open)


def _socket(fd):
    """The socket the emulator passed as file descriptor fd (None: not given)."""
    if fd is None:
        return None
    # fromfd's duplicate takes the lowest free descriptor: an emulator hosting a fleet hands over
    # descriptors above 1023 (pass_fds keeps their numbers), which select() refuses
    sock = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)
    os.close(fd)
    return sock


def _adc(text):
    channel, _, mv = text.partition('=')
    return int(channel), int(mv)


def main(argv=None):
    p = argparse.ArgumentParser(description='Run one Telit Easy Script script under CPython '
                                            '(started by the modemkit emulator).')
    p.add_argument('--dir', required=True, help='the flat script directory')
    p.add_argument('--script', required=True, help='the script to run, in --dir')
    p.add_argument('--mdm-fd', type=int, help='socket of the MDM AT instance')
    p.add_argument('--mdm-tcp', metavar='HOST:PORT',
                   help="instead: MDM is the serial line of `modemkit sim --tcp HOST:PORT`")
    p.add_argument('--ctl-fd', type=int, help='control socket (watchdog, power)')
    p.add_argument('--adc', type=_adc, action='append', default=[], metavar='CH=MV',
                   help='GPIO.getADC(CH) answers MV millivolts (repeatable)')
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = []
    if '--' in argv:                # what follows is the script's own sys.argv[1:]
        rest = argv[argv.index('--') + 1:]
        argv = argv[:argv.index('--')]
    args = p.parse_args(argv)
    mdm = _socket(args.mdm_fd)
    if args.mdm_tcp:
        host, _, port = args.mdm_tcp.rpartition(':')
        mdm = socket.create_connection((host, int(port)), 10)
    ctl = _socket(args.ctl_fd)
    if ctl is not None:
        watch = threading.Thread(target=_watch_ctl, args=(ctl,))
        watch.daemon = True
        watch.start()
    os.chdir(args.dir)
    # the flat directory and the standard library: nothing installed on the host
    sys.path[:] = [''] + [p for p in sys.path if p and 'site-packages' not in p
                                   and 'dist-packages' not in p]
    install(mdm, ctl, dict(args.adc))
    sys.argv = [args.script] + rest
    try:
        runpy.run_path(args.script, run_name='__main__')
    except SystemExit:
        raise
    except BaseException as e:
        # the script stops; the module goes on without it (nothing restarts a Telit script)
        import traceback
        here = os.path.splitext(os.path.abspath(__file__))[0]
        frames = [f for f in traceback.extract_tb(sys.exc_info()[2])
                  if os.path.splitext(os.path.abspath(f[0]))[0] != here and 'runpy' not in f[0]]
        sys.stderr.write('Traceback (most recent call last):\n'
                         + ''.join(traceback.format_list(frames))
                         + ''.join(traceback.format_exception_only(type(e), e)))
        sys.stderr.flush()
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
