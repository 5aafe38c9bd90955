"""`modemkit deploy`: put an app on a device.

- MicroPython board (or the unix port behind a pty or a socket): through mpremote.  The bundle
  goes into the slot directory main.py does not name (a/ or b/), every file is checked by
  SHA-256 on the device (`mpremote fs sha256sum`), and only then main.py is replaced (written as
  main.new, renamed), so a failed deploy leaves the previous app as it was.
- Telit module, over its serial port: AT#WSCRIPT into the slot AT#ESCRIPT does not name, with
  the exact byte count, the >>> prompt and paced chunks; #LSCRIPT checks the space first,
  #RSCRIPT reads every file back after; then AT#ESCRIPT, and with --reboot AT#REBOOT (T-RUN
  §3.9 steps 1-3), optionally waiting until the new version says it is alive.

A failure names the file and the reason, and the previously enabled app stays enabled.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from mktools import BAD_INPUT, FAILED
from mktools.device import boardcfg
from mktools.device.bundle import (BundleError, add_build_options, build, check_target,
                                   options_from, target_for)
from mktools.device.bundle_graph import SLOTS
from mktools.device.bundle_mpy import MIN_MICROPYTHON, MPY_VERSION
from mktools.device.upgrade_flow import SerialSession, Upgrade
from mktools.device.wscript import DeployError

START_MODES = ('none', 'exec', 'soft-reset', 'reset')
MIN_VERSION_TEXT = '.'.join(map(str, MIN_MICROPYTHON))


class Progress:
    """Transfer progress on stderr: one line per file, redrawn in place on a terminal."""

    def __init__(self, stream=None, prefix=''):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.prefix = prefix
        self.current = None
        self.t0 = time.monotonic()

    def __call__(self, name, done, size):
        if name != self.current or done == 0:
            self.current, self.t0 = name, time.monotonic()
        if size and (done == 0 or (done < size and not self.tty)):
            return      # a terminal redraws the line; a log gets one line per file
        rate = done / max(time.monotonic() - self.t0, 1e-3) / 1024
        pct = 100 * done // size if size else 100
        text = f'{self.prefix}{name:<20} {done:>8}/{size:<8} B {pct:3d}% {rate:8.1f} KiB/s'
        self.stream.write(('\r' + text + ('\n' if done >= size else '')) if self.tty
                          else text + '\n')
        self.stream.flush()


def say(text):
    print(f'modemkit deploy: {text}', file=sys.stderr, flush=True)


# -- MicroPython through mpremote ---------------------------------------------------------------

class MpRemote:
    """mpremote commands against one device (a serial port, a pty, or socket://host:port)."""

    def __init__(self, device, timeout=120.0):
        self.device = device
        self.timeout = timeout
        self.cmd = [sys.executable, '-m', 'mpremote']
        if importlib.util.find_spec('mpremote') is None:
            found = shutil.which('mpremote')
            if not found:
                raise DeployError('mpremote is not installed (pip install mpremote)') from None
            self.cmd = [found]

    def run(self, *steps, what='mpremote', on_line=None):
        """One mpremote run: connect, resume (keep the running REPL), then `steps` chained
        with '+'.  Returns stdout; DeployError carries the command mpremote was doing."""
        argv = self.cmd + ['connect', self.device, 'resume']
        for i, step in enumerate(steps):
            argv += (['+'] if i else []) + list(step)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors='replace')
        expired = threading.Event()

        def expire():
            expired.set()
            proc.kill()

        timer = threading.Timer(self.timeout, expire)
        timer.start()
        lines, last = [], ''
        try:
            for line in proc.stdout:
                line = line.rstrip('\n')
                lines.append(line)
                if line.startswith('cp '):
                    last = line
                if on_line:
                    on_line(line)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
        file = last.split()[-1].lstrip(':') if last else None
        if expired.is_set():
            raise DeployError(f'{what}: mpremote did not finish in {self.timeout:g} s', file)
        out = '\n'.join(lines)
        if code:
            raise DeployError(f'{what}: {mpremote_error(lines, self.device)}', file)
        return out

    def exec(self, code, what):
        return self.run(['exec', code], what=what)


def mpremote_error(lines, device):
    """One line for a failed mpremote run: its own 'mpremote: ...' message, else the last line of
    its traceback without the exception's module path."""
    text = [ln.strip() for ln in lines if ln.strip()]
    error = next((ln for ln in reversed(text) if ln.startswith('mpremote:')),
                 text[-1] if text else 'failed without a message')
    error = re.sub(r'^[\w.]+(Error|Exception): ', '', error)
    if 'raw repl' in error:
        error += (f' ({device} did not answer as a MicroPython REPL: is it the board\'s port, '
                  f'is MicroPython >= {MIN_VERSION_TEXT} on it, does nothing else use the port?)')
    return error


