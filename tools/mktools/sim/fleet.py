"""`modemkit sim --fleet N`: N emulated modules of one dialect in one process, on one
single-threaded event loop, with their serial ports on N consecutive loopback TCP ports.

Each module is a whole emulated module (its own Net, Wire, modem state and, for Telit, script
store); they share only the loop and the process.  The loop waits with the selectors module's
default selector (epoll on Linux), so the number of file descriptors is bounded by
RLIMIT_NOFILE, not by select()'s 1024.

File descriptors, per module (see docs/fleet.md for the measured figures):
  always            1  the serial port's listener (one DTE client at a time, +1 while connected)
  Telit TCPATRUN    1  its listener once #TCPATRUNL=1 (T-RUN §3.2), +1 per session
  --run-scripts     3  while a script runs: its MDM and control socketpairs and its stdout pipe
                       (the script itself is a child process with its own descriptors)
  sockets           each socket the module's AT commands open (#SD, #SL, FTP, MQTT...) is one
Each module needs its own serial listener (a DTE picks a module by its port); TCPATRUN listeners
cannot be shared either, since the tool tells modules apart by their address, as it would in a
real network.  `check_fds()` raises the soft limit toward the worst case (every module with a
DTE, a session and a script at once), refuses to start when the hard limit cannot hold the
listeners, and warns when it cannot hold the worst case.
"""

import os
import random
import resource
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from mktools import CommandError
from mktools.sim.core.frontends import TcpFrontend
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net
from mktools.sim.core.wire import Wire

FLEET_MAX = 10_000
FD_SPARE = 64                   # the loop's selector, signal wake-up, logs, imports, spawns
FDS_BASE = 2                    # serial listener + its DTE client
FDS_ATRUN = 2                   # TCPATRUN listener + one session
FDS_SCRIPT = 3                  # a running script's MDM, control and output


def free_ports(count, low=10000, high=30000, tries=50):
    """A base port whose `count` consecutive ports on 127.0.0.1 are free now (`--fleet N --tcp`
    takes 2N: serial ports, then TCPATRUN listeners); CommandError when none turns up."""
    for _ in range(tries):
        base = random.randrange(low, high - count)
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(('127.0.0.1', port))
            return base
        except OSError:
            pass
        finally:
            for s in held:
                s.close()
    raise CommandError(f'no {count} consecutive free ports between {low} and {high}')


def fd_budget(n, scripts):
    """Descriptors the emulator needs for `n` modules, each with a DTE and a TCPATRUN session
    connected and (with `scripts`) its script running; sockets of AT commands not counted."""
    return FD_SPARE + n * (FDS_BASE + FDS_ATRUN + (FDS_SCRIPT if scripts else 0))


def check_fds(n, scripts, warn=None):
    """Raise the soft RLIMIT_NOFILE toward fd_budget() (up to the hard limit); refuse when the
    hard limit cannot hold even the listeners (2 a module), warn when it cannot hold the worst
    case.  Returns the soft limit now in force."""
    need, least = fd_budget(n, scripts), FD_SPARE + n * (FDS_BASE + FDS_ATRUN) // 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if least > top:
        raise CommandError(f'--fleet {n}: needs at least {least} file descriptors (a serial '
                           f'and a TCPATRUN listener a module), the hard limit (ulimit -Hn) is '
                           f'{hard}')
    if top > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (top, hard))
        soft = top
    if need > soft and warn:
        warn(f'modemkit sim: warning: --fleet {n} with every DTE, TCPATRUN session and script '
             f'at once needs {need} file descriptors, the limit is {soft}')
    return soft


def module_config(config, i, script_root):
    """Module i's config: the common one with its own IMEI and script directory."""
    cfg = dict(config, hosts=dict(config['hosts']))
    cfg['imei'] = f'35{i:013d}'
    if script_root is not None:
        cfg['script_dir'] = str(Path(script_root) / f'm{i:04d}')
    return cfg


class Fleet:
    """N modules on `loop`; serial port of module i on `host`:`base_port + i`."""

    def __init__(self, loop, modem_cls, config, n, host, base_port, latency_s=0.0, seed=0,
                 drop_rate=0.0, garble_rate=0.0, script_root=None, baud=None):
        self.loop = loop
        self.modems, self.frontends, self.nets = [], [], []
        try:
            for i in range(n):
                net = Net(loop, hosts=config['hosts'], latency_s=latency_s)
                self.nets.append(net)
                modem = modem_cls(loop, net, module_config(config, i, script_root))
                wire = Wire(loop, baud=baud, seed=seed + i)
                wire.drop_rate, wire.garble_rate = drop_rate, garble_rate
                modem.attach(wire)
                self.modems.append(modem)
                try:
                    self.frontends.append(TcpFrontend(loop, wire, host, base_port + i))
                except OSError as e:
                    why = os.strerror(e.errno) if e.errno else str(e)
                    raise CommandError(f'--fleet: cannot listen on {host}:{base_port + i}: '
                                       f'{why}') from None
        except BaseException:
            self.close()
            raise

    def close(self):
        for modem in self.modems:
            if hasattr(modem, 'close_scripts'):
                modem.close_scripts()
        for fe in self.frontends:
            fe.close()
        for net in self.nets:
            net.close_all()


def run(args, modem_cls, config, stop_on_signals):
    """`modemkit sim --fleet N --tcp HOST:BASE ...`; returns the exit status."""
    n = args.fleet
    if not 1 <= n <= FLEET_MAX:
        raise CommandError(f'--fleet: between 1 and {FLEET_MAX} modules')
    if args.tcp is None or args.tcp[1] == 0:
        raise CommandError('--fleet needs --tcp 127.0.0.1:PORT with a PORT other than 0 '
                           '(module i listens on PORT+i)')
    if args.trace:
        raise CommandError('--fleet: --trace is for one module')
    host, base = args.tcp
    if base + n - 1 > 65535:
        raise CommandError(f'--fleet: ports {base}..{base + n - 1} go past 65535')
    check_fds(n, config.get('run_scripts', False),
              lambda text: print(text, file=sys.stderr, flush=True))
    script_root = None
    if config.get('run_scripts'):
        script_root = args.script_dir or tempfile.mkdtemp(prefix='modemkit-fleet-')
        config = {k: v for k, v in config.items() if k != 'script_dir'}
    loop = Loop()
    fleet = None
    try:
        fleet = Fleet(loop, modem_cls, config, n, host, base,
                      latency_s=args.net_latency_ms / 1000, seed=args.seed,
                      drop_rate=args.drop_rate, garble_rate=args.garble_rate,
                      script_root=script_root, baud=args.baud)
        for modem in fleet.modems:
            if args.reboot_after is not None:
                loop.call_later(args.reboot_after, modem.reboot)
            for sender, text in args.sms:
                loop.call_later(args.sms_at, modem.deliver_sms, sender, text)
            if args.pdp_deact_after is not None:
                loop.call_later(args.pdp_deact_after, modem.pdp_deactivate, 1)
        wake_r, wake_w = stop_on_signals(loop)
        print(f'modemkit sim: {args.dialect} fleet of {n} on {host}:{base}..{base + n - 1} '
              '(tcp)', flush=True)
        try:
            loop.run_forever()
        finally:
            signal.set_wakeup_fd(-1)
            wake_r.close()
            wake_w.close()
    finally:
        if fleet is not None:
            fleet.close()
        loop.close()
        if script_root is not None and not args.script_dir:
            shutil.rmtree(script_root, ignore_errors=True)
    return 0
