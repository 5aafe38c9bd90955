"""Fetch the source of a MicroPython package published on PyPI as an sdist without a build
recipe (such as micropython-umqtt.simple), for tests and benchmarks that run it unmodified.

    python -m mktools.dev.vendor micropython-umqtt.simple==1.3.4 build/vendor

pip cannot install these packages (their sdists hold only the .py files), so this uses pip's own
package finder and session — the configured indexes, proxies and certificates — to download the
sdist, and unpacks its Python files below the target folder.
"""
import io
import os
import sys
import tarfile


def fetch(requirement, target):
    """Unpack `name==version` (or the newest `name`) into target; return the files written."""
    from pip._internal.commands import create_command
    name, _, version = requirement.partition('==')
    cmd = create_command('download')
    options, _ = cmd.parse_args(['--no-deps', requirement])
    with cmd.main_context():
        session = cmd.get_default_session(options)
        finder = cmd._build_package_finder(options, session, target_python=None,
                                           ignore_requires_python=True)
        cands = [c for c in finder.find_all_candidates(name)
                 if not version or str(c.version) == version]
        if not cands:
            raise SystemExit('vendor: no release of %s found' % requirement)
        best = max(cands, key=lambda c: c.version)
        data = session.get(best.link.url).content
    written = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            parts = member.name.split('/')[1:]
            if not member.isfile() or not parts or not parts[-1].endswith('.py') \
                    or '..' in parts or parts[0] == 'setup.py':
                continue
            dest = os.path.join(target, *parts)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, 'wb') as f:
                f.write(tar.extractfile(member).read())
            written.append(dest)
    return written


def ensure(requirement, target, module_path):
    """fetch() unless target/module_path exists already; return the module's path."""
    path = os.path.join(target, module_path)
    if not os.path.exists(path):
        fetch(requirement, target)
    return path


if __name__ == '__main__':
    for f in fetch(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else 'build/vendor'):
        print(f)
