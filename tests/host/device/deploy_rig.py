"""Emulated Telit modules for the deploy and upgrade tests (no tests here).

`Fleet(n)` runs n TelitModems (HE910) on one real-clock Loop in a background thread, each with
its own Net, its serial port on a loopback TCP port (a pyserial `socket://` URL) and the
script runner on (config `run_scripts`).  `provision()` configures TCPATRUN server mode over
that serial port with the commands of T-RUN §3.9; `preinstall()` puts a bundle straight into a
module's script store, as a factory image would be, and starts it.
"""

import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path

from mktools.device.bundle import Options, build, load_board
from mktools.sim.core.frontends import TcpFrontend
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net
from mktools.sim.telit.modem import TelitModem
from mktools.sim.core.wire import Wire
from mktools.sim.fleet import free_ports
from mktools.device.wscript import AtLink, SocketTransport

ROOT = Path(__file__).resolve().parents[3]
APPS = Path(__file__).resolve().parent / 'apps'
USER, PASSWORD = 'fleetuser', 'fleet-secret'
FAST = {'healthy_s': 1, 'crash_delay_s': 0.2, 'max_tries': 2}


def listen_ports(n):
    """n distinct free ports for TCPATRUN listeners, below Linux's ephemeral range (32768 and
    up).  A port drawn with bind(0) is free only until the module listens, seconds later: the
    next bind(0) or a connection's source port may take it meanwhile, and a module whose port
    is taken never listens (22 bind(0) draws in a row hold a duplicate 1.4 % of the time)."""
    base = free_ports(n)
    return list(range(base, base + n))


def beacon_board(tmp_path):
    path = Path(tmp_path) / 'beacon.json'
    path.write_text('{"name": "test module", "dialect": "telit", "serial": {"port": "MDM"}}')
    return path


def telit_bundle(app, board, slot='a', version='', previous='', **kw):
    opts = Options(app=Path(app), board=load_board(board), target='telit', slot=slot,
                   version=version, previous=previous, **{**FAST, **kw})
    return build(opts), opts


class Fleet:
    """n emulated Telit modules on one loop thread; `call(fn)` runs fn there."""

    def __init__(self, n, hosts=None, config=None, script_dirs=None):
        self.loop = Loop()
        self.modems, self.frontends = [], []
        for i in range(n):
            cfg = {'variant': 'he910', 'run_scripts': True, 'boot_s': 0.3,
                   'activation_s': 0.05, 'imei': f'35000000000{i:04d}', **(config or {})}
            if script_dirs:
                cfg['script_dir'] = str(Path(script_dirs) / f'm{i:02d}')
            modem = TelitModem(self.loop, Net(self.loop, hosts=hosts), cfg)
            wire = Wire(self.loop)
            modem.attach(wire)
            self.modems.append(modem)
            self.frontends.append(TcpFrontend(self.loop, wire))
        self._calls = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.loop.add_reader(self._wake_r, self._run_calls)
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            self.loop.run_once(0.05)

    def _run_calls(self):
        try:
            self._wake_r.recv(4096)
        except BlockingIOError:
            pass
        while True:
            try:
                fn, box, done = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                box.append(('ok', fn()))
            except BaseException as e:      # handed to the caller's thread
                box.append(('err', e))
            done.set()

    def call(self, fn, timeout=10.0):
        """Run fn() on the loop thread and return its result."""
        box, done = [], threading.Event()
        self._calls.put((fn, box, done))
        self._wake_w.send(b'x')
        if not done.wait(timeout):
            raise TimeoutError('the emulator loop did not run the call')
        kind, value = box[0]
        if kind == 'err':
            raise value
        return value

    def serial_url(self, i):
        return f'socket://127.0.0.1:{self.frontends[i].port}'

    def serial(self, i):
        """An AtLink on module i's serial port (one DTE at a time)."""
        sock = socket.create_connection(('127.0.0.1', self.frontends[i].port), timeout=5)
        return AtLink(SocketTransport(sock, f'serial {i}'))

    def provision(self, i, port, user=USER, password=PASSWORD, auth_mode=0,
                  allow=('127.0.0.0', '255.0.0.0')):
        """T-RUN §3.9's set-up over the serial port: PDP context (auto-activated after every
        reboot, #SGACTCFG), firewall, credentials, #TCPATRUNCFG on connId 6, #TCPATRUNL=1."""
        link = self.serial(i)
        try:
            for line in ('ATE0', 'AT+CMEE=2', 'AT+CGDCONT=1,"IP","internet"',
                         'AT#SCFG=6,1,1500,0,600,50', 'AT#SGACTCFG=1,3', 'AT#SGACT=1,1',
                         'AT#TCPATRUNFRWL=2',
                         f'AT#TCPATRUNFRWL=1,"{allow[0]}","{allow[1]}"',
                         f'AT#TCPATRUNAUTH=1,"{user}","{password}"',
                         f'AT#TCPATRUNCFG=6,2,{port},1024,"127.0.0.1",1,5,{auth_mode},0,2',
                         'AT#TCPATRUNL=1'):
                link.command(line, 10)
        finally:
            link.close()

    def preinstall(self, i, bundle):
        """Write `bundle` into module i's store, enable its boot script and restart."""
        def install():
            modem = self.modems[i]
            for f in bundle.files:
                modem.scripts.write(f.name, f.data, False)
            modem.scripts.enabled = bundle.boot
            modem.reboot()
        self.call(install)

    def state(self, i, name):
        """The content of a file in module i's store (None when absent)."""
        def read():
            entry = self.modems[i].scripts.files.get(name)
            return entry[0] if entry else None
        return self.call(read)

    def enabled(self, i):
        return self.call(lambda: self.modems[i].scripts.enabled)

    def wait(self, condition, timeout, what, explain=None):
        """Poll `condition` until it holds; else fail, with `explain()` (the state that matters)
        in the message when given."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return
            time.sleep(0.1)
        detail = f'; {explain()}' if explain else ''
        raise AssertionError(f'{what}: not within {timeout} s{detail}')

    def describe(self, i):
        """Module i in one line, for a failure message: its script store, its listener, its last
        events and what its script printed last."""
        events = self.call(lambda: [e['event'] for e in list(self.modems[i].events)[-6:]])
        return (f'module {i}: enabled {self.enabled(i)!r}, '
                f'a_state {self.state(i, "a_state.txt")!r}, listening {self.listening(i)}, '
                f'events {events}, output {self.output(i)[-2:]}')

    def listening(self, i):
        return self.call(lambda: self.modems[i].tcpatrun.listener is not None)

    def output(self, i):
        return list(getattr(self.modems[i], 'script_output', []))

    def close(self):
        def shut():
            for modem in self.modems:
                modem.close_scripts()
                modem.net.close_all()
            for fe in self.frontends:
                fe.close()
        try:
            self.call(shut)
        finally:
            self._stop = True
            self._wake_w.send(b'x')
            self._thread.join(5)
            self.loop.close()
            self._wake_r.close()
            self._wake_w.close()


def env_with_tools():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT / 'tools'), str(ROOT / 'lib')] + sys.path))
