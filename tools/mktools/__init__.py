"""Host tools for modemkit: the `modemkit` command (cli), the modem emulator (sim/), what touches a
device (device/), static checks of on-target code (checks/) and the project's own development tools
(dev/)."""
import os

# The project's checkout: lib/, apps/, boardcfg/ and firmware/ are read from here.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# Exit statuses of every `modemkit` command (mktools.cli states the rule).
BAD_INPUT = 2       # the input is unusable: arguments, a file, a board config, a port, a host
FAILED = 1          # the command ran and its outcome is a failure


def find_python27():
    """(path, None) for a working CPython 2.7 (Telit's on-module Python is 2.7), else (None, why).

    Looked for as `python2.7` on PATH, then under pyenv's versions ($PYENV_ROOT, `pyenv root` or
    ~/.pyenv); a pyenv shim for a version that is not selected fails to run and is passed over."""
    import glob
    import shutil
    import subprocess
    found = []
    on_path = shutil.which('python2.7')
    if on_path:
        found.append(on_path)
    roots = [os.environ.get('PYENV_ROOT', '')]
    if shutil.which('pyenv'):
        try:
            roots.append(subprocess.run(['pyenv', 'root'], capture_output=True, text=True,
                                        timeout=10).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(os.path.expanduser('~/.pyenv'))
    for root in filter(None, roots):
        found.extend(sorted(glob.glob(os.path.join(root, 'versions', '2.7*', 'bin', 'python2.7'))))
    for exe in dict.fromkeys(found):
        try:
            # -E -s: a PYTHONPATH meant for Python 3 (site-packages, .pth files) breaks 2.7
            out = subprocess.run([exe, '-E', '-s', '-c',
                                  'import sys; print(sys.version_info[:2] == (2, 7))'],
                                 capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if out == 'True':
            return exe, None
    if not found:
        return None, 'no python2.7 on PATH nor under pyenv (pyenv install 2.7.18)'
    return None, 'none of %s runs as Python 2.7' % ', '.join(dict.fromkeys(found))


class CommandError(Exception):
    """Input a command cannot use, or a request it refuses: `modemkit` prints the message (one
    line per line of it, prefixed with the command) and exits with status 2 (BAD_INPUT), no
    traceback."""
