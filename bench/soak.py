"""`make soak`: the full soak (mktools.dev.soak), its figures recorded in bench/soak.json.

    python -m bench.soak [--samples N] [--faults M] [--period MS]

The app's output goes to build/bench/soak-app.log.

bench/soak.json has the shape of bench/results.json ({"results": {key: {"value", "unit",
"method"}}, "missing", "meta"}); it is a file of its own because a soak takes a quarter of an
hour and `make bench` does not run it. The exit status is 1 unless every sample arrived and
every fault was injected.
"""
import argparse
import datetime
import json
import os
import platform
import sys

from bench import common, run as bench_run
from bench.common import ROOT
from mktools.dev import demo, soak

OUT = os.path.join(ROOT, 'bench', 'soak.json')


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench.soak', description=__doc__.split('\n')[0])
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--faults', type=int, default=100)
    ap.add_argument('--period', type=int, default=50, help='sampling period in ms (50)')
    ap.add_argument('--heap', default=soak.HEAP, help='MicroPython heap cap (%(default)s)')
    ap.add_argument('--ladder', action='store_true',
                    help='the board with the recovery ladder (modemkit.ladder)')
    ap.add_argument('--out', default=OUT, help='where to write the figures (%(default)s)')
    args = ap.parse_args(argv)
    if args.samples < 1 or args.faults < 0 or args.period < 10:
        ap.error('--samples >= 1, --faults >= 0, --period >= 10')
    if not demo.tool('micropython'):
        raise SystemExit('soak: the MicroPython unix port (micropython) is not installed')
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    out = []
    try:
        fig = soak.run(args.samples, args.faults, args.period, args.heap, keep=out,
                       ladder=args.ladder)
    except (soak.SoakError, demo.MissingBroker) as e:
        raise SystemExit('soak: failed: %s' % e)
    finally:
        # the app's own log, for a look at what a fault did (build/, not kept in git)
        os.makedirs(common.BUILD, exist_ok=True)
        with open(os.path.join(common.BUILD, 'soak-app.log'), 'w') as f:
            f.write('\n'.join(out) + '\n')
    method = dict(fig)
    method.update(
        app='apps/telemetry on the MicroPython unix port (heap %s, code in ROM), QoS 1, '
            'window 2, ack_timeout_ms 10000, backoff_max_ms 3000%s'
            % (fig['heap'], ', recovery ladder (2, 2, 2)' if fig['ladder'] else ''),
        driver='modemkit.quectel over a pty to the emulator (mktools.dev.faultsim, unpaced), '
               'mosquitto on 127.0.0.1 with persistent sessions',
        counted_by='an independent paho-mqtt subscriber (QoS 1, persistent session): lost = '
                   'sequence numbers 1..N never received; duplicates = messages received '
                   'again (device resends and broker redeliveries alike)',
        faults_how='round-robin over %s, spread over the sampling time, each after the app '
                   'recovered from the one before' % ', '.join(soak.KINDS))
    results = {
        'soak_lost.quectel': {'value': fig['lost'], 'unit': 'samples', 'method': method},
        'soak_duplicates.quectel': {'value': fig['duplicates'], 'unit': 'messages',
                                    'method': {'see': 'soak_lost.quectel'}},
        'soak_garbled_arrivals.quectel': {
            'value': fig['garbled_arrivals'], 'unit': 'messages',
            'method': {'what': 'samples that reached the subscriber with bytes garbled on the '
                               'serial line inside AT+QISEND data (unreadable, or unlike the '
                               'first copy of their number); nothing on a UART checks them',
                       'first': fig['garbled_first']}},
        'soak_faults.quectel': {'value': fig['faults'], 'unit': 'faults',
                                'method': {'by_kind': fig['faults_by_kind']}},
        'soak_wall_s.quectel': {'value': fig['wall_s'], 'unit': 's',
                                'method': {'samples': fig['samples'],
                                           'period_ms': fig['period_ms']}},
    }
    doc = {'results': results, 'missing': {}, 'meta': {
        'command': 'python -m bench.soak ' + ' '.join(argv if argv is not None else sys.argv[1:]),
        'started_utc': started.strftime('%Y-%m-%dT%H:%M:%SZ'), 'wall_s': fig['wall_s'],
        'git': bench_run._git(),
        'machine': {'cpus': os.cpu_count(), 'platform': platform.platform(),
                    'load_avg_before': [round(x, 2) for x in load_before],
                    'load_avg_after': [round(x, 2) for x in os.getloadavg()]},
        'cpython': platform.python_version(), 'micropython': common.micropython_info(),
        'mosquitto': bench_run._mosquitto_version()}}
    with open(args.out, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    ok = fig['lost'] == 0 and fig['received'] == args.samples and fig['faults'] == args.faults
    print('soak: %d of %d samples, %d faults (%s), %d lost, %d arrived garbled, %d duplicates, '
          '%.0f s: %s -> %s'
          % (fig['received'], fig['samples'], fig['faults'],
             ', '.join('%s %d' % kv for kv in sorted(fig['faults_by_kind'].items())),
             fig['lost'], fig['garbled_arrivals'], fig['duplicates'], fig['wall_s'],
             'PASS' if ok else 'FAIL', os.path.relpath(args.out, ROOT)), flush=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
