"""A 1,000-module upgrade: `modemkit upgrade` in waves against `modemkit sim --fleet 1000`.

    python -m bench.fleet_upgrade [--modules 1000] [--parallel 32] [--out FILE]

One emulator process hosts every module (Telit HE910, scripts run under CPython, one child
process each once a script is enabled); each module is provisioned for TCPATRUN over its serial
port, as a factory would.  One batch (half of wave 6 with the default waves) is provisioned with
another TCPATRUN password: its logins are refused, the wave passes the failure threshold and the
run stops (exit 3).  The batch is then provisioned again with the right password and the run
resumes from its JSON report; afterwards AT#ESCRIPT? is read on every module's serial port.

Measured: wall time of each run, peak RSS of the tool (each run, from wait4) and of the emulator
(VmHWM), the scripts' memory (sum of their PSS at the end), the peak number of open descriptors
of the tool and the emulator (sampled every 0.5 s), and the outcomes.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

from bench import common
from bench.common import BUILD, ROOT, figure
from mktools.device.upgrade import plan_waves
from mktools.device.wscript import AtLink, SocketTransport
from mktools.sim.fleet import free_ports

APP = os.path.join(ROOT, 'bench', 'fleet_app')
USER, PASSWORD, WRONG = 'fleet', 'fleet-bench-secret', 'another-batch'
CANARY, GROWTH, MAX_WAVE, THRESHOLD = 10, 2.0, 200, 0.1
BROKEN_WAVE = 6             # waves 10/20/40/80/160/200/...: wave 6 is modules 310..509
RUN_TIMEOUT_S = 3600


def waves_start(n, number):
    """(first module, size) of wave `number` for n modules, or (n, 0) when there is none."""
    sizes = plan_waves(n, CANARY, GROWTH, MAX_WAVE)
    if number > len(sizes):
        return n, 0
    return sum(sizes[:number - 1]), sizes[number - 1]




def at(port, *lines):
    link = AtLink(SocketTransport(socket.create_connection(('127.0.0.1', port), timeout=10),
                                  f'serial {port}'))
    try:
        got = None
        for line in lines:
            got = link.command(line, 10)
        return got
    finally:
        link.close()


def provision(serial_port, atrun_port, password):
    """T-RUN §3.9's set-up over the serial port."""
    at(serial_port, 'ATE0', 'AT+CMEE=2', 'AT+CGDCONT=1,"IP","internet"',
       'AT#SCFG=6,1,1500,0,600,50', 'AT#SGACTCFG=1,3', 'AT#SGACT=1,1', 'AT#TCPATRUNFRWL=2',
       'AT#TCPATRUNFRWL=1,"127.0.0.0","255.0.0.0"', f'AT#TCPATRUNAUTH=1,"{USER}","{password}"',
       f'AT#TCPATRUNCFG=6,2,{atrun_port},1024,"127.0.0.1",1,5,0,0,2', 'AT#TCPATRUNL=1')


def in_threads(fn, items, workers=8):
    errors = []
    items = list(items)
    lock = threading.Lock()

    def work():
        while True:
            with lock:
                if not items:
                    return
                item = items.pop()
            try:
                fn(item)
            except Exception as e:      # noted, the others go on
                errors.append((item, e))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f'{len(errors)} failed, first: {errors[0]}')


def fds(pid):
    try:
        return len(os.listdir(f'/proc/{pid}/fd'))
    except OSError:
        return 0


