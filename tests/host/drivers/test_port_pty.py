"""The serial ports of `modemkit.port` on real pseudo-terminals: CPython (pyserial) and the
MicroPython unix port (a tty opened as a file, polled)."""
import os
import select
import shutil
import subprocess
import sys
import tty

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    yield master, path
    os.close(master)
    os.close(slave)


def _read_until(fd, want, timeout_s=5.0):
    got = b''
    while want not in got:
        r, _, _ = select.select([fd], [], [], timeout_s)
        assert r, 'timed out waiting for %r, got %r' % (want, got)
        got += os.read(fd, 1024)
    return got


def test_cpython_serial_on_pty(pty_pair):
    from modemkit import port_cpy
    master, path = pty_pair
    s = port_cpy.open_serial(path)
    try:
        assert s.any() == 0 and s.wait_readable(20) is False
        buf = bytearray(b'AT+CSQ\rjunk')
        assert s.write(buf, 7) == 7
        assert _read_until(master, b'\r') == b'AT+CSQ\r'
        os.write(master, b'\r\nOK\r\n')
        assert s.wait_readable(2000) is True
        into = bytearray(4)
        data = b''
        while len(data) < 6:
            s.wait_readable(2000)
            n = s.readinto(into)
            assert 0 < n <= 4
            data += bytes(into[:n])
        assert data == b'\r\nOK\r\n'
    finally:
        s.close()


MPY_SCRIPT = r'''
import sys
sys.path.insert(0, %(lib)r)
from modemkit import port
s = port.open_serial(%(path)r)
s.write(bytearray(b'AT\r'))
buf = bytearray(64)
got = bytearray()
while got.find(b'OK\r\n') < 0:
    if not s.wait_readable(5000):
        print('TIMEOUT', bytes(got))
        break
    n = s.readinto(buf)
    got.extend(buf[:n])
print(port.PLATFORM, bytes(got))
'''


def test_micropython_tty_on_pty(pty_pair, tmp_path):
    mp = shutil.which('micropython') or os.path.join(os.path.dirname(sys.executable), 'micropython')
    if not os.path.exists(mp):
        pytest.skip('the MicroPython unix port is not installed')
    master, path = pty_pair
    script = tmp_path / 'talk.py'
    script.write_text(MPY_SCRIPT % {'lib': os.path.join(ROOT, 'lib'), 'path': path})
    proc = subprocess.Popen([mp, '-X', 'heapsize=64K', str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        assert _read_until(master, b'\r') == b'AT\r'
        os.write(master, b'\r\nO')
        os.write(master, b'K\r\n')
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert out.decode().strip() == "micropython b'\\r\\nOK\\r\\n'", out


MPY_RING_SCRIPT = r'''
import sys
sys.path.insert(0, %(lib)r)
import gc
import micropython
from modemkit import port
s = port.open_serial(%(path)r)
ring = bytearray(b'0123456789abcdefghijklmnopqrstuv')
s.write(ring, 4, 0)                     # warm up (b'0123'): the first call may set up state
parts = ((4, 8), (28, 4), (0, 6), (6, 26), (0, 32), (31, 1))


def locked():
    # in a function: a new module global would grow the globals' table
    n = 0
    gc.collect()
    micropython.heap_lock()
    try:
        for off, k in parts:
            n += s.write(ring, k, off)  # the I/O task's call: part of a ring, no slice
        err = None
    except MemoryError as e:
        err = e
    micropython.heap_unlock()
    return n, err


print('wrote %%d err %%r' %% locked())
'''


def test_micropython_writes_part_of_a_ring_without_allocating(pty_pair, tmp_path):
    # The port writes buf[off:off+n] with MicroPython's stream write(buf, off, n) (py/stream.c):
    # a memoryview slice would take 64 bytes per write; under heap_lock() it would fail.
    mp = shutil.which('micropython') or os.path.join(os.path.dirname(sys.executable), 'micropython')
    if not os.path.exists(mp):
        pytest.skip('the MicroPython unix port is not installed')
    master, path = pty_pair
    script = tmp_path / 'ring.py'
    script.write_text(MPY_RING_SCRIPT % {'lib': os.path.join(ROOT, 'lib'), 'path': path})
    proc = subprocess.Popen([mp, '-X', 'heapsize=64K', str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    ring = b'0123456789abcdefghijklmnopqrstuv'
    want = b''.join(ring[o:o + k] for o, k in ((4, 8), (28, 4), (0, 6), (6, 26), (0, 32),
                                               (31, 1)))
    assert out.decode().strip() == 'wrote %d err None' % len(want), out
    want = b'0123' + want
    got = b''
    while len(got) < len(want):
        r, _, _ = select.select([master], [], [], 5.0)
        assert r, got
        got += os.read(master, 1024)
    assert got == want
