"""The emulator's side of the Telit script shim: `ScriptRunner` runs the script AT#ESCRIPT
enabled, after a start-up of an emulated Telit module (config `run_scripts`), as a child process
through `mdmshim.py`, with its MDM joined to an AT instance of the module.  The interpreter is
Python 2.7, what the module runs, when one is installed (mktools.find_python27; config
`script_python` names another), else this CPython 3.

It belongs to `mktools.sim.telit.scripts` (the script store), which creates one per start-up.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

from mktools import find_python27

log = logging.getLogger('mktools.sim.script')

SHIM = Path(__file__).resolve().parent / 'mdmshim.py'
OUTPUT_LINES = 500              # what the script printed, kept for tests and logs
EXIT_WAIT_S = 2.0
_PYTHON27 = []                  # found once per process: [path or None]


def script_python(config):
    """The interpreter command that runs Telit scripts: config `script_python`, else Python 2.7
    when installed, else this CPython 3."""
    exe = config.get('script_python')
    if not exe:
        if not _PYTHON27:
            _PYTHON27.append(find_python27()[0])
        exe = _PYTHON27[0]
    if not exe:
        # -I: nothing from the host's environment or site-packages
        return [sys.executable, '-I', '-u']
    # 2.7 has no -I: -E -s say the same; -B: no .pyc appears in the mirrored script store
    return [exe, '-E', '-s', '-B', '-u']


class ScriptRunner:
    """The enabled script running under Python 2.7 or CPython 3 (mdmshim.py) with MDM on an AT instance of the
    module: the emulator's Telit Easy Script interpreter.  One per start-up; stop() is the
    power going off (the process is killed, as a reboot kills a script)."""

    def __init__(self, modem, name):
        self.modem = modem
        self.name = name
        self.port = None
        self.proc = None
        self.mdm = self.ctl = self.out = None
        self.tx = bytearray()
        self.watchdog = None
        self.dce = None
        self.output = deque(maxlen=OUTPUT_LINES)
        self._partial = b''
        modem.script_output = self.output

    def _directory(self):
        store = self.modem.scripts
        if store.mirror is None:
            where = self.modem.config.get('script_dir')
            if where:
                os.makedirs(where, exist_ok=True)
            else:
                where = tempfile.mkdtemp(prefix='modemkit-telit-')
            store.mirror_to(where)
        return store.mirror

    def start(self):
        try:
            directory = self._directory()
        except (OSError, ValueError) as e:
            self.modem.log('script_dir_refused', name=self.name, why=str(e))
            return False
        try:
            self.port = self.modem.spawn_instance()
        except RuntimeError:
            self.modem.log('script_no_instance', name=self.name)
            return False
        self.port.attach(self)
        self.port.events = self.modem.events
        self.mdm, child_mdm = socket.socketpair()
        self.ctl, child_ctl = socket.socketpair()
        adc = [f'--adc={ch}={mv}' for ch, mv in self.modem.config.get('script_adc', {}).items()]
        # -u: output in order
        cmd = script_python(self.modem.config) + [str(SHIM), '--dir', str(directory),
               '--script', self.name, '--mdm-fd', str(child_mdm.fileno()),
               '--ctl-fd', str(child_ctl.fileno())] + adc
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     pass_fds=(child_mdm.fileno(), child_ctl.fileno()))
        child_mdm.close()
        child_ctl.close()
        self.out = self.proc.stdout
        os.set_blocking(self.out.fileno(), False)
        for sock in (self.mdm, self.ctl):
            sock.setblocking(False)
        loop = self.modem.loop
        loop.add_reader(self.mdm, self._from_script)
        loop.add_reader(self.ctl, self._control)
        loop.add_reader(self.out, self._output)
        self.modem.log('script_run', name=self.name, pid=self.proc.pid, python=cmd[0])
        return True

    # -- MDM: the script's AT instance --------------------------------------------------------

    def to_dte(self, data):
        """What the module answers on the script's instance goes to MDM."""
        if self.mdm is None:
            return
        self.tx += data
        self._flush()

    def _flush(self):
        try:
            while self.tx:
                del self.tx[:self.mdm.send(self.tx)]
        except BlockingIOError:
            self.modem.loop.add_writer(self.mdm, self._flush)
            return
        except OSError:
            self.tx.clear()
        self.modem.loop.remove_writer(self.mdm)

    def in_flight(self):
        return False

    def _from_script(self):
        try:
            data = self.mdm.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if data:
            self.port.receive(data)
        else:
            self.modem.loop.remove_reader(self.mdm)

    # -- MOD watchdog (the only control message) ---------------------------------------------

    def _control(self):
        try:
            data = self.ctl.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self.modem.loop.remove_reader(self.ctl)
            return
        for line in data.decode('ascii', 'replace').splitlines():
            word, _, value = line.partition(' ')
            if word == 'wdr' and self.watchdog is not None:
                self._arm(self.watchdog[1])
            elif word == 'wd':
                self._arm(int(value or 0))

    def _arm(self, seconds):
        if self.watchdog is not None:
            self.watchdog[0].cancel()
            self.watchdog = None
        if seconds > 0:
            self.watchdog = (self.modem.later(seconds, self._expired), seconds)

    def _expired(self):
        self.watchdog = None
        self.modem.log('script_watchdog', name=self.name)
        self.modem.reboot()

    # -- output and exit ---------------------------------------------------------------------

    def _output(self):
        try:
            data = os.read(self.out.fileno(), 65536)
        except BlockingIOError:
            return
        except (OSError, ValueError):
            data = b''
        if not data:
            self.modem.loop.remove_reader(self.out)
            self._exited()
            return
        lines = (self._partial + data).split(b'\n')
        self._partial = lines.pop()[-4096:]
        for line in lines:
            text = line.decode('utf-8', 'replace').rstrip('\r')
            self.output.append(text)
            log.info('script %s: %s', self.name, text)

    def _exited(self):
        """The script ended by itself (nothing restarts it until the next start-up)."""
        if self.proc is None:
            return
        code = self.proc.poll()
        if code is None:
            # its output closed a moment before the process is gone
            self.modem.loop.call_later(0.05, self._exited)
            return
        if self._partial:
            self.output.append(self._partial.decode('utf-8', 'replace'))
            self._partial = b''
        self.modem.log('script_exit', name=self.name, code=code,
                       tail=list(self.output)[-3:])
        self._release()
        if self.modem.script_runner is self:
            self.modem.script_runner = None

    def _release(self):
        loop = self.modem.loop
        for sock in (self.mdm, self.ctl):
            if sock is not None:
                loop.remove_reader(sock)
                loop.remove_writer(sock)
                sock.close()
        self.mdm = self.ctl = None
        if self.out is not None:
            loop.remove_reader(self.out)
            self.out.close()
            self.out = None
        if self.watchdog is not None:
            self.watchdog[0].cancel()
            self.watchdog = None
        module = self.modem.module
        port, self.port = self.port, None
        if port is not None:
            if port in module.ports:
                module.ports.remove(port)
            # its pending timers die with it; not from inside the module's own reset
            self.modem.loop.call_later(0, port.reset)
        self.proc = None
        self.modem.scripts.pull()

    def stop(self, why):
        """Power off: the script is killed wherever it is."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            try:
                self.proc.wait(EXIT_WAIT_S)
            except subprocess.TimeoutExpired:
                pass
            self.modem.log('script_killed', name=self.name, why=why)
        self._release()
