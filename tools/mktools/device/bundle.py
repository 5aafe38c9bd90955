"""`modemkit bundle`: what goes on the device, from an app and a board config.

Two targets, chosen from the board config (or `--target`):

- `telit`: Telit Easy Script Python 2.7 on the module itself (board `serial.port` MDM).  The
  app and the modemkit modules it imports are flattened into one directory of names of at most
  16 characters (`a_at.py`, `a_telemetry.py`...), imports rewritten (bundle_graph), each file
  checked against the Python 2.7 rules (checks/py27); plus the board config (`a_cfg.json`), a
  list of the files with their SHA-256 (`a_files.txt`) and the boot script (`a_boot.py`, from
  firmware/telit/boot.py) that AT#ESCRIPT enables.
- `micropython`: an MCU beside the modem.  Each module compiled by mpy-cross into the slot
  directory (`a/modemkit/at.mpy`, `a/telemetry.mpy`, the app's entry as `a/appmain.mpy`), the
  board config (`a/board.json`), and main.py/boot.py from firmware/mpy/; with `--out`, also a
  freeze manifest (from firmware/manifest.py) and the sources it freezes.

Every name carries a slot, `a` or `b`: deploy and upgrade write the slot that is not enabled
and switch only once every file has been read back, so the previous version stays runnable.
"""

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import mktools
from mktools.device import boardcfg
from mktools.device.bundle_graph import PACKAGE, SLOTS, BundleError, Graph, flat_names, flatten
from mktools.device.bundle_layout import (Bundle, BundleFile, TelitNames, device_config,
                                          render, slot_of)
from mktools.device.bundle_mpy import micropython, write_ota

ROOT = Path(mktools.ROOT)
TARGETS = ('telit', 'micropython')
VERSION_RE = re.compile(r'^[A-Za-z0-9._+-]{1,40}$')


# -- inputs -------------------------------------------------------------------------------------

def app_dir(text):
    """An app given as a directory or as a name under apps/."""
    path = Path(text)
    if path.is_dir():
        return path.resolve()
    named = ROOT / 'apps' / text
    if named.is_dir():
        return named
    raise BundleError(f'{text}: no such app (a directory, or a name under {ROOT / "apps"})')


def load_board(path):
    try:
        board = json.loads(Path(path).read_text())
    except OSError as e:
        raise BundleError(f'cannot read board config {path}: {e.strerror}') from None
    except ValueError as e:
        raise BundleError(f'board config {path} is not valid JSON: {e}') from None
    if not isinstance(board, dict) or not isinstance(board.get('dialect'), str):
        raise BundleError(f'board config {path}: "dialect" is missing')
    return board


def target_for(board):
    """telit for a board whose app runs on the module itself (serial port MDM/MDM2)."""
    port = board.get('serial', {}).get('port')
    return 'telit' if board['dialect'] == 'telit' and port in ('MDM', 'MDM2') else 'micropython'


def check_target(path, board, wanted, how):
    """Refuse a board whose app does not run where `wanted` (telit, micropython) puts it; `how`
    names the command's way in (e.g. '#WSCRIPT', 'mpremote')."""
    port = board.get('serial', {}).get('port', 'MDM')
    if target_for(board) == wanted:
        return
    if wanted == 'telit':
        raise BundleError(f'{path}: not a Telit on-module board (dialect {board["dialect"]}, '
                          f'serial port {port!r}); {how} needs "dialect": "telit" and serial '
                          f'port MDM or MDM2 (a MicroPython board gets apps through mpremote: '
                          f'modemkit deploy)')
    raise BundleError(f'{path}: a Telit on-module board (serial port {port!r}) runs Telit '
                      f'Python 2.7, not MicroPython: {how} cannot install on it (use '
                      f'modemkit deploy --target telit, or upgrade)')


def lib_version(lib):
    m = re.search(r"^VERSION = '([^']+)'", (Path(lib) / PACKAGE / '__init__.py').read_text(), re.M)
    return m.group(1) if m else '0'


def content_version(lib, modules, board, entry):
    """'<lib VERSION>+<8 hex>' over the sources, the board and the entry: the same content
    gives the same version in either slot, any change gives another."""
    h = hashlib.sha256()
    for mod in sorted(modules, key=lambda m: m.name):
        h.update(mod.name.encode() + b'\0' + mod.source.encode() + b'\0')
    h.update(json.dumps(board, sort_keys=True).encode() + entry.encode())
    return f'{lib_version(lib)}+{h.hexdigest()[:8]}'


# -- building -----------------------------------------------------------------------------------

@dataclass
class Options:
    """What a bundle is built from (the CLI's options)."""

    app: Path
    board: dict
    target: str = ''
    slot: str = 'a'
    version: str = ''
    entry: str = 'main'
    previous: str = ''
    max_tries: int = 3
    healthy_s: float = 120
    crash_delay_s: float = 10
    march: str = ''
    lib: Path = ROOT / 'lib'
    firmware: Path = ROOT / 'firmware'
    check: bool = True


