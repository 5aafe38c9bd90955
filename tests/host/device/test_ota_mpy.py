"""Over-the-air updates on the MicroPython unix port (modemkit.ota and firmware/mpy/main.py):
the device's flash is a directory, each boot runs main.py there, the app fetches the update
through `modemkit sim --pty` (an emulated Quectel module) from http.server on 127.0.0.1, which
serves what `modemkit bundle --ota` wrote.  A good update sticks; a broken one (it crashes, or
ends without confirming) is rolled back at the next boot; a download cut mid-file resumes with
a Range request, and one cut every time is discarded without switching.

The unix port has no machine.Timer and no machine.reset: for the version that hangs, the test
puts a machine.py on the device that has both (a thread; a reset ends the process, as it ends a
board's run), so main.py's trial deadline runs as it does on a board."""

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deploy_rig import APPS, ROOT
from mktools import cli
from mktools.dev import romrun

# the slots' .mpy files load into the heap (no ROM here, as on a board that runs its app from
# the file system): 160 KiB holds the app, the driver, the HTTP client and an update (Telit's
# native client at 144 KiB meets the 7 KiB step of MicroPython's qstr pools mid-update)
HEAP = os.environ.get('MODEMKIT_OTA_HEAP', '160K')
BOOT_S = 240


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


class Handler(http.server.BaseHTTPRequestHandler):
    """Static files with `Range: bytes=N-` (http.server's own handler has no Range), and a
    fault: the first `cuts[path]` responses for a path stop halfway and close."""
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        srv = self.server
        rng = self.headers.get('Range')
        srv.requests.append((self.path, rng))
        path = srv.root / self.path.lstrip('/')
        if '..' in self.path or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        m = re.fullmatch(r'bytes=(\d+)-', rng or '')
        if m and int(m.group(1)) < len(data):
            start = int(m.group(1))
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if srv.cuts.get(self.path, 0) > 0:
            srv.cuts[self.path] -= 1
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def web(tmp_path):
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.root = tmp_path / 'www'
    server.root.mkdir()
    server.requests = []
    server.cuts = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# the modem and the HTTP client: the pure client over Quectel's sockets, unless a test asks
# for Telit's own client (IP Easy s10)
MODEMS = {'quectel-py': ('quectel', [], 'desktop-quectel.json', 'py'),
          'telit-native': ('telit', ['--variant', 'he910'], 'desktop-telit.json', 'native')}


@pytest.fixture
def modem(request):
    return MODEMS[getattr(request, 'param', 'quectel-py')]


@pytest.fixture
def modem_tty(tmp_path, modem):
    link = str(tmp_path / 'ttyMODEM')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', modem[0], '--pty', link,
         '--host', 'web.test=127.0.0.1'] + modem[1],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    assert 'modemkit sim' in proc.stdout.readline()
    yield link
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


class Device:
    """The device's flash (a directory) and its boots: each runs main.py on the unix port."""

    def __init__(self, root):
        self.root = root
        root.mkdir()
        self.mp = tool('micropython')
        if not self.mp:
            pytest.skip('the MicroPython unix port is not installed')

    def install(self, out):
        shutil.copytree(out / 'device', self.root, dirs_exist_ok=True)

    def boot(self):
        r = subprocess.run([self.mp, '-X', f'heapsize={HEAP}', 'main.py'], cwd=self.root,
                           capture_output=True, text=True, timeout=BOOT_S)
        out = r.stdout + r.stderr
        print(out)
        return r.returncode, out

    def main_py(self):
        text = (self.root / 'main.py').read_text()
        return dict(re.findall(r"^(SLOT|VERSION) = '([^']*)'", text, re.M))

    def exists(self, name):
        return (self.root / name).exists()


BOARD_MACHINE = '''
import _thread
import os
import time


class Timer:
    ONE_SHOT = 0

    def __init__(self, tid):
        pass

    def init(self, mode, period, callback):
        def fire():
            time.sleep_ms(period)
            callback(self)
        _thread.start_new_thread(fire, ())


def reset():
    os.system('kill -KILL $PPID')
'''


def bundle(tmp_path, app, board, version, ota=False):
    out = tmp_path / f'out-{version}'
    code = cli.main(['bundle', str(app), '--board', str(board), '--out', str(out),
                     '--version', version] + (['--ota'] if ota else []))
    assert code == 0
    return out


