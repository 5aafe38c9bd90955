"""6. Code size: mpy-cross output per on-target module, and the sum over everything the telemetry
app imports on a Quectel board.

Which modules the app imports is not guessed from the source: the app runs (a few samples, on
the MicroPython unix port through the emulated Quectel to mosquitto) and lists sys.modules;
the total is the .mpy bytes of those that came from our tree (built-in modules cost no file).
umqtt.simple's .mpy is recorded as the peer of modemkit.mqtt.
"""
import json
import os

from bench.common import BUILD, MPY_TREE, Sim, figure, run_mpy
from bench.heap import board_config

RUN_SAMPLES = 5


def telemetry_modules(ctx):
    work = os.path.join(BUILD, 'codesize')
    os.makedirs(work, exist_ok=True)
    link = os.path.join(work, 'tty')
    cfg = board_config('quectel', link, ctx.broker.port, 'codesize-%d' % os.getpid(), work)
    path = os.path.join(work, 'board.json')
    with open(path, 'w') as f:
        json.dump(cfg, f)
    sim = Sim('quectel', link)
    try:
        ok, lines, why = run_mpy('bench_telemetry', [path, RUN_SAMPLES], 1024 * 1024, 120,
                                 fail_on=('Traceback',))
    finally:
        sim.stop()
    mods = [l for l in lines if l.startswith('modules ')]
    if not ok or not mods:
        raise RuntimeError('the telemetry app did not run: %s' % why)
    return [m for m in mods[0].split()[1:] if m not in ('__main__', 'bench_telemetry')]


def mpy_path(module):
    return os.path.join(MPY_TREE, *module.split('.')) + '.mpy'


def run(ctx):
    results, missing = {}, {}
    base = {'tool': ctx.mpy_cross, 'options': 'default (bytecode, no -O, source names kept '
            'short with -s)', 'source': None}
    for module, size in sorted(ctx.mpy_sizes.items()):
        if module.startswith('umqtt'):
            name, src = 'umqtt_simple', 'PyPI micropython-umqtt.simple 1.3.4 (peer)'
        elif module.startswith('modemkit.'):
            name, src = module, 'lib/modemkit/%s.py' % module.split('.', 1)[1]
        else:
            name, src = module, 'apps/%s.py' % module.replace('.', '/')
        results['mpy_bytes.' + name] = figure(size, 'bytes', dict(base, source=src))
    try:
        mods = telemetry_modules(ctx)
    except Exception as e:
        missing['mpy_bytes.telemetry_total'] = str(e)
        return results, missing
    files = dict((m, os.path.getsize(mpy_path(m))) for m in mods if os.path.exists(mpy_path(m)))
    results['mpy_bytes.telemetry_total'] = figure(sum(files.values()), 'bytes', dict(
        base, source='every .mpy the telemetry app had loaded after %d samples on a Quectel '
                     'board (sys.modules on the MicroPython unix port)' % RUN_SAMPLES,
        modules=files, builtin_modules=sorted(m for m in mods if m not in files)))
    return results, missing
