"""What an app needs from modemkit, and how its files become Telit's flat file system.

`Graph` finds the modules an app uses by walking its import statements (and the dotted module
paths written as strings, which `modemkit.board` hands to `__import__` to pick a dialect).
`flatten()` turns one module's source into its flat Telit form: Telit Easy Script has one flat
directory whose names are at most 16 characters (T-RUN §3.9 writes scripts with AT#WSCRIPT; the
name limit comes from the AT Commands Reference Guide that T-RUN §1.3 names), so `modemkit/at.py`
becomes `a_at.py` and every import of it is rewritten.  The rewriting works on the syntax tree
and replaces only the import statements (and dotted module strings), padding with newlines so
that every other line keeps its number: a traceback from the module still points at the right
line of the original source.
"""

import ast
import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from mktools import CommandError

PACKAGE = 'modemkit'
NAME_MAX = 16               # Telit file names, extension included
SLOTS = ('a', 'b')

# The platform layer is chosen once per target (lib/modemkit/port.py).  On Telit the choice is
# made here instead of on the module: Telit's 2.7 has no sys.implementation, but the CPython
# that runs scripts in the emulator does, and a flat file system gains nothing from shipping
# the other ports.
PLATFORM_FILES = {
    'telit': {f'{PACKAGE}.port': 'port_telit'},
    'micropython': {},
}
# Modules a target never runs (imported only on another interpreter's branch of port.py).
EXCLUDED = {
    'telit': {f'{PACKAGE}.port_telit', f'{PACKAGE}.port_cpy', f'{PACKAGE}.port_mpy'},
    'micropython': {f'{PACKAGE}.port_telit', f'{PACKAGE}.port_cpy'},
}


class BundleError(CommandError):
    """The app cannot be bundled: a missing module, a name clash, a forbidden import form."""


@dataclass
class Module:
    """One module of the bundle: `name` is dotted ('modemkit.at') or app-local ('telemetry')."""

    name: str
    path: Path
    kind: str                   # 'lib', 'init' (modemkit/__init__.py) or 'app'
    source: str
    tree: ast.Module = field(repr=False, default=None)
    deps: list = field(default_factory=list)        # names imported by statements
    soft: list = field(default_factory=list)        # names written as dotted strings
    computed: list = field(default_factory=list)    # lines building 'modemkit.' + name

    @property
    def base(self):
        """The module's own short name ('at', 'telemetry', '__init__')."""
        return '__init__' if self.kind == 'init' else self.name.rsplit('.', 1)[-1]


