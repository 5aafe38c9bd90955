"""Python 2.7 check for on-target code (Telit's on-module Python is 2.7): fast, and it needs no
2.7 interpreter; `make test` also runs the code on a real one (mktools.dev.testall, line py27).

Each file must be ASCII (2.7 refuses a file with other bytes and no coding line, PEP 263; and
ASCII keeps bundles small), must parse with lib2to3's Python 2 grammar (print as a statement:
so `print(a, end='')` fails) and must not contain what that grammar still tolerates but Python
2.7 rejects or runs differently:
  syntax:    f-strings, `nonlocal`, keyword-only parameters, annotations, `yield from`,
             `async`/`await`, walrus, starred assignment, `raise ... from ...`, digit separators
  semantics: `return <value>` in a generator (a SyntaxError on 2.7), `print` with several
             arguments (prints a tuple on 2.7), indexing a bytes or memoryview value with a
             single index (an int on 3.x, a 1-character str on 2.7)

    python -m mktools.checks.py27 lib apps tests/core
prints one line per problem and a summary 'N passed, N failed' (files), exit 1 on failure.
"""
import os
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter('ignore')          # lib2to3 is deprecated in 3.11 but still shipped
    try:
        from lib2to3 import pygram, pytree
        from lib2to3.pgen2 import driver, token, parse
    except ImportError:                      # Python >= 3.13: the maintained fork
        from fissix import pygram, pytree
        from fissix.pgen2 import driver, token, parse

SYMS = pygram.python_symbols
_DRIVER = driver.Driver(pygram.python_grammar, convert=pytree.convert)


def leaves(node):
    if isinstance(node, pytree.Leaf):
        yield node
    else:
        for child in node.children:
            yield from leaves(child)


def _walk(node):
    yield node
    for child in getattr(node, 'children', ()):
        yield from _walk(child)


def _is_generator(funcdef):
    """True if the function's own body (not nested functions) yields."""
    body = funcdef.children[-1]
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in (SYMS.funcdef, SYMS.classdef, SYMS.lambdef):
            continue
        if n.type == SYMS.yield_expr or (isinstance(n, pytree.Leaf) and n.value == 'yield'):
            return True
        stack.extend(getattr(n, 'children', ()))
    return False


def _returns_value(funcdef):
    body = funcdef.children[-1]
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type in (SYMS.funcdef, SYMS.classdef, SYMS.lambdef):
            continue
        if n.type == SYMS.return_stmt and len(n.children) > 1:
            v = n.children[1]
            if not (isinstance(v, pytree.Leaf) and v.value == 'None'):
                return n
        stack.extend(getattr(n, 'children', ()))
    return None


def _bytes_names(tree):
    """Names assigned a bytes literal, bytes(...) or memoryview(...) anywhere in the file."""
    names = set()
    for n in _walk(tree):
        if n.type == SYMS.expr_stmt and len(n.children) == 3 and n.children[1].value == '=':
            target, value = n.children[0], n.children[2]
            if isinstance(target, pytree.Leaf) and target.type == token.NAME:
                if _is_bytes_expr(value):
                    names.add(target.value)
    return names


def _is_bytes_expr(value):
    if isinstance(value, pytree.Leaf):
        return value.type == token.STRING and value.value[:1] in 'bB'
    if value.type == SYMS.power and isinstance(value.children[0], pytree.Leaf):
        return value.children[0].value in ('bytes', 'memoryview') and len(value.children) == 2
    return False


def parse_tree(src):
    """The lib2to3 tree of src with the Python 2 grammar, None if it does not parse."""
    try:
        return _DRIVER.parse_string(src if src.endswith('\n') else src + '\n')
    except Exception:
        return None


