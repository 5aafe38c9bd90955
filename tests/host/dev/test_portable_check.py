"""The builtins check: a name one of a file's interpreters lacks is refused, with file and line,
on error paths too; the port layer and single-interpreter files are judged by their own
interpreter; the lists match the interpreters installed here."""
import subprocess
import sys

import pytest

from mktools import find_python27
from mktools.checks.portable import MISSING, check_builtins, interpreters
from mktools.dev import testall

LIB = 'lib/modemkit/x.py'


def test_ioerror_on_an_error_path_is_refused_with_file_and_line():
    src = "def f():\n    try:\n        open('x')\n    except (IOError, OSError):\n        pass\n"
    assert check_builtins(src, LIB) == [
        'lib/modemkit/x.py:4: `IOError` is not a builtin on micropython: settle it in the port '
        'layer (lib/modemkit/port*.py)']


@pytest.mark.parametrize('src', [
    "x = unicode(b)\n", "raise TimeoutError()\n", "n = long(3)\n", "e = FileNotFoundError\n",
    "for i in xrange(3):\n    pass\n"])
def test_names_missing_somewhere_are_refused(src):
    assert check_builtins(src, LIB)


@pytest.mark.parametrize('src', [
    "x = obj.IOError\n",                            # an attribute, not the builtin
    "f(unicode=1)\n",                               # a keyword argument
    "IOError = OSError\nexcept_ = IOError\n",       # the file settles the name itself
    "from modemkit.port import FileError\ntry:\n    pass\nexcept FileError:\n    pass\n",
    "# except IOError in a comment\ns = 'IOError'\n",
    "def f(file):\n    return file\n",
])
def test_what_is_not_a_builtin_use_passes(src):
    assert check_builtins(src, LIB) == []


def test_each_file_is_judged_by_the_interpreters_that_run_it():
    assert interpreters('lib/modemkit/at.py') == ('micropython', 'py27', 'cpython')
    assert interpreters('apps/telemetry/main.py') == ('micropython', 'py27', 'cpython')
    assert interpreters('lib/modemkit/port_telit.py') == ('py27',)
    assert interpreters('firmware/telit/boot.py') == ('py27',)
    assert interpreters('firmware/mpy/main.py') == ('micropython',)
    src = "try:\n    pass\nexcept (IOError, OSError):\n    pass\n"
    assert check_builtins(src, 'lib/modemkit/port_telit.py') == []
    assert check_builtins(src, 'firmware/telit/boot.py') == []
    assert check_builtins(src, 'lib/modemkit/port_mpy.py')


DIR_BUILTINS = ("try:\n    import builtins as b\nexcept ImportError:\n"
                "    import __builtin__ as b\nprint(' '.join(dir(b)))")


def _builtins(cmd):
    out = subprocess.run(cmd + ['-c', DIR_BUILTINS], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return set(out.split())


def test_the_lists_cover_the_interpreters_installed_here():
    have = {'cpython': _builtins([sys.executable]),
            'micropython': _builtins([testall._tool('micropython')])}
    py27, _ = find_python27()
    if py27:
        have['py27'] = _builtins([py27, '-E', '-s'])
    union = set().union(*have.values())
    for name, names in have.items():
        lacking = {n for n in union - names if not n.startswith('_')
                   and n not in ('True', 'False', 'None', 'copyright', 'credits', 'license',
                                 'exit', 'quit', 'help', 'breakpoint', 'ViperTypeError')}
        assert lacking <= MISSING[name], (name, sorted(lacking - MISSING[name]))


def test_the_readme_lists_every_standard_module_the_on_module_code_imports():
    import ast
    import glob
    import os
    from mktools import ROOT
    files = [f for f in glob.glob(os.path.join(ROOT, 'lib', 'modemkit', '*.py'))
             if interpreters(os.path.relpath(f, ROOT)) != ('micropython',)
             and interpreters(os.path.relpath(f, ROOT)) != ('cpython',)]
    files += glob.glob(os.path.join(ROOT, 'apps', '*', '*.py'))
    files += glob.glob(os.path.join(ROOT, 'firmware', 'telit', '*.py'))
    # Telit's built-ins; MicroPython's, imported only where a MicroPython sensor kind is used
    local = {'modemkit', 'MDM', 'MDM2', 'MOD', 'GPIO', 'SER', 'SER2', 'machine', 'micropython'}
    local.update(os.path.basename(f)[:-3]
                 for f in glob.glob(os.path.join(ROOT, 'apps', '*', '*.py')))
    used = set()
    for f in files:
        for n in ast.walk(ast.parse(open(f, encoding='utf-8').read())):
            if isinstance(n, ast.Import):
                used.update(a.name.split('.')[0] for a in n.names)
            elif isinstance(n, ast.ImportFrom) and not n.level:
                used.add(n.module.split('.')[0])
    readme = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
    section = readme[readme.index("What the on-module code needs from the module's Python 2.7"):]
    section = section[:section.index('\n\n')]
    assert sorted(m for m in used - local if '`%s`' % m not in section) == []
