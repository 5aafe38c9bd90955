"""`modemkit upgrade` in waves against `modemkit sim --fleet` (one emulator process, 48 blank
Telit modules on consecutive ports, scripts run under CPython): a wave in which a batch of
modules refuses the tool's login passes the failure threshold and stops the run; `--resume`
finishes the rest without touching the modules already done; a new version that does not start
is stopped at its canary wave with every module back on the previous one. Each test starts a
fleet of its own, so that none depends on what another left behind."""

import json
import re
import socket
import subprocess
import sys
import time

import pytest

from deploy_rig import APPS, PASSWORD, USER, beacon_board, env_with_tools
from mktools.device import upgrade
from mktools.device.wscript import AtLink, SocketTransport
from mktools.sim.fleet import free_ports

N = 48
BAD = range(15, 27)         # wave 3 is modules 15..34 (waves 5, 10, 20, 13): 12 of 20 refuse
ENV = {upgrade.ENV_USER: USER, upgrade.ENV_PASSWORD: PASSWORD}




def serial(port):
    sock = socket.create_connection(('127.0.0.1', port), timeout=5)
    return AtLink(SocketTransport(sock, f'serial {port}'))


def at(port, *lines):
    """Commands on a module's serial port; the last one's response lines."""
    link = serial(port)
    try:
        for line in lines:
            got = link.command(line, 10)
        return got
    finally:
        link.close()


class SimFleet:
    """`modemkit sim --fleet N` as a child process; module i: serial on base+i, TCPATRUN on
    base+N+i."""

    def __init__(self, n):
        self.n = n
        self.base = base = free_ports(2 * n, low=20000)
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'telit', '--variant',
             'he910', '--fleet', str(n), '--tcp', f'127.0.0.1:{base}', '--run-scripts',
             '--boot-ms', '300', '--activation-ms', '50'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env_with_tools())
        line = self.proc.stdout.readline()
        assert f'fleet of {n} on 127.0.0.1:{base}..{base + n - 1}' in line, line

    def atrun_port(self, i):
        return self.base + self.n + i

    def provision(self, i, password=PASSWORD):
        """T-RUN §3.9's set-up over the serial port (as the factory does it)."""
        at(self.base + i, 'ATE0', 'AT+CMEE=2', 'AT+CGDCONT=1,"IP","internet"',
           'AT#SCFG=6,1,1500,0,600,50', 'AT#SGACTCFG=1,3', 'AT#SGACT=1,1',
           'AT#TCPATRUNFRWL=2', 'AT#TCPATRUNFRWL=1,"127.0.0.0","255.0.0.0"',
           f'AT#TCPATRUNAUTH=1,"{USER}","{password}"',
           f'AT#TCPATRUNCFG=6,2,{self.atrun_port(i)},1024,"127.0.0.1",1,5,0,0,2',
           'AT#TCPATRUNL=1')

    def enabled(self, i):
        got = at(self.base + i, 'ATE0', 'AT#ESCRIPT?')
        return re.search(r'#ESCRIPT: "([^"]*)"', ' '.join(map(str, got)))

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc.stdout.close()


@pytest.fixture
def fleet():
    """fleet(n, bad=()): a fleet of n provisioned modules, those in `bad` with a TCPATRUN
    password the tool does not know; stopped after the test."""
    started = []

    def make(n, bad=()):
        f = SimFleet(n)
        started.append(f)
        for i in range(n):
            f.provision(i, 'a-wrong-batch' if i in bad else PASSWORD)
        return f
    try:
        yield make
    finally:
        for f in started:
            f.close()


def run_upgrade(tmp_path, sim, app, version, *extra, capsys=None):
    targets = tmp_path / 'targets'
    targets.write_text(''.join(f'm{i:02d} 127.0.0.1:{sim.atrun_port(i)} automatic\n'
                               for i in range(sim.n)))
    argv = [str(app), '--board', str(beacon_board(tmp_path)), '--version', version,
            '--targets', str(targets), '--parallel', '12', '--healthy-s', '1',
            '--crash-delay-s', '0.2', '--max-tries', '2', '--confirm-s', '30',
            '--rollback-s', '30', '--poll-s', '0.3', '--login-timeout', '5', *extra]
    code = upgrade.main(argv, env=ENV)
    return code, capsys.readouterr() if capsys else None


def entries(path):
    return {d['name']: d for d in json.loads(path.read_text())}


