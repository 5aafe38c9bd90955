"""A mip package index of modemkit in micropython-lib's layout, for `mip install --index URL`.

    python -m mktools.dev.mipindex OUT [--mpy-version N]

writes OUT/package/<mpy version>/<name>/<version>.json and latest.json for each package file
(`package.json` is `modemkit`, `lib/quectel.json` is `modemkit-quectel`, and so on), each
listing its files as [path, sha256 prefix] under "hashes" and the core under "deps", and the
files compiled by mpy-cross at OUT/file/<first 2 of the hash>/<hash>.  Serve OUT over HTTP and
`mip install --index http://HOST:PORT modemkit-quectel modemkit-mqtt` installs those two and the
core.  The .mpy version must be the board's (`sys.implementation._mpy & 0xff`; 6 from
MicroPython 1.19 on).
"""
import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from mktools import ROOT
from mktools.device.bundle_mpy import mpy_cross

HASH_LEN = 8        # micropython-lib's index names files by this much of their sha256


def package_files(root=ROOT):
    """The core's package.json, then each dialect's and service's lib/*.json."""
    return ['package.json'] + sorted(f'lib/{p.name}' for p in (Path(root) / 'lib').glob('*.json'))


def index_name(path):
    """The index's name of a package file: the core is `modemkit`, the others `modemkit-X`."""
    return 'modemkit' if path == 'package.json' else 'modemkit-' + Path(path).stem


def build(out, mpy_version=6, root=ROOT):
    """Write the index into `out`; returns {name: [installed path, ...]}."""
    out, root = Path(out), Path(root)
    compiler = mpy_cross()
    names = {}
    for path in package_files(root):
        pkg = json.loads((root / path).read_text())
        hashes = []
        for dest, url in pkg['urls']:
            installed = dest[:-3] + '.mpy'
            compiled = out / 'build' / installed
            compiled.parent.mkdir(parents=True, exist_ok=True)
            r = subprocess.run([compiler, '-o', str(compiled), '-s', dest,
                                str((root / path).parent / url)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode:
                raise SystemExit(f'mipindex: mpy-cross {url}: {(r.stderr or r.stdout).strip()}')
            data = compiled.read_bytes()
            short = hashlib.sha256(data).hexdigest()[:HASH_LEN]
            (out / 'file' / short[:2]).mkdir(parents=True, exist_ok=True)
            (out / 'file' / short[:2] / short).write_bytes(data)
            hashes.append([installed, short])
        entry = {'hashes': hashes, 'version': pkg['version'],
                 'deps': [] if path == 'package.json' else [['modemkit', pkg['version']]]}
        where = out / 'package' / str(mpy_version) / index_name(path)
        where.mkdir(parents=True, exist_ok=True)
        for version in (pkg['version'], 'latest'):
            (where / f'{version}.json').write_text(json.dumps(entry))
        names[index_name(path)] = [h[0] for h in hashes]
    return names


def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m mktools.dev.mipindex',
                                description=__doc__.split('\n\n')[0])
    p.add_argument('out', metavar='OUT', help='folder to write the index into')
    p.add_argument('--mpy-version', type=int, default=6, metavar='N',
                   help="the board's .mpy version (default 6)")
    args = p.parse_args(argv)
    names = build(args.out, args.mpy_version)
    for name, files in names.items():
        print(f'{name:<18} {len(files)} files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