def status_kib(pid, field):
    try:
        with open(f'/proc/{pid}/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """(own, reaped children's) CPU seconds of a live process, from /proc/PID/stat."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf('SC_CLK_TCK')
    return ((int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick)


def children_pss_kib(pid):
    """(count, summed PSS in KiB) of the emulator's child processes (the running scripts)."""
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        return 0, 0
    total = 0
    for kid in kids:
        try:
            with open(f'/proc/{kid}/smaps_rollup') as f:
                for line in f:
                    if line.startswith('Pss:'):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return len(kids), total


class Sampler:
    """Peak descriptor counts of some processes, every `period` s on a thread."""

    def __init__(self, period=0.5):
        self.period = period
        self.pids = {}
        self.peak = {}
        self.scripts_peak = (0, 0)
        self.emulator = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        n = 0
        while not self._stop.wait(self.period):
            for name, pid in list(self.pids.items()):
                self.peak[name] = max(self.peak.get(name, 0), fds(pid))
            n += 1
            if self.emulator and n % 20 == 0:      # smaps of a thousand processes: not often
                got = children_pss_kib(self.emulator)
                if got[1] > self.scripts_peak[1]:
                    self.scripts_peak = got

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def run_tool(argv, env, sampler, name, log):
    """`modemkit upgrade ARGV` as a child; (exit status, wall s, peak RSS KiB, CPU s)."""
    t0 = time.monotonic()
    with open(log, 'w') as out:
        p = subprocess.Popen([sys.executable, '-m', 'mktools.cli', 'upgrade', *argv],
                             stdout=out, stderr=subprocess.STDOUT, env=env)
        sampler.pids[name] = p.pid
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    sampler.pids.pop(name, None)
    return (p.returncode, time.monotonic() - t0, usage.ru_maxrss,
            usage.ru_utime + usage.ru_stime)


def run(n=1000, parallel=32, say=print):
    """The benchmark; returns (results, missing) as bench.run records them."""
    os.makedirs(BUILD, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='fleet-', dir=BUILD)
    env = dict(common.py_env(), MODEMKIT_ATRUN_USER=USER, MODEMKIT_ATRUN_PASSWORD=PASSWORD)
    base = free_ports(2 * n)
    # wave 6 of 1,000; with fewer modules the last wave but one, so that one remains after it
    broken_wave = max(1, min(BROKEN_WAVE, len(plan_waves(n, CANARY, GROWTH, MAX_WAVE)) - 1))
    broken_start, broken_size = waves_start(n, broken_wave)
    broken = range(broken_start, broken_start + broken_size // 2)
    load_before = os.getloadavg()
    sampler = Sampler()
    sim = subprocess.Popen(
        [sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'telit', '--variant', 'he910',
         '--fleet', str(n), '--tcp', f'127.0.0.1:{base}', '--run-scripts', '--boot-ms', '300',
         '--activation-ms', '50', '--script-dir', os.path.join(tmp, 'scripts')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    sampler.pids['emulator'] = sampler.emulator = sim.pid
    try:
        banner = sim.stdout.readline()
        if 'fleet of' not in banner:
            raise RuntimeError(f'the emulator did not start: {banner.strip()}')
        idle = {'rss_kib': status_kib(sim.pid, 'VmRSS'), 'fds': fds(sim.pid)}
        t0 = time.monotonic()
        in_threads(lambda i: provision(base + i, base + n + i,
                                       WRONG if i in broken else PASSWORD), range(n))
        provision_s = time.monotonic() - t0
        say(f'fleet: {n} modules provisioned in {provision_s:.0f} s '
            f'({len(broken)} with another password)')
        targets = os.path.join(tmp, 'targets')
        with open(targets, 'w') as f:
            f.writelines(f'm{i:04d} 127.0.0.1:{base + n + i} automatic\n' for i in range(n))
        board = os.path.join(tmp, 'board.json')
        with open(board, 'w') as f:
            json.dump({'name': 'fleet bench module', 'dialect': 'telit',
                       'serial': {'port': 'MDM'}}, f)
        report = os.path.join(tmp, 'report.json')
        argv = [APP, '--board', board, '--version', '1.0', '--targets', targets,
                '--parallel', str(parallel), '--canary', str(CANARY), '--wave-growth',
                str(GROWTH), '--max-wave', str(MAX_WAVE), '--max-failure-rate', str(THRESHOLD),
                '--healthy-s', '1', '--crash-delay-s', '1', '--confirm-s', '120',
                '--rollback-s', '120', '--poll-s', '1', '--login-timeout', '20', '--quiet',
                '--report', report]
        cpu_before = cpu_s(sim.pid)
        code1, wall1, rss1, cpu1 = run_tool(argv, env, sampler, 'tool',
                                            os.path.join(tmp, 'run1.log'))
        with open(report) as f:
            first = json.load(f)
        with open(os.path.join(tmp, 'run1.log')) as f:
            log1 = f.read()
        stop = re.search(r'stopped after wave (\d+): (\d+) of (\d+)', log1)
        say(f'fleet: run 1 exit {code1} in {wall1:.0f} s: '
            + (stop.group(0) if stop else 'not stopped'))
        in_threads(lambda i: at(base + i, 'ATE0', f'AT#TCPATRUNAUTH=1,"{USER}","{PASSWORD}"'),
                   broken)
        code2, wall2, rss2, cpu2 = run_tool(argv[:-2] + ['--resume', report], env, sampler, 'tool',
                                      os.path.join(tmp, 'run2.log'))
        with open(report) as f:
            final = json.load(f)
        say(f'fleet: run 2 (--resume) exit {code2} in {wall2:.0f} s')
        enabled = []
        in_threads(lambda i: enabled.append(
            '#ESCRIPT: "a_boot.py"' in ' '.join(map(str, at(base + i, 'ATE0', 'AT#ESCRIPT?')))),
            range(n))
        cpu_after = cpu_s(sim.pid)
        scripts_end = children_pss_kib(sim.pid)
        emu_peak = status_kib(sim.pid, 'VmHWM')
        emu_end = status_kib(sim.pid, 'VmRSS')
    finally:
        sim.terminate()
        try:
            sim.wait(60)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait(10)
        sim.stdout.close()
        sampler.stop()
    load_after = os.getloadavg()

    def count(entries, outcome):
        return sum(d['outcome'] == outcome for d in entries)

    done_first = count(first, 'upgraded')
    method = {
        'modules': n, 'parallel': parallel, 'waves': f'canary {CANARY}, x{GROWTH:g}, at most '
        f'{MAX_WAVE}', 'max_failure_rate': THRESHOLD, 'emulator': 'one `modemkit sim --fleet` '
        'process, Telit HE910, --run-scripts (one CPython child per running script)',
        'app': 'bench/fleet_app: alive after 1 s, then it leaves (SystemExit) so that 1,000 '
        'idle script processes do not load the host',
        'upgrade': 'blank modules to version 1.0 over TCPATRUN (automatic login): write, '
        'read back (SHA-256), AT#ESCRIPT, AT#REBOOT, state file alive',
        'injected': f'modules {broken.start}..{broken.stop - 1} (half of wave {broken_wave}) '
        'provisioned with another TCPATRUN password: logins refused',
        'run1_exit': code1, 'run1_stop': stop.group(0) if stop else None,
        'run1_upgraded': done_first, 'run1_failed': count(first, 'unchanged') +
        count(first, 'rolled-back') + count(first, 'broken'),
        'run1_pending': count(first, 'pending'),
        'run2_exit': code2, 'run2_modules': n - done_first,
        'provision_s': round(provision_s, 1),
        'tool_cpu_s': round(cpu1 + cpu2, 1),
        'emulator_cpu_s': round(cpu_after[0] - cpu_before[0], 1),
        'scripts_cpu_s': round(cpu_after[1] - cpu_before[1], 1),
        'emulator_idle_rss_kib': idle['rss_kib'], 'emulator_idle_fds': idle['fds'],
        'scripts_running_at_end': scripts_end[0],
        'machine': f'{os.cpu_count()} cores shared with other work; load average before '
        f'{load_before[0]:.2f}, after {load_after[0]:.2f}'}
    results = {
        'fleet_upgrade.wall_s': figure(round(wall1 + wall2, 1), 's', dict(
            method, measure='wall time of both runs of the tool (stopped run + resumed run), '
            'provisioning not included', run1_s=round(wall1, 1), run2_s=round(wall2, 1))),
        'fleet_upgrade.modules_upgraded': figure(count(final, 'upgraded'), 'modules', dict(
            method, measure='outcome upgraded in the final report; AT#ESCRIPT? read back on '
            'every serial port', escript_ok=sum(enabled))),
        'fleet_upgrade.tool_peak_rss_kib': figure(max(rss1, rss2), 'KiB', dict(
            method, measure='ru_maxrss of each run of `modemkit upgrade` (wait4)',
            run1_kib=rss1, run2_kib=rss2)),
        'fleet_upgrade.emulator_peak_rss_kib': figure(emu_peak, 'KiB', dict(
            method, measure='VmHWM of the emulator process (its script children not included)',
            end_rss_kib=emu_end)),
        'fleet_upgrade.scripts_pss_kib': figure(sampler.scripts_peak[1], 'KiB', dict(
            method, measure='the largest sum of the PSS of the running script processes, '
            'sampled every 10 s', processes=sampler.scripts_peak[0],
            end_kib=scripts_end[1])),
        'fleet_upgrade.emulator_peak_fds': figure(sampler.peak.get('emulator', 0), 'fds', dict(
            method, measure='open descriptors of the emulator, sampled every 0.5 s')),
        'fleet_upgrade.tool_peak_fds': figure(sampler.peak.get('tool', 0), 'fds', dict(
            method, measure='open descriptors of the tool, sampled every 0.5 s')),
        'fleet_upgrade.stopped_wave': figure(int(stop.group(1)) if stop else None, 'wave', dict(
            method, measure='the wave after which run 1 stopped at the failure threshold',
            failed=int(stop.group(2)) if stop else None,
            wave_size=int(stop.group(3)) if stop else None)),
    }
    return results, {}


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench.fleet_upgrade',
                                 description=__doc__.split('\n')[0])
    ap.add_argument('--modules', type=int, default=1000)
    ap.add_argument('--parallel', type=int, default=32)
    ap.add_argument('--out', help='write {"results": ..., "missing": ...} to this file')
    args = ap.parse_args(argv)
    results, missing = run(args.modules, args.parallel)
    text = json.dumps({'results': results, 'missing': missing}, indent=1)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
