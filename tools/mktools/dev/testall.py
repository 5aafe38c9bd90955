"""Run every test on every interpreter modemkit claims, and summarise per interpreter.

    python -m mktools.dev.testall [--heap 64K] [--only cpython,micropython,py27-syntax,mpy-cross]

- mpy-cross: compiles every on-target file (lib/, apps/, tests/core/) into build/mpy/;
- micropython: the portable tests from build/mpy on the real MicroPython unix port, one process
  per test module, under a hard heap cap (`-X heapsize`), with build/mpy in a ROM filesystem
  executed in place outside the heap, as a device runs frozen or ROMFS code (mktools.dev.romrun; the
  plain unix port would load the bytecode into the heap it caps);
- py27-syntax: the Python 2.7 check of lib/, apps/ and tests/core/;
- cpython: pytest over tests/ (portable and host tests).
The last lines are one summary per interpreter, 'NAME: N passed, N failed[, N skipped]'; the exit
status is 1 if anything failed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

from mktools import ROOT
from mktools.dev import romrun

ON_TARGET = ('lib', 'apps', 'tests/core')
BUILD = os.path.join(ROOT, 'build')
MPY_TREE = os.path.join(BUILD, 'mpy')
SUMMARY = re.compile(r'(\d+) passed, (\d+) failed(?:, (\d+) skipped)?')
MODULE_TIMEOUT_S = 300


class Result:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0

    def line(self):
        s = '%s: %d passed, %d failed' % (self.name, self.passed, self.failed)
        return s + (', %d skipped' % self.skipped if self.skipped else '')


def _tool(name):
    """A console script of this virtual environment (or PATH)."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def on_target_files():
    for top in ON_TARGET:
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
        cmd = romrun.command(heap, module='run_portable', args=['--root', '/rom', mod],
                             rom=[MPY_TREE, 'tests/run_portable.py'], lib=False)
        try:
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                               timeout=MODULE_TIMEOUT_S, env=romrun.child_env())
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
            print('--- micropython %s (heap %s, code in ROM) ---\n%s' % (mod, heap, out.rstrip()))
        else:
            print('micropython %-24s heap %s, code in ROM  %s' % (mod, heap, m.group(0)))
    return res


def run_py27():
    res = Result('py27-syntax')
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    from mktools.checks.py27 import check_source
    for rel in on_target_files():
        with open(os.path.join(ROOT, rel), encoding='utf-8') as f:
            problems = check_source(f.read(), rel)
        if problems:
            res.failed += 1
            print('\n'.join(problems))
        else:
            res.passed += 1
    return res


def run_pytest(extra):
    res = Result('cpython')
    os.makedirs(BUILD, exist_ok=True)
    xml = os.path.join(BUILD, 'junit-cpython.xml')
    if os.path.exists(xml):
        os.remove(xml)
    cmd = [sys.executable, '-m', 'pytest', '-q', '--junitxml', xml] + extra
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
    ap.add_argument('--only', default='', help='comma-separated subset of the four runs')
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
    if wanted('py27-syntax'):
        results.append(run_py27())
    if wanted('cpython'):
        results.insert(0, run_pytest(args.pytest_args))
    print()
    for r in results:
        print(r.line())
    return 1 if any(r.failed for r in results) or not all(r.passed for r in results) else 0


if __name__ == '__main__':
    sys.exit(main())
