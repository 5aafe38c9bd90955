"""What a bundle is made of: its files, the names of a slot on a Telit module's flat file system,
and the settings block of a template.  Shared by `bundle` and its MicroPython target `bundle_mpy`.
"""

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mktools.device.bundle_graph import BundleError

SETTINGS_START = '# -- settings (written by modemkit bundle) --'
SETTINGS_END = '# -- end of settings --'
MPY_ENTRY = 'appmain'


@dataclass(frozen=True)
class TelitNames:
    """The files of one slot on a Telit module's flat file system (firmware/telit/boot.py)."""

    slot: str

    @property
    def boot(self):
        return f'{self.slot}_boot.py'

    @property
    def config(self):
        return f'{self.slot}_cfg.json'

    @property
    def listing(self):
        return f'{self.slot}_files.txt'

    @property
    def state(self):
        return f'{self.slot}_state.txt'

    @property
    def boots(self):
        return f'{self.slot}_boots.txt'

    @property
    def crash(self):
        return f'{self.slot}_crash.txt'

    def owns(self, name):
        return name.startswith(f'{self.slot}_')


FAILED_FILE = 'mkfailed.txt'        # firmware/telit/boot.py: the slot last abandoned


def slot_of(script):
    """The slot of a modemkit boot script name ('b_boot.py' -> 'b'), else ''."""
    m = re.fullmatch(r'([a-z])_boot\.py', script or '')
    return m.group(1) if m else ''


@dataclass
class BundleFile:
    """One file for the device: its path there, its bytes, and what it is for."""

    name: str
    data: bytes
    role: str = 'app'           # 'app': written first; 'switch': written last (enables it)
    origin: str = ''

    @property
    def size(self):
        return len(self.data)

    @property
    def sha256(self):
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Bundle:
    target: str
    slot: str
    version: str
    app: str
    entry: str
    board: dict
    files: list = field(default_factory=list)
    boot: str = ''              # Telit: the script AT#ESCRIPT enables; MicroPython: main.py
    previous: str = ''          # the script to fall back to (Telit)
    entry_module: str = ''      # the entry as the device imports it ('a_main', 'appmain')
    freeze: dict = field(default_factory=dict)      # MicroPython: freeze-dir path -> bytes
    freeze_manifest: str = ''

    @property
    def total(self):
        return sum(f.size for f in self.files)

    def file(self, name):
        return next(f for f in self.files if f.name == name)

    def manifest(self):
        return {'format': 1, 'target': self.target, 'version': self.version, 'slot': self.slot,
                'app': self.app, 'entry': self.entry, 'boot': self.boot,
                'previous': self.previous, 'board': self.board.get('name', ''),
                'files': [{'name': f.name, 'size': f.size, 'sha256': f.sha256, 'role': f.role}
                          for f in self.files]}

    def write(self, out):
        """The bundle on disk: manifest.json, device/ (what goes on the device) and, for
        MicroPython, the freeze manifest and its sources."""
        out = Path(out)
        replaceable(out)
        if out.exists():
            shutil.rmtree(out)
        (out / 'device').mkdir(parents=True)
        for f in self.files:
            path = out / 'device' / f.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.data)
        for name, data in self.freeze.items():
            path = out / 'freeze' / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if self.freeze_manifest:
            (out / 'manifest.py').write_text(self.freeze_manifest)
        (out / 'manifest.json').write_text(json.dumps(self.manifest(), indent=1) + '\n')


def replaceable(out):
    """Refuse an output path whose replacing would write or delete elsewhere: a symbolic link
    (the files would land where it points), something not a directory, or a directory with
    other things in it than an earlier bundle (`--out .` must not empty the working
    directory)."""
    if out.is_symlink():
        raise BundleError(f'{out}: is a symbolic link; give the directory itself')
    if not out.exists():
        return
    if not out.is_dir():
        raise BundleError(f'{out}: exists and is not a directory')
    if any(out.iterdir()) and not (out / 'manifest.json').is_file():
        raise BundleError(f'{out}: not empty and not an earlier bundle (no manifest.json); '
                          f'give a new or empty directory')


def render(template, values):
    """`template`'s text with its settings block set to `values` (each a Python literal)."""
    text = Path(template).read_text()
    try:
        head, rest = text.split(SETTINGS_START + '\n', 1)
        block, tail = rest.split(SETTINGS_END, 1)
    except ValueError:
        raise BundleError(f'{template}: no settings block') from None
    keys = [line.split('=', 1)[0].strip() for line in block.splitlines() if '=' in line]
    if sorted(keys) != sorted(values):
        raise BundleError(f'{template}: settings {keys} do not match {sorted(values)}')
    lines = ''.join(f'{k} = {values[k]!r}\n' for k in keys)
    return f'{head}{SETTINGS_START}\n{lines}{SETTINGS_END}{tail}'


def device_config(bundle, opts):
    """The board config the app reads on the device, plus what it was bundled as: an app can
    report cfg['bundle']['version'] (e.g. over MQTT, which `modemkit upgrade --confirm mqtt`
    waits for)."""
    return {**opts.board, 'bundle': {'version': bundle.version, 'slot': bundle.slot,
                                     'app': bundle.app}}
