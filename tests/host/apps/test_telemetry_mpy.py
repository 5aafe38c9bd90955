"""The telemetry app on the real MicroPython unix port, through `modemkit sim` on a pty, to a
real mosquitto, watched by an independent paho subscriber: faults on every side, no sample lost.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))

from mktools.dev import demo     # noqa: E402

# Heap cap for the app, its code in ROM as on a device (README, "Memory").
HEAP = os.environ.get('MK_HEAP', demo.HEAP)


@pytest.fixture
def rig(tmp_path):
    if not demo.tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    r = Run(str(tmp_path))
    yield r
    r.close()


class Run:
    def __init__(self, work):
        self.work = work
        # restarted below: keep sessions; its log shows each start and who connected to it
        self.broker_log = os.path.join(work, 'mosquitto.log')
        self.broker = demo.Broker(work, persistent=True,
                                  extra='log_dest file %s\nlog_type all' % self.broker_log)
        self.sntp = demo.SntpServer()
        self.sim = self.app = None
        self.watcher = demo.Watcher('127.0.0.1', self.broker.port, 'mk', quiet=True,
                                    persistent=True)
        self.output = []

    def start_sim(self, *args, dialect='quectel', faults=False):
        """`modemkit sim` on a pty; with faults=True the emulator that takes fault commands on
        its stdin (mktools.dev.faultsim; see inject)."""
        link = os.path.join(self.work, 'tty')
        tool = 'mktools.dev.faultsim' if faults else 'mktools.sim.cli'
        self.sim = subprocess.Popen(
            [sys.executable, '-m', tool, '--dialect', dialect, '--pty', link,
             '--host', 'broker.test=127.0.0.1', '--host', 'time.test=127.0.0.1'] + list(args),
            cwd=ROOT, stdin=subprocess.PIPE if faults else None, stdout=subprocess.PIPE,
            text=True, env=demo.tools_env())
        assert 'modemkit sim' in self.sim.stdout.readline()
        return link

    def inject(self, command):
        """One fault command to the emulator; its one-line answer ('ok ...' or 'ignored ...')."""
        self.sim.stdin.write(command + '\n')
        self.sim.stdin.flush()
        return self.sim.stdout.readline().strip()

    def start_app(self, link, count, period_ms, broker_port=None, board='desktop-quectel',
                  native=None):
        with open(os.path.join(demo.ROOT, 'boardcfg', board + '.json')) as f:
            cfg = json.load(f)
        if native is not None:
            cfg['mqtt']['native'] = native
        cfg['serial']['port'] = link
        cfg['mqtt'].update(port=broker_port or self.broker.port, prefix='mk', backoff_max_ms=3000)
        cfg['telemetry'].update(period_ms=period_ms, queue_path=os.path.join(self.work, 'q'),
                                queue_bytes=65536)
        if cfg['dialect'] == 'quectel':
            cfg['telemetry'].update(ntp='time.test', ntp_port=self.sntp.port)
        board = os.path.join(self.work, 'board.json')
        with open(board, 'w') as f:
            json.dump(cfg, f)
        self.app = subprocess.Popen(
            demo.app_command(board, count, HEAP), cwd=self.work, env=demo.tools_env(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._collect, args=(self.app,), daemon=True).start()

    def _collect(self, proc):
        for line in proc.stdout:
            self.output.append(line.rstrip())

    def wait_samples(self, n, timeout_s):
        """Until the subscriber saw n samples, the time is up, or the app has been gone for
        10 s (what it published before it ended has arrived by then)."""
        deadline = time.monotonic() + timeout_s
        while self.watcher.samples < n and time.monotonic() < deadline:
            if self.app is not None and self.app.poll() is not None:
                deadline = min(deadline, time.monotonic() + 10)
            time.sleep(0.1)
        return self.watcher.samples

    def close(self):
        self.watcher.stop()
        for p in (self.app, self.sim):
            demo.stop(p)
        self.broker.stop()


@pytest.mark.parametrize('board,sim_args,native', [
    ('desktop-telit', ['--variant', 'me910c1'], True),       # the module's own MQTT client
    ('desktop-telit', ['--variant', 'me910c1'], False),      # modemkit's, over #SD sockets
    ('desktop-wavecom', ['--variant', 'multitech'], None)],
    ids=['telit-native', 'telit-pure', 'wavecom'])
def test_other_dialects_end_to_end(rig, board, sim_args, native):
    dialect = board.split('-')[1]
    link = rig.start_sim(*sim_args, dialect=dialect)
    rig.start_app(link, 20, 100, board=board, native=native)
    got = rig.wait_samples(20, 90)
    rig.app.wait(30)
    device = json.load(open(os.path.join(ROOT, 'boardcfg', board + '.json')))['mqtt']['device']
    assert got == 20 and rig.watcher.seen[device] == set(range(1, 21)), \
        '\n'.join(rig.output[-30:])


def test_500_samples_through_broker_restarts_pdp_loss_and_module_reboot(rig):
    # Each fault comes once the subscriber has seen the app get further since the one before
    # (not at a wall-clock time, which a loaded machine shifts): every fault hits a running app.
    link = rig.start_sim(faults=True)
    rig.start_app(link, 500, 40)
    for seen, fault in ((60, 'broker restart 1'), (140, 'pdp 1'), (220, 'broker restart 2'),
                        (300, 'reboot')):
        assert rig.wait_samples(seen, 90) >= seen, (fault, '\n'.join(rig.output[-30:]))
        if fault.startswith('broker'):
            rig.broker.stop()
            time.sleep(1.5)
            rig.broker.start()
        else:
            answer = rig.inject(fault)
            assert answer.startswith('ok '), answer
    got = rig.wait_samples(500, 120)
    rig.app.wait(30)
    missing = sorted(set(range(1, 501)) - rig.watcher.seen.get('sim-ec21', set()))
    out = '\n'.join(rig.output[-40:]) + '\nmissing: %s' % missing[:50]
    assert got == 500, out
    seqs = rig.watcher.seen['sim-ec21']
    assert seqs == set(range(1, 501)) and rig.watcher.lost() == 0, out     # gaps: 0
    log = '\n'.join(rig.output)
    assert 'PDP context deactivated' in log and 'module restarted' in log, log[-2000:]
    assert log.count('mqtt: up') >= 3, log[-2000:]
    # the broker really restarted twice, and the app connected to each of its three lives
    with open(rig.broker_log) as f:
        lives = re.split(r'mosquitto version \S+ starting', f.read())[1:]
    assert len(lives) == 3, lives
    assert all(re.search(r'New client connected from \S+ as sim-ec21 ', life) for life in lives), \
        [life[-1500:] for life in lives]
    print('duplicates: %d' % rig.watcher.duplicates)


def test_killed_app_loses_nothing_already_queued(rig, tmp_path):
    from conftest import free_port
    link = rig.start_sim()
    rig.start_app(link, 0, 50, broker_port=free_port())      # no broker there: all queue up
    deadline = time.monotonic() + 60
    while not any('-> ready' in l for l in rig.output) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.5)
    rig.app.kill()                     # mid-run, without warning
    rig.app.wait(5)
    queued = _queued(os.path.join(rig.work, 'q.q'))
    assert queued >= 20, queued
    rig.start_app(link, 5, 50)          # the restarted app, now with a broker
    got = rig.wait_samples(queued + 5, 90)
    rig.app.wait(30)
    seqs = rig.watcher.seen['sim-ec21']
    assert got == queued + 5 and seqs == set(range(1, queued + 6)), (got, sorted(seqs)[:5],
                                                                     '\n'.join(rig.output[-30:]))


def _queued(path):
    """Records in a queue file (headers: A5 len:2 crc:2)."""
    data = open(path, 'rb').read()
    n = pos = 0
    while pos + 5 <= len(data) and data[pos] == 0xA5:
        size = data[pos + 1] << 8 | data[pos + 2]
        if pos + 5 + size > len(data):
            break
        pos += 5 + size
        n += 1
    return n