def build(opts):
    """The Bundle `opts` describe; BundleError says what is wrong."""
    target = opts.target or target_for(opts.board)
    if target not in TARGETS:
        raise BundleError(f'unknown target {target!r} (one of {", ".join(TARGETS)})')
    if opts.slot not in SLOTS:
        raise BundleError(f'slot must be one of {", ".join(SLOTS)}')
    graph = Graph(opts.lib, opts.app, target)
    if graph.module(opts.entry) is None:
        raise BundleError(f'{opts.app}: no entry module {opts.entry}.py')
    # the dialect, and its bring-up steps (Modem.UP), which it names only as data
    dialect = f'{PACKAGE}.{opts.board["dialect"]}'
    wanted = {dialect, dialect + '_up'} | service_backends(opts.board)
    # MicroPython imports modemkit.x through the package, so its __init__ goes along
    roots = [opts.entry] + ([PACKAGE] if target == 'micropython' else [])
    modules = graph.walk(roots, wanted)
    version = opts.version or content_version(opts.lib, modules, opts.board, opts.entry)
    if not VERSION_RE.match(version):
        raise BundleError(f'version {version!r}: use letters, digits and ._+- (at most 40)')
    bundle = Bundle(target, opts.slot, version, opts.app.name, opts.entry, opts.board)
    if target == 'telit':
        _telit(bundle, graph, modules, opts)
    else:
        micropython(bundle, modules, opts)
    return bundle


def service_backends(board):
    """The backend modules the board's service sections pick beyond the pure-Python default
    ("http": "native" on a Telit board: modemkit.http_telit), which the app names only as data."""
    cfg = board.get('http')
    name = cfg.get('backend') if isinstance(cfg, dict) else cfg
    if name == 'native':
        name = board['dialect']
    return {f'{PACKAGE}.http_{name}'} if name and name != 'py' else set()


def check_script_name(name):
    """A script name the module's flat store holds: 1-16 characters, no path (the boot
    script enables it with AT#ESCRIPT); '' is no script."""
    if name and not (len(name) <= 16 and re.fullmatch(r'[A-Za-z0-9_.-]+', name)
                     and '..' not in name):
        raise BundleError(f'script name {name!r}: the module\'s files have flat names of at most '
                          f'16 letters, digits and ._- (no path)')


def telit_boot(opts, names, version, entry_stem, previous):
    """The boot script of one slot (firmware/telit/boot.py with its settings)."""
    check_script_name(previous)
    return render(opts.firmware / 'telit' / 'boot.py', {
        'SLOT': names.slot, 'VERSION': version, 'ENTRY': entry_stem, 'CONFIG': names.config,
        'PREV_SCRIPT': previous, 'PREV_SLOT': slot_of(previous), 'MAX_TRIES': opts.max_tries,
        'HEALTHY_S': opts.healthy_s, 'CRASH_DELAY_S': opts.crash_delay_s}).encode()


def with_previous(bundle, opts, previous):
    """The same Telit bundle with a boot script that falls back to `previous` (upgrade renders
    one per module: each may be coming from a different script)."""
    names = TelitNames(bundle.slot)
    files = [f for f in bundle.files if f.name not in (names.boot, names.listing)]
    boot = BundleFile(names.boot, telit_boot(opts, names, bundle.version, bundle.entry_module,
                                             previous), 'switch', 'firmware/telit/boot.py')
    return Bundle(bundle.target, bundle.slot, bundle.version, bundle.app, bundle.entry,
                  bundle.board, files + [_listing(names, bundle.version, files + [boot]), boot],
                  bundle.boot, previous, bundle.entry_module)


def _listing(names, version, files):
    lines = [f'modemkit {version}\n'] + [f'{f.sha256} {f.size} {f.name}\n' for f in files]
    return BundleFile(names.listing, ''.join(lines).encode(), 'app', 'file list')


def _telit(bundle, graph, modules, opts):
    from mktools.checks.py27 import check_source
    names = TelitNames(opts.slot)
    stems = flat_names(opts.slot, modules)
    for mod in modules:
        text = flatten(mod, stems, graph)
        name = f'{stems[mod.name]}.py'
        if opts.check:
            problems = check_source(text, f'{name} (from {mod.path})')
            if problems:
                raise BundleError('not valid for Telit Python 2.7:\n  ' + '\n  '.join(problems))
        bundle.files.append(BundleFile(name, text.encode('utf-8'), 'app', str(mod.path)))
    config = json.dumps(device_config(bundle, opts), separators=(',', ':'), sort_keys=True).encode()
    bundle.files.append(BundleFile(names.config, config, 'app', 'board config'))
    bundle.entry_module = stems[opts.entry]
    boot = BundleFile(names.boot, telit_boot(opts, names, bundle.version, bundle.entry_module,
                                             opts.previous), 'switch', 'firmware/telit/boot.py')
    bundle.files.append(_listing(names, bundle.version, bundle.files + [boot]))
    bundle.files.append(boot)
    bundle.boot = names.boot
    bundle.previous = opts.previous