_SLOT_PROBE = '''
s = ''
try:
    for line in open('main.py'):
        if line.startswith('SLOT = '):
            s = line.split("'")[1]
except OSError:
    pass
print('MKSLOT=' + s)
import sys
print('MKMPY=%d' % (getattr(sys.implementation, '_mpy', 0) & 0xff))
print('MKVER=%d.%d.%d' % tuple(sys.implementation.version[:3]))
'''

_REMOVE = '''
import os
def _rm(p):
    for e in list(os.ilistdir(p)):
        q = p + '/' + e[0]
        if e[1] == 0x4000:
            _rm(q)
            os.rmdir(q)
        else:
            os.remove(q)
try:
    _rm(%r)
    os.rmdir(%r)
except OSError:
    pass
'''


def check_version(probe, port):
    """Refuse a device whose MicroPython (the probe's MKVER line) cannot load the bundle."""
    m = re.search(r'MKVER=(\d+)\.(\d+)\.(\d+)', probe)
    if m and tuple(map(int, m.groups()))[:2] < MIN_MICROPYTHON:
        raise DeployError(f'{port} runs MicroPython {".".join(m.groups())}; bundles are '
                          f'.mpy {MPY_VERSION}, which needs MicroPython >= {MIN_VERSION_TEXT}: '
                          'update its firmware')


def deploy_micropython(args):
    mp = MpRemote(args.port, args.timeout)
    probe = mp.exec(_SLOT_PROBE, 'reading main.py')
    m = re.search(r'MKSLOT=([a-z]?)', probe)
    current = m.group(1) if m else ''
    check_version(probe, args.port)
    slot = args.slot or next(s for s in SLOTS if s != current)
    if slot == current:
        raise DeployError(f'slot {slot} is the enabled one; deploy into the other slot')
    bundle = build(options_from(args, slot=slot))
    m = re.search(r'MKMPY=(\d+)', probe)
    wanted = int(m.group(1)) if m else 0
    made = next(f.data[1] for f in bundle.files if f.name.endswith('.mpy'))
    if wanted and made != wanted:
        # a bytecode .mpy loads only on the same major .mpy version (byte 1 of its header)
        raise DeployError(f'the device loads .mpy version {wanted}, this mpy-cross makes '
                          f'version {made}: install the mpy-cross matching its firmware')
    say(f'{bundle.app} {bundle.version} -> {args.port}, slot {slot} '
        f'(enabled now: {current or "none"}), {len(bundle.files)} files, {bundle.total} bytes')
    app = [f for f in bundle.files if f.role != 'switch']
    switch = [f for f in bundle.files if f.role == 'switch']
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        for f in bundle.files:
            (stage / f.name).parent.mkdir(parents=True, exist_ok=True)
            (stage / f.name).write_bytes(f.data)
        args.writing = True
        mp.exec(_REMOVE % (slot, slot), f'removing the old slot {slot}/')
        dirs = sorted({str(Path(f.name).parent) for f in app} - {'.'}, key=len)
        steps = [['exec', 'import os\n' + ''.join(
            f"try:\n os.mkdir('{d}')\nexcept OSError:\n pass\n" for d in dirs)]]
        steps += [['fs', 'cp', '-f', str(stage / f.name), ':' + f.name] for f in app]
        done = {'n': 0}

        def copied(line):
            if line.startswith('cp '):
                done['n'] += 1
                f = app[done['n'] - 1]
                print(f'  [{done["n"]:>2}/{len(app)}] {f.name:<28} {f.size:>8} B',
                      file=sys.stderr, flush=True)

        mp.run(*steps, what='copying', on_line=copied)
        out = mp.run(['fs', 'sha256sum'] + [':' + f.name for f in app], what='verifying')
        sums = dict(re.findall(r'sha256sum :(\S+)\n([0-9a-f]{64})', out))
        for f in app:
            if sums.get(f.name) != f.sha256:
                raise DeployError(f'read back differs: sha256 {sums.get(f.name, "missing")} '
                                  f'!= {f.sha256}; main.py still starts slot '
                                  f'{current or "(none)"}', f.name)
        say(f'verified {len(app)} files by SHA-256; switching main.py to slot {slot}')
        steps = []
        for f in switch:
            steps += [['fs', 'cp', '-f', str(stage / f.name), f':{f.name}.new']]
        # the rename is the switch: main.py is either the old or the new one, never half
        steps.append(['exec', 'import os\n' + ''.join(
            f"os.rename('{f.name}.new', '{f.name}')\n" for f in switch)])
        mp.run(*steps, what='switching main.py')
    if args.start == 'exec':
        mp.run(['exec', '--no-follow', 'import main'], what='starting main.py')
    elif args.start in ('soft-reset', 'reset'):
        mp.run([args.start], what=args.start)
    say(f'done: slot {slot} enabled ({bundle.version})' +
        (f', started ({args.start})' if args.start != 'none' else ''))
    return 0