def _computed_import(node):
    """__import__('modemkit.' + name ...): a module path known only when it runs."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Name)
            and node.func.id == '__import__'):
        return False
    arg = node.args[0]
    while isinstance(arg, ast.BinOp):
        arg = arg.left
    return isinstance(arg, ast.Constant) and str(arg.value).startswith(PACKAGE + '.') and \
        not isinstance(node.args[0], ast.Constant)


class Graph:
    """The modules of `lib/modemkit` and of one app directory, for one target."""

    def __init__(self, lib_dir, app_dir, target):
        if target not in PLATFORM_FILES:
            raise BundleError(f'unknown target {target!r} (one of {sorted(PLATFORM_FILES)})')
        self.lib_dir = Path(lib_dir) / PACKAGE
        self.app_dir = Path(app_dir)
        self.target = target
        self._cache = {}
        if not (self.lib_dir / '__init__.py').is_file():
            raise BundleError(f'{self.lib_dir}: not the modemkit package')
        if not self.app_dir.is_dir():
            raise BundleError(f'{self.app_dir}: no such app directory')

    def lib_modules(self):
        """Names of every module in the package (what a dotted string may refer to)."""
        return {f'{PACKAGE}.{p.stem}' for p in self.lib_dir.glob('*.py') if p.stem != '__init__'}

    def module(self, name):
        """The Module called `name`, or None when it is not ours (MDM, time, machine...)."""
        if name in self._cache:
            return self._cache[name]
        found = None
        if name == PACKAGE:
            found = self._load(name, self.lib_dir / '__init__.py', 'init')
        elif name.startswith(PACKAGE + '.'):
            stem = PLATFORM_FILES[self.target].get(name, name[len(PACKAGE) + 1:])
            path = self.lib_dir / f'{stem}.py'
            if not path.is_file():
                raise BundleError(f'{name}: no such module in {self.lib_dir}')
            found = self._load(name, path, 'lib')
        elif '.' not in name and (self.app_dir / f'{name}.py').is_file():
            found = self._load(name, self.app_dir / f'{name}.py', 'app')
        self._cache[name] = found
        return found

    def _load(self, name, path, kind):
        source = path.read_text(encoding='utf-8')
        try:
            tree = ast.parse(source, str(path))
        except SyntaxError as e:
            raise BundleError(f'{path}:{e.lineno}: {e.msg}') from None
        mod = Module(name, path, kind, source, tree)
        self._scan(mod)
        return mod

    def _is_submodule(self, base):
        return (self.lib_dir / f'{base}.py').is_file() or f'{PACKAGE}.{base}' in \
            PLATFORM_FILES[self.target]

    def _scan(self, mod):
        lib = self.lib_modules() | set(PLATFORM_FILES[self.target])
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    mod.deps.append(alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    raise BundleError(f'{mod.path}:{node.lineno}: relative imports cannot be '
                                      'flattened; write "from modemkit.x import y"')
                if node.module == PACKAGE:
                    for alias in node.names:
                        mod.deps.append(f'{PACKAGE}.{alias.name}'
                                        if self._is_submodule(alias.name) else PACKAGE)
                else:
                    mod.deps.append(node.module)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value in lib:
                mod.soft.append(node.value)
            elif _computed_import(node):
                mod.computed.append(node.lineno)

    def walk(self, roots, wanted=()):
        """The modules `roots` need, in a stable order (roots first, then breadth first).

        A module named only in a string (a soft dependency) is included when it is in
        `wanted` (e.g. the board's dialect), so a Telit bundle carries one dialect, not three."""
        excluded = EXCLUDED[self.target]
        order, seen, queue = [], set(), list(roots)
        while queue:
            name = queue.pop(0)
            if name in seen or name in excluded:
                continue
            seen.add(name)
            mod = self.module(name)
            if mod is None:
                continue
            order.append(mod)
            queue.extend(mod.deps)
            queue.extend(s for s in mod.soft if s in wanted)
        return order


# -- flat names (Telit) -------------------------------------------------------------------------

def _shorten(base, room):
    """`base` cut to `room` characters, with a 2-character hash so two long names stay apart."""
    if len(base) <= room:
        return base
    tag = base64.b32encode(hashlib.sha1(base.encode()).digest()).decode().lower()[:2]
    return f'{base[:room - 3]}_{tag}'


def flat_stem(slot, mod):
    """The flat module name of `mod` in `slot`: 'a_at' for modemkit.at, 'a_mkinit' for the
    package's __init__, 'a_telemetry' for an app module."""
    room = NAME_MAX - len('.py') - len(slot) - 1
    base = 'mkinit' if mod.kind == 'init' else mod.base
    return f'{slot}_{_shorten(base, room)}'


def flat_names(slot, modules):
    """{module name: flat stem} for `modules`; a clash (an app module named like a library
    module) is an error rather than a silent overwrite on the module."""
    names, owner = {}, {}
    for mod in modules:
        stem = flat_stem(slot, mod)
        if stem in owner:
            raise BundleError(f'{mod.path} and {owner[stem].path} would both be {stem}.py on '
                              'the flat file system: rename one')
        owner[stem] = mod
        names[mod.name] = stem
    return names


# -- rewriting ----------------------------------------------------------------------------------

def _alias(name, asname):
    return f'{name} as {asname}' if asname and asname != name else name


class _Rewriter:
    def __init__(self, mod, names, graph):
        self.mod = mod
        self.names = names          # dotted or app name -> flat stem
        self.graph = graph
        self.edits = []             # (start offset, end offset, text)
        self.lines = mod.source.splitlines(keepends=True)
        self.offsets = [0]
        for line in self.lines:
            self.offsets.append(self.offsets[-1] + len(line))
        self.dotted = set()         # modemkit.x bound by "import modemkit.x"

    def _pos(self, lineno, col):
        # ast columns are UTF-8 byte offsets
        line = self.lines[lineno - 1]
        return self.offsets[lineno - 1] + len(line.encode('utf-8')[:col].decode('utf-8'))

    def _replace(self, node, text):
        start = self._pos(node.lineno, node.col_offset)
        end = self._pos(node.end_lineno, node.end_col_offset)
        # keep every later line where it was: pad a collapsed multi-line statement
        self.edits.append((start, end, text + '\n' * (node.end_lineno - node.lineno)))

    def _flat(self, name):
        stem = self.names.get(name)
        if stem is None:
            raise BundleError(f'{self.mod.path}: imports {name}, which is not in the bundle')
        return stem

    def _ours(self, name):
        return name == PACKAGE or name.startswith(PACKAGE + '.') or name in self.names

    def visit_import(self, node):
        if not any(self._ours(a.name) for a in node.names):
            return
        parts = []
        for a in node.names:
            if not self._ours(a.name):
                parts.append(f'import {_alias(a.name, a.asname)}')
            elif a.name == PACKAGE or a.asname or '.' not in a.name:
                local = a.asname or a.name
                parts.append(f'import {self._flat(a.name)} as {local}')
            else:
                # "import modemkit.x" binds modemkit; its uses are rewritten to the flat name
                self.dotted.add(a.name)
                parts.append(f'import {self._flat(a.name)}')
        self._replace(node, '; '.join(parts))

    def visit_from(self, node):
        if not self._ours(node.module):
            return
        if node.module != PACKAGE:
            names = ', '.join(_alias(a.name, a.asname) for a in node.names)
            self._replace(node, f'from {self._flat(node.module)} import {names}')
            return
        parts, from_init = [], []
        for a in node.names:
            if self.graph._is_submodule(a.name):
                parts.append(f'import {self._flat(PACKAGE + "." + a.name)} as '
                             f'{a.asname or a.name}')
            else:
                from_init.append(_alias(a.name, a.asname))
        if from_init:
            parts.append(f'from {self._flat(PACKAGE)} import {", ".join(from_init)}')
        self._replace(node, '; '.join(parts))

    def run(self):
        for node in ast.walk(self.mod.tree):
            if isinstance(node, ast.Import):
                self.visit_import(node)
            elif isinstance(node, ast.ImportFrom):
                self.visit_from(node)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value in self.names and '.' in node.value:
                # a dotted module path handed to __import__ (modemkit.board's DIALECTS)
                self._replace(node, repr(self.names[node.value]))
        if self.dotted:
            for node in ast.walk(self.mod.tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and f'{node.value.id}.{node.attr}' in self.dotted:
                    self._replace(node, self.names[f'{node.value.id}.{node.attr}'])
        text = self.mod.source
        for start, end, new in sorted(self.edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text


def flatten(mod, names, graph):
    """The source of `mod` with its imports of bundled modules rewritten to flat names."""
    if mod.computed:
        # '"modemkit." + name' is only known when it runs: no flat name can be put in its place
        raise BundleError(f'{mod.path}:{mod.computed[0]}: a module path built at run time '
                          "('modemkit.' + ...) cannot be flattened for Telit; name each "
                          "module in a literal string, as modemkit.board's DIALECTS does")
    return _Rewriter(mod, names, graph).run()