# -- CLI ----------------------------------------------------------------------------------------

def add_build_options(p, slot_choice=True, target_choice=True):
    """The options every command that builds a bundle takes (bundle, deploy, upgrade); without
    target_choice (upgrade: Telit only) no --target and no MicroPython options."""
    p.add_argument('app', help='the app: a directory, or a name under apps/ (e.g. telemetry)')
    p.add_argument('--board', required=True, metavar='FILE',
                   help='board config (boardcfg/*.json): dialect, serial port, APN, MQTT...')
    if target_choice:
        p.add_argument('--target', choices=TARGETS,
                       help='telit (on-module Python) or micropython (an MCU beside the modem); '
                            'default: telit when the board\'s serial port is MDM, else '
                            'micropython')
    p.add_argument('--entry', default='main', metavar='MODULE',
                   help='the app module whose main(config_path) starts it (default: main)')
    p.add_argument('--version', metavar='TEXT',
                   help='version written into the bundle (default: modemkit\'s VERSION + a hash '
                        'of the sources, so every change gets a new one)')
    if slot_choice:
        p.add_argument('--slot', choices=SLOTS,
                       help='slot to fill (default: bundle a; deploy/upgrade: the one not '
                            'enabled)')
    p.add_argument('--max-tries', type=int, default=3, metavar='N',
                   help='Telit boot script: starts that never become healthy before falling '
                        'back to the previous script (default 3)')
    p.add_argument('--healthy-s', type=float, default=120, metavar='S',
                   help='Telit boot script: seconds of running (and using MDM) that make a '
                        'start healthy (default 120)')
    p.add_argument('--crash-delay-s', type=float, default=10, metavar='S',
                   help='seconds between a crash and the reboot that retries (default 10)')
    if target_choice:
        p.add_argument('--march', metavar='ARCH',
                       help='MicroPython: mpy-cross -march (e.g. armv6m) for native code; '
                            'default: bytecode only')
    p.add_argument('--no-py27-check', dest='check', action='store_false',
                   help='Telit: skip the Python 2.7 check of the flattened files')


def options_from(args, slot='a', previous=''):
    """Options from parsed arguments; the board config is checked against the schema first."""
    return Options(app=app_dir(args.app), board=boardcfg.load(args.board),
                   target=getattr(args, 'target', None) or '',
                   slot=getattr(args, 'slot', None) or slot, version=args.version or '',
                   entry=args.entry, previous=previous, max_tries=args.max_tries,
                   healthy_s=args.healthy_s, crash_delay_s=args.crash_delay_s,
                   march=getattr(args, 'march', None) or '', check=args.check)


def register(commands):
    """Add `modemkit bundle` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'bundle', help='build what goes on a device from an app and a board config',
        description='Build what goes on the device from an app and a board config: flat, '
                    'import-rewritten Python 2.7 files and a boot script for a Telit module, '
                    'or mpy-cross output, main.py/boot.py and a freeze manifest for MicroPython.')
    add_build_options(p)
    p.add_argument('--previous', default='', metavar='SCRIPT',
                   help='Telit: the script the boot script falls back to after repeated crashes '
                        '(deploy and upgrade fill it in from AT#ESCRIPT?)')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='write manifest.json and device/ here (replaced if it exists)')
    p.add_argument('--ota', action='store_true',
                   help='MicroPython: also write DIR/ota/, what a web server serves for an '
                        'over-the-air update (modemkit.ota): manifest.json and the slot\'s '
                        'files beside it')
    p.set_defaults(run=run, parser=p)
    return p


def run(args, env=None):
    """`modemkit bundle` with parsed `args`; returns the exit status."""
    try:
        bundle = build(options_from(args, previous=args.previous))
        bundle.write(args.out)
        ota = write_ota(bundle, Path(args.out) / 'ota') if args.ota else None
    except BundleError as e:
        print(f'modemkit bundle: {e}', file=sys.stderr)
        return mktools.BAD_INPUT
    for f in bundle.files:
        print(f'  {f.name:<28} {f.size:>8} B  {f.sha256[:16]}  {f.origin}')
    print(f'{bundle.target} bundle of {bundle.app} {bundle.version}, slot {bundle.slot}: '
          f'{len(bundle.files)} files, {bundle.total} bytes -> {os.path.abspath(args.out)}')
    if ota:
        print(f'OTA update {ota["version"]}: {len(ota["files"])} files, {ota["total"]} bytes '
              f'-> {os.path.abspath(args.out)}/ota/manifest.json')
    return 0


def main(argv=None, env=None):
    """`modemkit bundle ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['bundle'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