# -- Telit over the serial port -----------------------------------------------------------------

def deploy_telit(args):
    def make_bundle(slot, previous):
        bundle = build(options_from(args, slot=slot, previous=previous))
        say(f'{bundle.app} {bundle.version}: {len(bundle.files)} files, {bundle.total} bytes')
        return bundle

    session = SerialSession(args.port, args.baud, args.chunk, args.chunk_delay_ms / 1000,
                            args.rtscts)
    up = Upgrade(args.port, session, make_bundle, reboot=args.reboot,
                 confirm=bool(args.wait_alive), confirm_s=args.wait_alive or 0,
                 rollback_s=max(args.wait_alive or 0, 60), poll_s=0.5, slot=args.slot,
                 note=lambda name, text: say(text), progress=Progress())
    r = up.run()
    if r.outcome in ('upgraded', 'installed'):
        say(f'done: {r.enabled} enabled ({r.to_version})')
        return 0
    say(f'FAILED ({r.outcome}): {r.reason}' + (f'\n  last crash: {r.crash}' if r.crash else ''))
    if r.outcome == 'unchanged':
        say('the previously enabled script is still enabled')
    return FAILED


def register(commands):
    """Add `modemkit deploy` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'deploy', help='deploy an app: mpremote (MicroPython) or #WSCRIPT (Telit)',
        description='Deploy an app to a MicroPython board through mpremote, or to a Telit '
                    'module over its serial port with AT#WSCRIPT (verified by #RSCRIPT). '
                    'The new files go into the slot that is not enabled; the switch comes '
                    'last, so a failure leaves the previous app enabled.')
    add_build_options(p)
    p.add_argument('--port', required=True, metavar='DEVICE',
                   help='serial device, pty path, or socket://127.0.0.1:PORT')
    p.add_argument('--timeout', type=float, default=300.0, metavar='S',
                   help='MicroPython: limit for each mpremote run (default 300)')
    p.add_argument('--start', choices=START_MODES, default='soft-reset',
                   help='MicroPython: how to start the new app: soft-reset (boards, default), '
                        'reset, exec (import main.py now: the unix port), none')
    p.add_argument('--baud', type=int, default=115200, metavar='N',
                   help='Telit: serial line rate (default 115200)')
    p.add_argument('--rtscts', action='store_true', help='Telit: hardware flow control')
    p.add_argument('--chunk', type=int, default=256, metavar='BYTES',
                   help='Telit: #WSCRIPT data is written in chunks of this size (default 256)')
    p.add_argument('--chunk-delay-ms', type=float, default=5.0, metavar='MS',
                   help='Telit: pause between chunks, for a module without flow control '
                        '(default 5)')
    p.add_argument('--reboot', action='store_true',
                   help='Telit: AT#REBOOT after enabling, so the new script starts')
    p.add_argument('--wait-alive', type=float, metavar='S',
                   help='Telit, with --reboot: wait up to S seconds for the new version to say '
                        'it is alive; if it does not, enable the previous script again')
    p.set_defaults(run=run, parser=p)
    return p


def run(args, env=None):
    """`modemkit deploy` with parsed `args`; returns the exit status."""
    try:
        board = boardcfg.load(args.board)
        target = args.target or target_for(board)
        check_target(args.board, board, target,
                     '#WSCRIPT' if target == 'telit' else 'mpremote')
        if target == 'telit':
            return deploy_telit(args)
        return deploy_micropython(args)
    except (BundleError, DeployError) as e:
        say(f'FAILED: {e}')
        # nothing written yet: the board, the port or the app was unusable
        return FAILED if getattr(args, 'writing', False) else BAD_INPUT


def main(argv=None, env=None):
    """`modemkit deploy ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['deploy'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
