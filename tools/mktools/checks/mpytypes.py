"""On-target code against MicroPython's published stubs (the micropython-stubs project's
packages: micropython-stdlib-stubs and a port's, e.g. micropython-rp2-stubs): mypy reports a
module, function or builtin name that MicroPython does not have before a device finds it.

    python -m mktools.checks.mpytypes [FILE ...]      (default: what runs on MicroPython)

The code is untyped and portable, so most of what mypy infers about it is noise; what counts
here is only what the stubs decide: a name that does not exist (`IOError`), a module attribute
MicroPython lacks (`time.perf_counter`), an import no MicroPython port has.  A line that guards
such a name on purpose (e.g. `try: IOError except NameError:`) says so with
`# type: ignore[name-defined]`.
"""
import os
import re
import subprocess
import sys
import tempfile
from importlib import metadata

from mktools import ROOT

PORT_STUBS = 'micropython-rp2-stubs'
# Modules that exist on the other targets only (Telit's Python 2.7, CPython), imported behind
# a platform test.
OTHER_TARGETS = {'GPIO', 'MOD', 'MDM', 'MDM2', 'SER', 'SER2', 'sys.implementation'}
# Files that never run on MicroPython (the other platform layers, the tests' fake UART).
NOT_ON_MICROPYTHON = {'port_cpy.py', 'port_telit.py', 'ticks.py', 'fakeuart.py'}
COUNTS = re.compile(r'\[(name-defined|import-not-found)\]$|Module ("[^"]+" )?has no attribute')


class StubsMissing(RuntimeError):
    pass


def micropython_files():
    """Groups of files checked together: lib/modemkit's MicroPython files, then each app (two
    apps' main.py cannot share one mypy run)."""
    lib = os.path.join(ROOT, 'lib', 'modemkit')
    groups = [[os.path.join(lib, f) for f in sorted(os.listdir(lib))
               if f.endswith('.py') and f not in NOT_ON_MICROPYTHON]]
    for app in ('telemetry', 'datalogger'):
        d = os.path.join(ROOT, 'apps', app)
        groups.append([os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith('.py')])
    return groups


def _top_levels(dist):
    names = set()
    for f in dist.files or ():
        first = f.parts[0]
        if not first.endswith(('.dist-info', '.egg-info')) and first != 'stdlib':
            names.add(first)
    return names


def stub_dirs(work):
    """(typeshed dir, MYPYPATH dir): MicroPython's stdlib as mypy's typeshed, the port's
    modules (machine, rp2, time...) and their shared helpers linked into `work`."""
    try:
        std = metadata.distribution('micropython-stdlib-stubs')
        port = metadata.distribution(PORT_STUBS)
    except metadata.PackageNotFoundError as e:
        raise StubsMissing(f'{e.args[0]} is not installed (pip install {PORT_STUBS})') from None
    typeshed = str(std.locate_file(''))
    for dist in (std, port):
        for name in _top_levels(dist):
            src = str(dist.locate_file(name))
            if os.path.exists(src) and not os.path.exists(os.path.join(work, name)):
                os.symlink(src, os.path.join(work, name))
    return typeshed, work


def check(groups=None):
    """The problems that count, one line each ('path:line: error: ...'), relative to ROOT."""
    found = []
    with tempfile.TemporaryDirectory() as work:
        typeshed, path = stub_dirs(work)
        for files in groups or micropython_files():
            found += _mypy(files, typeshed, path)
    return found


def _mypy(files, typeshed, path):
    here = os.path.dirname(files[0])
    env = dict(os.environ, MYPYPATH=os.pathsep.join([path, os.path.join(ROOT, 'lib'), here]))
    r = subprocess.run(
        [sys.executable, '-m', 'mypy', '--custom-typeshed-dir', typeshed,
         '--check-untyped-defs', '--follow-imports=silent', '--no-error-summary',
         '--no-incremental', '--cache-dir', os.devnull, '--show-error-codes',
         '--python-version', '3.11'] + files,
        capture_output=True, text=True, cwd=ROOT, env=env)
    if r.returncode not in (0, 1):
        raise RuntimeError(f'mypy failed: {(r.stderr or r.stdout).strip()[-500:]}')
    found = []
    mine = {os.path.realpath(f) for f in files}
    for line in r.stdout.splitlines():
        where = os.path.realpath(os.path.join(ROOT, line.split(':', 1)[0]))
        if where not in mine or not COUNTS.search(line):
            continue            # the stubs' own complaints, or inference noise
        module = re.search(r'module named "([^"]+)"', line)
        if module and module.group(1).split('.')[0] in OTHER_TARGETS | {'modemkit'}:
            continue
        found.append(line)
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        found = check([[os.path.abspath(a)] for a in argv] or None)
    except StubsMissing as e:
        print(f'mpytypes: {e}', file=sys.stderr)
        return 2
    for line in found:
        print(line)
    print(f'mpytypes: {len(found)} problems' if found else 'mpytypes: ok')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