def check_source(src, name='<src>'):
    """Problems in one file as a list of 'file:line: message' strings."""
    if not src.endswith('\n'):
        src += '\n'
    ascii_problems = []
    for i, line in enumerate(src.split('\n')):
        bad = [c for c in line if ord(c) > 127]
        if bad:
            ascii_problems.append('%s:%d: non-ASCII character %r (Python 2.7 refuses the file '
                                  'without a coding line, PEP 263): write ASCII'
                                  % (name, i + 1, bad[0]))
    try:
        tree = _DRIVER.parse_string(src)
    except (parse.ParseError, Exception) as e:   # tokenizer errors are plain exceptions
        line = getattr(e, 'context', (None, (0, 0)))[1][0] if hasattr(e, 'context') else 0
        return ascii_problems + ['%s:%s: not Python 2.7 syntax (%s)'
                                 % (name, line, str(e).splitlines()[0])]
    problems = ascii_problems

    def bad(node, msg):
        problems.append('%s:%d: %s' % (name, node.get_lineno() or 0, msg))

    for leaf in leaves(tree):
        if leaf.type == token.STRING:
            prefix = leaf.value[:leaf.value.find(leaf.value.lstrip('bBrRuUfF')[:1])]
            if 'f' in prefix.lower():
                bad(leaf, 'f-string')
        elif leaf.type == token.NUMBER and '_' in leaf.value:
            bad(leaf, 'digit separator in a number')
        elif leaf.value in ('nonlocal', 'async', 'await'):     # NAME, or ASYNC/AWAIT tokens
            bad(leaf, '`%s` is Python 3 only' % leaf.value)
        elif leaf.value == ':=':
            bad(leaf, 'walrus operator')
        elif leaf.value == '->':
            bad(leaf, 'return annotation')
    byte_names = _bytes_names(tree)
    for n in _walk(tree):
        t = n.type
        if t == SYMS.tname:
            bad(n, 'parameter annotation')
        elif t == SYMS.star_expr:
            bad(n, 'starred assignment/unpacking')
        elif t == SYMS.yield_arg:
            bad(n, '`yield from`')
        elif t == SYMS.raise_stmt and any(getattr(c, 'value', None) == 'from' for c in n.children):
            bad(n, '`raise ... from ...`')
        elif t in (SYMS.typedargslist, SYMS.varargslist):
            kids = n.children
            for i, c in enumerate(kids):
                if getattr(c, 'value', None) == '*':
                    nxt = kids[i + 1] if i + 1 < len(kids) else None
                    if nxt is None or getattr(nxt, 'value', None) == ',':
                        bad(n, 'keyword-only parameters')
                    elif any(getattr(k, 'value', None) == ',' for k in kids[i + 2:]) and \
                            not any(getattr(k, 'value', None) == '**' for k in kids[i + 2:i + 4]):
                        bad(n, 'keyword-only parameters')
        elif t == SYMS.funcdef and _is_generator(n):
            r = _returns_value(n)
            if r is not None:
                bad(r, '`return <value>` inside a generator (use raise Return(value))')
        elif t == SYMS.print_stmt:
            if sum(1 for c in n.children if getattr(c, 'value', None) == ',') or \
                    any(c.type == SYMS.atom and len(c.children) == 3 and
                        c.children[1].type == SYMS.testlist_gexp for c in n.children):
                bad(n, 'print with several arguments prints a tuple on Python 2.7')
        elif t == SYMS.power and len(n.children) >= 2:
            head, trailer = n.children[0], n.children[1]
            if (trailer.type == SYMS.trailer and trailer.children[0].value == '['
                    and trailer.children[1].type not in (SYMS.subscript, SYMS.subscriptlist)
                    and (_is_bytes_expr(head) or (isinstance(head, pytree.Leaf)
                                                  and head.value in byte_names))):
                bad(n, 'indexing bytes/memoryview gives a str on 2.7: index a bytearray')
    return problems


def iter_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                if f.endswith('.py'):
                    yield os.path.join(root, f)


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:]) or ['lib', 'apps']
    passed = failed = 0
    for path in iter_files(paths):
        with open(path, 'rb') as f:
            problems = check_source(f.read().decode('utf-8', 'replace'), path)
        if problems:
            failed += 1
            for p in problems:
                print(p)
        else:
            passed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