def test_fleet_host_serves_every_module_on_its_own_port():
    sim = SimFleet(N)
    try:
        for i in (0, N // 2, N - 1):
            got = at(sim.base + i, 'ATE0', 'AT+CGSN')
            assert any(f'35{i:013d}' in str(line) for line in got), got
    finally:
        sim.close()


def test_threshold_stops_a_broken_wave_and_resume_finishes_the_rest(fleet, tmp_path, capsys):
    sim = fleet(N, BAD)
    report = tmp_path / 'report.json'
    code, out = run_upgrade(tmp_path, sim, APPS / 'beacon', '1.0', '--canary', '5',
                            '--max-failure-rate', '0.25', '--report', str(report),
                            capsys=capsys)
    assert code == 3, out.err
    first = entries(report)
    assert 'waves of 5/10/20/13' in out.err
    assert 'stopped after wave 3: 12 of 20 modules failed' in out.err, out.err
    for i in range(N):
        d = first[f'm{i:02d}']
        if i < 15:
            assert (d['outcome'], d['to_version'], d['wave']) == ('upgraded', '1.0',
                                                                  1 if i < 5 else 2), d
        elif i in BAD:
            assert d['outcome'] == 'unchanged' and 'closed the connection on login' in \
                d['reason'], d
        elif i < 35:
            # the rest of wave 3: those started before the failures came in are done, the
            # others were not started once the wave could no longer stay under the threshold
            assert d['outcome'] in ('upgraded', 'pending'), d
        else:
            assert d['outcome'] == 'pending' and d['wave'] == 0, d
    done = sum(d['outcome'] == 'upgraded' for d in first.values())
    assert f'{N - done} modules not started' not in out.err     # the refused ones were started
    assert f'{N - done - len(BAD)} modules not started' in out.err
    assert sim.enabled(40).group(1) == ''
    assert sim.enabled(3).group(1) == 'a_boot.py'

    # the batch is fixed over the serial port; the run resumes from its report
    for i in BAD:
        at(sim.base + i, 'ATE0', f'AT#TCPATRUNAUTH=1,"{USER}","{PASSWORD}"')
    code, out = run_upgrade(tmp_path, sim, APPS / 'beacon', '1.0', '--canary', '5',
                            '--max-failure-rate', '0.25', '--resume', str(report),
                            capsys=capsys)
    assert code == 0, out.err
    assert f'to {N - done} modules ({done} done before)' in out.err
    second = entries(report)
    assert all(d['outcome'] == 'upgraded' for d in second.values()), out.out
    for name, d in first.items():
        if d['outcome'] == 'upgraded':
            assert second[name] == d            # left alone: same entry, same wave
            assert f'[{name}]' not in out.err   # and never contacted
    assert f'{N} modules: {N} upgraded' in out.out
    assert all(sim.enabled(i).group(1) == 'a_boot.py' for i in (15, 26, 40, N - 1))


def test_a_version_that_does_not_start_stops_at_its_canary(fleet, tmp_path, capsys):
    n = 8
    sim = fleet(n)
    code, out = run_upgrade(tmp_path, sim, APPS / 'beacon', '1.0', '--report',
                            str(tmp_path / 'first.json'), '--quiet', capsys=capsys)
    assert code == 0 and f'{n} modules: {n} upgraded' in out.out, out.err
    # every module runs beacon 1.0 from slot a
    report = tmp_path / 'broken.json'
    t0 = time.monotonic()
    code, out = run_upgrade(tmp_path, sim, APPS / 'broken', '2.0-broken', '--canary', '4',
                            '--max-failure-rate', '0', '--report', str(report), '--quiet',
                            capsys=capsys)
    assert code == 3, out.err
    got = entries(report)
    outcomes = [got[f'm{i:02d}']['outcome'] for i in range(n)]
    assert outcomes[:4] == ['rolled-back'] * 4, out.out
    assert outcomes[4:] == ['pending'] * (n - 4)
    assert 'broken on purpose' in got['m00']['crash']
    assert '[m00]' not in out.err               # --quiet: one line per wave
    assert 'wave 1/' in out.err and 'stopped after wave 1: 4 of 4' in out.err
    assert all(sim.enabled(i).group(1) == 'a_boot.py' for i in (0, 3, 4, n - 1))
    assert time.monotonic() - t0 < 60


def test_wave_plan_and_options():
    assert upgrade.plan_waves(48, 5, 2.0) == [5, 10, 20, 13]
    assert upgrade.plan_waves(1000, 10, 2.0, 200) == [10, 20, 40, 80, 160, 200, 200, 200, 90]
    assert upgrade.plan_waves(7, 0) == [7]
    assert upgrade.plan_waves(5, 2, 1.0) == [2, 3]
    assert upgrade.plan_waves(0, 10) == []


def test_fleet_fd_budget_refuses_what_the_hard_limit_cannot_hold():
    import resource
    from mktools import CommandError
    from mktools.sim import fleet
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert fleet.fd_budget(1000, True) == 64 + 1000 * 7
    if hard != resource.RLIM_INFINITY:
        with pytest.raises(CommandError, match='hard limit'):
            fleet.check_fds(hard, False)
    warned = []
    assert fleet.check_fds(10, True, warned.append) >= fleet.fd_budget(10, True)
    assert warned == []
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= soft


def test_a_report_that_is_not_ours_is_refused_in_one_line(tmp_path, capsys):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"name": "m00"}')
    code = upgrade.main([str(APPS / 'beacon'), '--board', str(beacon_board(tmp_path)),
                         '--to', '127.0.0.1:1', '--resume', str(bad)], env=ENV)
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [f'modemkit upgrade: {bad}: not a report of modemkit '
                                        'upgrade (a list of modules)']
    bad.write_text('[{"name": ')
    assert upgrade.main([str(APPS / 'beacon'), '--board', str(beacon_board(tmp_path)),
                         '--to', '127.0.0.1:1', '--resume', str(bad)], env=ENV) == 2
    assert 'not a JSON report' in capsys.readouterr().err
    assert upgrade.main([str(APPS / 'beacon'), '--board', str(beacon_board(tmp_path)),
                         '--to', '127.0.0.1:1', '--max-failure-rate', '1.5'], env=ENV) == 2
    assert '--max-failure-rate: a share between 0 and 1' in capsys.readouterr().err


