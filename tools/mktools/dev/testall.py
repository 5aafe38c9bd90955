"""Run every test on every interpreter modemkit claims, and summarise per interpreter.

    python -m mktools.dev.testall [--heap 64K] [--only cpython,micropython,py27,lint,mpy-cross]

- mpy-cross: compiles every on-target file (lib/, apps/, tests/core/) into build/mpy/;
- micropython: the portable tests from build/mpy on the real MicroPython unix port, one process
  per test module, under a hard heap cap (`-X heapsize`), with build/mpy in a ROM filesystem
  executed in place outside the heap, as a device runs frozen or ROMFS code (mktools.dev.romrun; the
  plain unix port would load the bytecode into the heap it caps);
- py27: a real CPython 2.7 (Telit's on-module Python; found on PATH or under pyenv) runs the
  portable tests, one process per module, and loads every on-target module of lib/ and apps/
  from its file as `import` does, and every file of each app's Telit bundle from its flat
  directory; Telit's built-in modules (MOD, MDM...) come from the emulator's
  stand-in (mdmshim.py), so modemkit runs on its Telit port.  Then the host tests marked py27
  (pytest -m py27): the Telit telemetry app end to end on 2.7 and the boot script's paths in the
  emulator, which runs scripts under 2.7.  Without 2.7 the line says why it was skipped (the
  marked tests then run in the cpython line), and fails under CI=true;
- lint: the static checks of lib/, apps/, firmware/ and tests/core/: the Python 2.7 rules
  (ASCII, grammar; checks/py27) and builtins every interpreter running the file has
  (checks/portable), each problem as 'file:line: message';
- cpython: pytest over tests/ (portable and host tests), in a random order each run
  (pytest-randomly; the seed is printed, MODEMKIT_TEST_SEED repeats it, `-p no:randomly` turns
  it off), so that no test leans on another's leftovers.
The last lines are one summary per run, 'NAME: N passed, N failed[, N skipped]'; the exit
status is 1 if anything failed.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from mktools import ROOT, find_python27
from mktools.dev import romrun

ON_TARGET = ('lib', 'apps', 'tests/core')
LINTED = ON_TARGET + ('firmware',)
SHIM = os.path.join(ROOT, 'tools', 'mktools', 'sim', 'telit', 'mdmshim.py')
# the ports of the other interpreters: port_cpy needs time.monotonic, port_mpy `micropython`
NOT_ON_27 = ('lib/modemkit/port_cpy.py', 'lib/modemkit/port_mpy.py')
TELIT_BOARD = os.path.join('boardcfg', 'he910-onmodule.json')
BUILD = os.path.join(ROOT, 'build')
MPY_TREE = os.path.join(BUILD, 'mpy')
SUMMARY = re.compile(r'(\d+) passed, (\d+) failed(?:, (\d+) skipped)?')
MODULE_TIMEOUT_S = 300


class Result:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.absent = None          # why the whole run could not happen

    def line(self):
        if self.absent:
            return '%s: skipped (%s)' % (self.name, self.absent)
        s = '%s: %d passed, %d failed' % (self.name, self.passed, self.failed)
        return s + (', %d skipped' % self.skipped if self.skipped else '')


def _tool(name):
    """A console script of this virtual environment (or PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def on_target_files(tops=ON_TARGET):
    for top in tops:
        base = os.path.join(ROOT, top)
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            for f in sorted(files):
                if f.endswith('.py'):
                    yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def run_mpy_cross():
    res = Result('mpy-cross')
    tool = _tool('mpy-cross')
    shutil.rmtree(MPY_TREE, ignore_errors=True)
    for rel in on_target_files():
        out = os.path.join(MPY_TREE, rel[:-3] + '.mpy')
        os.makedirs(os.path.dirname(out), exist_ok=True)
        p = subprocess.run([tool, '-o', out, '-s', rel, rel], cwd=ROOT,
                           capture_output=True, text=True)
        if p.returncode == 0:
            res.passed += 1
        else:
            res.failed += 1
            print('mpy-cross: %s\n%s' % (rel, p.stderr.strip()))
    return res


# Modules that need more than the 64K cap: test_sms builds a whole modem with the SMS store's
# commands beside it, past the 620-name step of MicroPython's qstr pools (README, "Memory");
# test_fuzzfound: the Quectel, Telit and Wavecom drivers beside the MQTT and FTP clients of its
# regressions, one after another in one process.
HEAP_NEEDS = {'test_sms': '68K', 'test_fuzzfound': '80K'}


def run_micropython(heap):
    res = Result('micropython')
    mp = _tool('micropython')
    impl = subprocess.run([mp, '-c', 'import sys; print(sys.implementation.name)'],
                          capture_output=True, text=True).stdout.strip()
    if impl != 'micropython':
        print('micropython: %r is not the MicroPython unix port' % mp)
        res.failed += 1
        return res
    core = os.path.join(MPY_TREE, 'tests', 'core')
    modules = sorted(f[:-4] for f in os.listdir(core) if f.startswith('test_') and f.endswith('.mpy'))
    for mod in modules:
        cap = HEAP_NEEDS.get(mod, heap) if heap == '64K' else heap
        cmd = romrun.command(cap, module='run_portable', args=['--root', '/rom', mod],
                             rom=[MPY_TREE, 'tests/run_portable.py'], lib=False)
        _run_module(res, mod, 'heap %s, code in ROM' % cap, cmd, romrun.child_env())
    return res


def _run_module(res, label, how, cmd, env=None):
    """Run one tests/run_portable.py process and add its summary line to res."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                           timeout=MODULE_TIMEOUT_S, env=env)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace') + '\nTIMEOUT after %ds' % MODULE_TIMEOUT_S
        p = None
    m = SUMMARY.search(out.strip().splitlines()[-1] if out.strip() else '')
    ok = p is not None and p.returncode == 0 and m
    if m:
        res.passed += int(m.group(1))
        res.failed += int(m.group(2))
        res.skipped += int(m.group(3) or 0)
    if not ok:
        if not m or not int(m.group(2)):
            res.failed += 1        # crashed before its summary (e.g. MemoryError on import)
        print('--- %s %s (%s) ---\n%s' % (res.name, label, how, out.rstrip()))
    else:
        print('%s %-24s %s  %s' % (res.name, label, how, m.group(0)))


def run_py27():
    res = Result('py27')
    exe, why = find_python27()
    if exe is None:
        if os.environ.get('CI') == 'true':
            print('py27: %s; CI needs it (Telit runs Python 2.7)' % why)
            res.failed += 1
        else:
            res.absent = why
            print('py27: the Python 2.7 tests are SKIPPED: %s' % why)
        return res
    # -B: no .pyc beside the sources; -E -s: nothing from the environment or site-packages
    shim = [exe, '-B', '-E', '-s', SHIM, '--dir', ROOT, '--script', 'tests/run_portable.py', '--']
    core = os.path.join(ROOT, 'tests', 'core')
    for mod in sorted(f[:-3] for f in os.listdir(core)
                      if f.startswith('test_') and f.endswith('.py')):
        _run_module(res, mod, 'port_telit', shim + [mod])
    for rel in on_target_files(('lib', 'apps')):
        if rel in NOT_ON_27:
            continue
        folder, base = os.path.split(rel)
        name = base[:-3]
        if folder == os.path.join('lib', 'modemkit'):
            folder, name = 'lib', 'modemkit' + ('' if name == '__init__' else '.' + name)
        _run_module(res, rel, 'import', shim + ['--import', folder, name])
    _import_bundles(res, exe)
    # the host tests that run on-target code under 2.7 (marker py27): the Telit app end to end,
    # the boot script's start, crash and fall-back in the emulator
    print('py27: pytest -m py27 (on-target code under %s)' % exe)
    run_pytest([], res, 'py27')
    return res


def _import_bundles(res, exe):
    """Every app's Telit bundle (flat, import-rewritten files) loaded file by file from its
    directory alone, as the module loads it (a_boot.py runs at import: the py27 host tests
    start it)."""
    for app in sorted(os.listdir(os.path.join(ROOT, 'apps'))):
        out = os.path.join(BUILD, 'py27', app)
        shutil.rmtree(out, ignore_errors=True)
        p = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', app, '--board',
                            TELIT_BOARD, '--out', out], cwd=ROOT, capture_output=True,
                           text=True)
        if p.returncode:
            res.failed += 1
            print('--- py27 bundle of %s ---\n%s' % (app, (p.stdout + p.stderr).rstrip()))
            continue
        flat = os.path.join(out, 'device')
        shim = [exe, '-B', '-E', '-s', SHIM, '--dir', flat, '--script',
                os.path.join(ROOT, 'tests', 'run_portable.py'), '--']
        for f in sorted(os.listdir(flat)):
            if f.endswith('.py') and f != 'a_boot.py':
                _run_module(res, '%s bundle %s' % (app, f), 'import',
                            shim + ['--import', flat, f[:-3]])


def run_lint():
    res = Result('lint')
    from mktools.checks.portable import check_builtins
    from mktools.checks.py27 import check_source
    for rel in on_target_files(LINTED):
        with open(os.path.join(ROOT, rel), 'rb') as f:
            src = f.read().decode('utf-8', 'replace')
        problems = check_source(src, rel) + check_builtins(src, rel)
        if problems:
            res.failed += 1
            print('\n'.join(problems))
        else:
            res.passed += 1
    return res


def _order_seed(extra):
    """The seed of pytest-randomly's order: MODEMKIT_TEST_SEED, else a fresh one; None when
    the plugin is absent or disabled (`-p no:randomly`) or the caller gave its own seed."""
    if any('randomly' in a for a in extra):
        return None
    try:
        import pytest_randomly  # noqa: F401  (the dev extra installs it)
    except ImportError:
        return None
    env = os.environ.get('MODEMKIT_TEST_SEED', '')
    return int(env) if env.isdigit() else random.randrange(1, 2 ** 31)


def run_pytest(extra, res=None, marker=None):
    """pytest over tests/ (only the tests `marker` selects), counted into res."""
    res = res or Result('cpython')
    os.makedirs(BUILD, exist_ok=True)
    xml = os.path.join(BUILD, 'junit-%s.xml' % res.name)
    if os.path.exists(xml):
        os.remove(xml)
    cmd = [sys.executable, '-m', 'pytest', '-q', '--junitxml', xml] + extra
    if marker:
        cmd += ['-m', marker]
    seed = _order_seed(extra)
    if seed is not None:
        cmd.append('--randomly-seed=%d' % seed)
        print('%s: tests in random order (pytest-randomly); again with MODEMKIT_TEST_SEED=%d'
              % (res.name, seed))
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    if not os.path.exists(xml):
        res.failed += 1
        return res
    for suite in ET.parse(xml).getroot().iter('testsuite'):
        total = int(suite.get('tests', 0))
        failed = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
        skipped = int(suite.get('skipped', 0))
        res.passed += total - failed - skipped
        res.failed += failed
        res.skipped += skipped
    if rc not in (0, 5) and not res.failed:
        res.failed += 1            # pytest itself failed (usage error, internal error)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--heap', default='64K', help='MicroPython heap cap (default 64K)')
    ap.add_argument('--only', default='', help='comma-separated subset of the five runs')
    ap.add_argument('pytest_args', nargs='*', help='extra arguments for pytest')
    args = ap.parse_args(argv)
    only = set(filter(None, args.only.split(',')))

    def wanted(name):
        return not only or name in only

    results = []
    if wanted('mpy-cross') or wanted('micropython'):
        r = run_mpy_cross()
        if wanted('mpy-cross'):
            results.append(r)
    if wanted('micropython'):
        results.append(run_micropython(args.heap))
    if wanted('py27'):
        results.append(run_py27())
    if wanted('lint'):
        results.append(run_lint())
    if wanted('cpython'):
        # with a 2.7 here, the py27 line runs the tests marked py27 (without one, they run
        # here, their scripts under CPython 3)
        py27_here = find_python27()[0] is not None
        results.insert(0, run_pytest(args.pytest_args,
                                     marker='not py27' if py27_here else None))
    print()
    for r in results:
        print(r.line())
    ran = [r for r in results if not r.absent]
    return 1 if any(r.failed for r in ran) or not all(r.passed for r in ran) else 0


if __name__ == '__main__':
    sys.exit(main())