def app_copy(tmp_path, mode):
    src = (APPS / 'ota' / 'main.py').read_text()
    app = tmp_path / f'app-{mode}'
    app.mkdir()
    (app / 'main.py').write_text(src.replace("MODE = 'good'", f'MODE = {mode!r}'))
    return app


@pytest.fixture
def rig(tmp_path, web, modem, modem_tty):
    """A device running version 1.0 in slot a, and the board its bundles are built for."""
    board = json.loads((ROOT / 'boardcfg' / modem[2]).read_text())
    board['serial']['port'] = modem_tty
    for key in ('sensors', 'mqtt', 'telemetry', 'platform', 'variant'):
        board.pop(key, None)
    board['http'] = {'backend': modem[3], 'timeout_ms': 20000}
    path = tmp_path / 'board.json'
    path.write_text(json.dumps(board))
    dev = Device(tmp_path / 'flash')
    dev.install(bundle(tmp_path, APPS / 'ota', path, '1.0'))
    return dev, path


def publish(tmp_path, web, board, version, app=APPS / 'ota'):
    """Build `version` with --ota and serve it under /fleet/; the URL of its manifest."""
    out = bundle(tmp_path, app, board, version, ota=True)
    shutil.copytree(out / 'ota', web.root / 'fleet', dirs_exist_ok=True)
    return f'http://web.test:{web.server_address[1]}/fleet/manifest.json', out


def ask_update(dev, url, deadline_s=60):
    (dev.root / 'ota_url.txt').write_text(f'{url} {deadline_s}\n')


def same_files(dev, slot, out):
    manifest = json.loads((out / 'ota' / 'manifest.json').read_text())
    for f in manifest['files']:
        assert (dev.root / slot / f['name']).read_bytes() == \
            (out / 'ota' / f['name']).read_bytes(), f['name']
    return manifest


@pytest.mark.parametrize('modem', list(MODEMS), indirect=True)
def test_a_good_update_sticks(tmp_path, web, rig):
    dev, board = rig
    url, out = publish(tmp_path, web, board, '2.0')
    ask_update(dev, url)
    code, log = dev.boot()
    assert code == 0 and 'app 1.0 good trial=False' in log and 'update 2.0' in log, log
    assert 'again 2.0, confirm False' in log, log
    assert [p for p, _ in web.requests].count('/fleet/manifest.json') == 1
    assert dev.main_py() == {'SLOT': 'b', 'VERSION': '2.0'}
    assert dev.exists('ota_pend.txt') and dev.exists('main.old')
    manifest = same_files(dev, 'b', out)
    assert len(manifest['files']) > 5 and manifest['version'] == '2.0'
    (dev.root / 'ota_url.txt').unlink()
    code, log = dev.boot()
    assert code == 0 and 'version 2.0 on trial' in log, log
    assert 'app 2.0 good trial=True' in log and 'confirmed True' in log, log
    assert not dev.exists('ota_try.txt') and not dev.exists('main.old')
    code, log = dev.boot()
    assert code == 0 and 'app 2.0 good trial=False' in log, log
    assert dev.main_py() == {'SLOT': 'b', 'VERSION': '2.0'}
    # and the next update goes to slot a, the one not running, leaving nothing of the old
    (dev.root / 'a' / 'modemkit' / 'stale.mpy').write_bytes(b'M')
    url, out = publish(tmp_path, web, board, '3.0')
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update 3.0' in log, log
    assert dev.main_py() == {'SLOT': 'a', 'VERSION': '3.0'}
    same_files(dev, 'a', out)
    assert not dev.exists('a/modemkit/stale.mpy')


@pytest.mark.parametrize('mode', ['raise', 'return', 'hang'])
def test_a_broken_update_rolls_back_at_the_next_boot(tmp_path, web, rig, mode):
    dev, board = rig
    url, _ = publish(tmp_path, web, board, '2.0', app_copy(tmp_path, mode))
    ask_update(dev, url, deadline_s=2)
    code, log = dev.boot()
    assert 'update 2.0' in log, log
    (dev.root / 'ota_url.txt').unlink()
    if mode == 'hang':
        (dev.root / 'machine.py').write_text(BOARD_MACHINE)
    t0 = time.monotonic()
    code, log = dev.boot()
    assert f'app 2.0 {mode} trial=True' in log, log
    assert (code != 0) == (mode != 'return'), log
    if mode == 'hang':
        assert code == -9 and time.monotonic() - t0 < 30     # the deadline reset it
    assert dev.exists('ota_try.txt')            # never confirmed
    code, log = dev.boot()
    assert code == 0, log
    assert 'version 2.0 never confirmed itself, back to slot a' in log, log
    assert 'app 1.0 good trial=False' in log, log
    assert dev.main_py() == {'SLOT': 'a', 'VERSION': '1.0'}
    assert (dev.root / 'ota_fail.txt').read_text().split() == ['2.0', 'a']
    assert not dev.exists('ota_try.txt') and not dev.exists('main.old')
    # the version that failed is not taken again
    if mode == 'hang':
        (dev.root / 'machine.py').unlink()
    ask_update(dev, url)
    code, log = dev.boot()
    assert code == 0 and 'app 1.0 good trial=False' in log, log
    assert 'update failed OtaError' in log and 'version 2.0 failed its trial' in log, log
    assert dev.main_py() == {'SLOT': 'a', 'VERSION': '1.0'}