def run_waves_with(n, sizes, fails=(), parallel=4, threshold=0.1, rate=0.0, work_s=0.0):
    """run_waves over n plain targets; `one` records when each started and how many ran."""
    import io
    import threading
    from mktools.device.upgrade_flow import Result
    from mktools.device.upgrade_waves import run_waves
    lock = threading.Lock()
    seen = {'starts': [], 'now': 0, 'most': 0}

    def one(target):
        with lock:
            seen['starts'].append(time.monotonic())
            seen['now'] += 1
            seen['most'] = max(seen['most'], seen['now'])
        time.sleep(work_s)
        with lock:
            seen['now'] -= 1
        return Result(target[0], outcome='unchanged' if target[0] in fails else 'upgraded')

    entries = {}
    out = io.StringIO()
    stop = run_waves([(f'm{i:02d}',) for i in range(n)], sizes,
                     one, lambda r: r.outcome == 'upgraded', entries, parallel, threshold, rate,
                     out)
    return stop, entries, seen, out.getvalue()


def test_waves_bound_parallelism_and_start_rate():
    stop, entries, seen, _ = run_waves_with(12, [2, 10], parallel=3, work_s=0.05)
    assert stop is None and len(entries) == 12 and seen['most'] <= 3
    stop, entries, seen, _ = run_waves_with(6, [6], parallel=6, rate=20.0)
    gaps = [b - a for a, b in zip(seen['starts'], seen['starts'][1:])]
    assert len(entries) == 6 and min(gaps) >= 0.04, gaps


def test_a_wave_stops_starting_modules_once_it_cannot_stay_under_the_threshold():
    # one at a time: the 3rd failure (2 allowed in 10) ends the wave, nothing after it starts
    stop, entries, seen, out = run_waves_with(30, [10, 20], fails={'m00', 'm01', 'm02'},
                                              parallel=1, threshold=0.2)
    assert sorted(entries) == ['m00', 'm01', 'm02']
    assert stop.startswith('stopped after wave 1: 3 of 10 modules failed') and \
        '27 modules not started' in stop
    assert 'wave 1/2: 10 modules: 7 pending, 3 unchanged' in out
    # at the threshold exactly (2 of 10) the run goes on
    stop, entries, _, _ = run_waves_with(30, [10, 20], fails={'m00', 'm01'}, parallel=1,
                                         threshold=0.2)
    assert stop is None and len(entries) == 30
