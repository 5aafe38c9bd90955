"""The Telit on-module telemetry app on a real Python 2.7, end to end: its Telit bundle (flat
files, boot script) runs under python2.7 with Telit's built-in modules from the stand-in
(mdmshim.py), whose MDM is the serial line of `modemkit sim --dialect telit --tcp`; samples go
through the emulated module to a real mosquitto and an independent paho subscriber, with
modemkit's MQTT client over #SD sockets and with the module's own #MQ* client, through a PDP
deactivation and a module reboot, nothing lost.

`make test` counts these in its py27 line (mktools.dev.testall).  The module's reboot does not
end the script here (on a module it would, and boot.py would start it again from the same flash
queue): the app sees the module restart, as an application beside the module does."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from mktools import ROOT, find_python27
from mktools.dev import demo

pytestmark = pytest.mark.py27
SHIM = os.path.join(ROOT, 'tools', 'mktools', 'sim', 'telit', 'mdmshim.py')
COUNT = 60
PERIOD_MS = 250


@pytest.fixture
def rig(tmp_path):
    py27, why = find_python27()
    if py27 is None:
        if os.environ.get('CI') == 'true':
            pytest.fail('CI needs Python 2.7: %s' % why)
        pytest.skip(why)
    r = Run(str(tmp_path), py27)
    yield r
    r.close()


class Run:
    def __init__(self, work, py27):
        self.work = work
        self.py27 = py27
        self.broker = demo.Broker(work, persistent=True)
        self.watcher = demo.Watcher('127.0.0.1', self.broker.port, 'mk', quiet=True,
                                    persistent=True)
        self.sim = self.app = None
        self.output = []

    def start_sim(self, variant, *faults):
        self.port = demo.free_port()
        self.sim = subprocess.Popen(
            [sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'telit', '--variant',
             variant, '--tcp', '127.0.0.1:%d' % self.port, '--host', 'broker.test=127.0.0.1',
             '--boot-ms', '500'] + list(faults),
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env=demo.tools_env())
        assert 'modemkit sim: telit' in self.sim.stdout.readline()

    def bundle(self, native):
        with open(os.path.join(ROOT, 'boardcfg', 'he910-onmodule.json')) as f:
            cfg = json.load(f)
        if native:                     # #MQ* exists from Platform ID 30 (ME910C1)
            cfg.update(platform=30, variant='me910c1')
        cfg['mqtt'].update(host='broker.test', port=self.broker.port, prefix='mk',
                           device='he910-py27', keepalive=30, native=native,
                           backoff_max_ms=3000)
        cfg['telemetry'].update(period_ms=PERIOD_MS, count=COUNT, queue_path='telemq')
        board = os.path.join(self.work, 'board.json')
        with open(board, 'w') as f:
            json.dump(cfg, f)
        out = os.path.join(self.work, 'bundle')
        subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', 'telemetry', '--board',
                        board, '--out', out, '--healthy-s', '1'],
                       cwd=ROOT, check=True, capture_output=True, env=demo.tools_env())
        return os.path.join(out, 'device')

    def start_app(self, flat):
        # what AT#ESCRIPT would start on the module: the boot script, from the flat files
        self.app = subprocess.Popen(
            [self.py27, '-B', '-E', '-s', '-u', SHIM, '--dir', flat, '--mdm-tcp',
             '127.0.0.1:%d' % self.port, '--adc', '1=1500', '--script', 'a_boot.py'],
            cwd=flat, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.app.stdout:
            self.output.append(line.rstrip())

    def wait_samples(self, n, timeout_s):
        deadline = time.monotonic() + timeout_s
        while self.watcher.samples < n and time.monotonic() < deadline:
            if self.app.poll() is not None:
                deadline = min(deadline, time.monotonic() + 5)
            time.sleep(0.1)
        return self.watcher.samples

    def close(self):
        self.watcher.stop()
        for p in (self.app, self.sim):
            demo.stop(p)
        self.broker.stop()


@pytest.mark.parametrize('variant,native', [('he910', False), ('me910c1', True)],
                         ids=['modemkit-mqtt', 'module-mqtt'])
def test_samples_reach_the_broker_through_pdp_loss_and_a_module_reboot(rig, variant, native):
    flat = rig.bundle(native)
    # faults well after the app is up, before it is done (COUNT * PERIOD_MS = 15 s)
    rig.start_sim(variant, '--pdp-deact-after', '8', '--reboot-after', '16')
    rig.start_app(flat)
    got = rig.wait_samples(COUNT, 120)
    rig.app.wait(30)
    log = '\n'.join(rig.output)
    seen = rig.watcher.seen.get('he910-py27', set())
    assert got == COUNT and seen == set(range(1, COUNT + 1)), \
        (got, sorted(set(range(1, COUNT + 1)) - seen)[:20], log[-6000:])
    assert rig.watcher.lost() == 0
    # the PDP loss: seen by the driver's socket layer, or (#MQ*) as the module refusing #MQPUBS
    lost = 'mqtt: down' if native else 'PDP context deactivated'
    assert lost in log and 'module restarted' in log, log[-3000:]
    assert 'telemetry: %d samples sent' % COUNT in log, log[-3000:]
    # the boot script saw the app start and end by itself
    with open(os.path.join(flat, 'a_state.txt')) as f:
        assert f.read().split()[0] == 'ended'