@pytest.mark.parametrize('modem', list(MODEMS), indirect=True)
def test_a_cut_download_resumes_with_a_range_request(tmp_path, web, rig):
    dev, board = rig
    url, out = publish(tmp_path, web, board, '2.0')
    manifest = json.loads((out / 'ota' / 'manifest.json').read_text())
    big = max(manifest['files'], key=lambda f: f['size'])
    path = '/fleet/' + big['name']
    web.cuts[path] = 1
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update 2.0' in log, log
    asked = [rng for p, rng in web.requests if p == path]
    assert asked == [None, f'bytes={big["size"] // 2}-'], web.requests
    same_files(dev, 'b', out)
    assert dev.main_py() == {'SLOT': 'b', 'VERSION': '2.0'}


def test_a_download_cut_every_time_is_discarded_and_nothing_switches(tmp_path, web, rig):
    dev, board = rig
    url, out = publish(tmp_path, web, board, '2.0')
    manifest = json.loads((out / 'ota' / 'manifest.json').read_text())
    big = max(manifest['files'], key=lambda f: f['size'])
    path = '/fleet/' + big['name']
    web.cuts[path] = 99
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update failed ProtocolError' in log, log
    assert len([p for p, _ in web.requests if p == path]) == 3       # the tries, then no more
    assert dev.main_py() == {'SLOT': 'a', 'VERSION': '1.0'}
    assert not dev.exists('ota_pend.txt') and not dev.exists('b/' + big['name'])
    # the next boot runs the same version; a later try fetches only what is missing
    (dev.root / 'ota_url.txt').unlink()
    code, log = dev.boot()
    assert code == 0 and 'app 1.0 good trial=False' in log, log
    web.cuts.clear()
    web.requests.clear()
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update 2.0' in log, log
    # the files before the cut one were verified on flash and kept
    names = [f['name'] for f in manifest['files']]
    rest = ['/fleet/' + n for n in names[names.index(big['name']):]]
    assert [p for p, _ in web.requests] == ['/fleet/manifest.json'] + rest
    assert len(rest) < len(names)
    same_files(dev, 'b', out)


def test_a_download_cut_by_a_reset_resumes_at_the_next_boot(tmp_path, web, rig):
    dev, board = rig
    url, out = publish(tmp_path, web, board, '2.0')
    manifest = json.loads((out / 'ota' / 'manifest.json').read_text())
    big = max(manifest['files'], key=lambda f: f['size'])
    # what flash holds after a reset in the middle of that file: the manifest, half the file
    (dev.root / 'b' / 'modemkit').mkdir(parents=True)
    shutil.copy(out / 'ota' / 'manifest.json', dev.root / 'b' / 'ota.json')
    half = big['size'] // 3
    (dev.root / 'b' / big['name']).write_bytes((out / 'ota' / big['name']).read_bytes()[:half])
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update 2.0' in log, log
    assert [rng for p, rng in web.requests if p == '/fleet/' + big['name']] == [f'bytes={half}-']
    same_files(dev, 'b', out)


def test_a_file_that_does_not_match_its_hash_is_discarded(tmp_path, web, rig):
    dev, board = rig
    url, out = publish(tmp_path, web, board, '2.0')
    served = web.root / 'fleet' / 'board.json'
    served.write_bytes(served.read_bytes().replace(b'internet', b'intranet'))
    ask_update(dev, url)
    code, log = dev.boot()
    assert 'update failed OtaError' in log and 'board.json: SHA-256' in log, log
    assert dev.main_py() == {'SLOT': 'a', 'VERSION': '1.0'}
    assert not dev.exists('ota_pend.txt') and not dev.exists('b/board.json')
