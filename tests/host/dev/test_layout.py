"""The tree says the architecture: imports between the project's own modules form no circle, the
emulator's dialect folders import its core and never each other, on-target code imports nothing
from tools/, and no folder grows past about 15 modules."""

import ast
import itertools
import os

from mktools import ROOT

PACKAGES = (('tools', 'mktools'), ('lib', 'modemkit'))
MAX_MODULES = 16            # "about 15": a folder this full wants splitting by purpose
DIALECTS = ('quectel', 'telit', 'wavecom')


def modules():
    """{dotted name: path} of every module of mktools and modemkit."""
    found = {}
    for top, pkg in PACKAGES:
        base = os.path.join(ROOT, top)
        for dirpath, dirs, files in os.walk(os.path.join(base, pkg)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            for f in files:
                if f.endswith('.py'):
                    rel = os.path.relpath(os.path.join(dirpath, f), base)[:-3]
                    name = rel.replace(os.sep, '.')
                    found[name[:-len('.__init__')] if name.endswith('__init__') else name] = \
                        os.path.join(dirpath, f)
    return found


def imports_of(name, path, known):
    """The project modules `name` imports, at any depth of its code (lazy imports included)."""
    is_pkg = path.endswith('__init__.py')
    out = set()
    for node in ast.walk(ast.parse(open(path, encoding='utf-8').read(), path)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = name.split('.')
                parts = parts[:len(parts) - node.level + (1 if is_pkg else 0)]
                base = '.'.join(parts + ([base] if base else []))
            targets = [base + '.' + a.name if base + '.' + a.name in known else base
                       for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def graph():
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_no_import_circle():
    g = graph()
    state, stack, circles = {}, [], []

    def visit(n):
        state[n] = 'open'
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 'open':
                circles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 'done'

    for n in sorted(g):
        if n not in state:
            visit(n)
    assert circles == [], 'import circles: ' + '; '.join(' -> '.join(c) for c in circles)


def test_emulator_dialects_import_the_core_never_each_other():
    g = graph()
    for name, deps in g.items():
        for dialect in DIALECTS:
            if name.startswith('mktools.sim.%s.' % dialect):
                others = [d for d in deps if d.startswith('mktools.sim.')
                          and not d.startswith(('mktools.sim.core', 'mktools.sim.%s' % dialect))
                          and d != 'mktools.sim']
                assert others == [], '%s imports %s' % (name, others)
        if name.startswith('mktools.sim.core'):
            assert not [d for d in deps if d.startswith(tuple('mktools.sim.' + x for x in DIALECTS))]


def test_on_target_code_imports_nothing_from_tools():
    on_target = [name for name in graph() if name.startswith('modemkit')]
    g = graph()
    for name in on_target:
        assert not [d for d in g[name] if d.startswith('mktools')], name
    for top in ('apps', 'firmware'):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith('.py'):
                    tree = ast.parse(open(os.path.join(dirpath, f), encoding='utf-8').read())
                    names = itertools.chain.from_iterable(
                        [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or '']
                        for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
                    assert not [n for n in names if n.split('.')[0] == 'mktools'], f


def test_no_folder_holds_more_than_about_15_modules():
    for top in ('tools/mktools', 'lib/modemkit'):
        for dirpath, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d != '__pycache__']
            count = len([f for f in files if f.endswith('.py') and f != '__init__.py'])
            if top == 'lib/modemkit':
                continue    # flat by design: Telit's file system is flat (DESIGN, "Folders")
            assert count <= MAX_MODULES, '%s holds %d modules' % (dirpath, count)
