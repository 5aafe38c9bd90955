"""`modemkit deploy` to an emulated Telit module over its serial port (AT#WSCRIPT, T-RUN §3.9):
the telemetry app written, read back byte for byte, enabled, rebooted into, seen publishing to
a real broker from the emulator's CPython script runner; and the failures that must leave the
previous script enabled (no space, a file that reads back wrong), each naming its file."""

import json
import re
import os
import subprocess
import sys
import time

import pytest
import serial

from conftest import Subscriber
from deploy_rig import APPS, ROOT, Fleet, beacon_board, env_with_tools, telit_bundle
from mktools.device import deploy
from mktools.device.bundle import Options, build


def raw_rscript(port, name, size, timeout=10.0):
    """#RSCRIPT read independently of the tool: the bytes between <CR><LF><<< and OK."""
    port.reset_input_buffer()
    port.write(f'AT#RSCRIPT="{name}"\r'.encode())
    got = bytearray()
    end = time.monotonic() + timeout
    marker = b'\r\n<<<'
    while time.monotonic() < end:
        got += port.read(port.in_waiting or 1)
        at = got.find(marker)
        if at >= 0 and len(got) >= at + len(marker) + size + len(b'\r\nOK\r\n'):
            body = bytes(got[at + len(marker):at + len(marker) + size])
            assert got[at + len(marker) + size:].startswith(b'\r\nOK\r\n'), got[-40:]
            return body
    raise AssertionError(f'{name}: no complete #RSCRIPT answer: {bytes(got[-80:])!r}')


@pytest.fixture
def telit_sim(tmp_path):
    """`modemkit sim --dialect telit --run-scripts` on a pty, as a separate process."""
    link = str(tmp_path / 'ttyTelit')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'mktools.cli', 'sim', '--dialect', 'telit', '--pty', link,
         '--run-scripts', '--boot-ms', '300', '--activation-ms', '100',
         '--host', 'broker.test=127.0.0.1', '--log', str(tmp_path / 'sim.log')],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env_with_tools())
    line = proc.stdout.readline()
    assert 'modemkit sim: telit' in line, line
    yield link
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_telemetry_round_trips_byte_for_byte_then_runs_and_publishes(telit_sim, mosquitto,
                                                                      tmp_path, capsys):
    board = json.loads((ROOT / 'boardcfg' / 'he910-onmodule.json').read_text())
    board['mqtt'].update(host='broker.test', port=mosquitto.port, device='he910-test',
                         keepalive=30)
    board['telemetry'].update(period_ms=500, queue_path='telemq')
    path = tmp_path / 'he910.json'
    path.write_text(json.dumps(board))
    sub = Subscriber(mosquitto.port, 'modemkit/he910-test/#')
    try:
        code = deploy.main(['telemetry', '--board', str(path), '--port', telit_sim,
                            '--reboot', '--wait-alive', '30', '--healthy-s', '1',
                            '--chunk', '512', '--chunk-delay-ms', '1', '--version', '1.0'])
        err = capsys.readouterr().err
        assert code == 0, err
        assert re.search(r'verified \d+ files by #RSCRIPT', err) and '1.0 is alive' in err
        # every file, read back here without the tool, is the bundle's byte for byte
        bundle = build(Options(app=ROOT / 'apps' / 'telemetry', board=board, slot='a',
                               version='1.0', healthy_s=1.0))
        with serial.Serial(telit_sim, 115200, timeout=0.2) as port:
            for f in bundle.files:
                assert raw_rscript(port, f.name, f.size) == f.data, f.name
        msgs = sub.wait_for(4, 20)
    finally:
        sub.stop()
    topics = [t for t, _ in msgs]
    assert 'modemkit/he910-test/status' in topics
    samples = [json.loads(p) for t, p in msgs if t == 'modemkit/he910-test/telemetry']
    assert [s['seq'] for s in samples] == list(range(1, len(samples) + 1)), msgs
    assert samples[-1]['m'] == 'ready'


@pytest.fixture
def module(tmp_path):
    """One emulated module (in-process) whose serial port is a socket:// URL, running the
    beacon app 1.0 from slot a."""
    f = Fleet(1, config={'script_capacity': 150_000})
    board = beacon_board(tmp_path)
    v1, _ = telit_bundle(APPS / 'beacon', board, version='1.0')
    try:
        f.preinstall(0, v1)
        f.wait(lambda: (f.state(0, 'a_state.txt') or b'').startswith(b'alive'), 15, 'v1 alive')
        f.board = board
        f.v1 = v1
        yield f
    finally:
        f.close()


def run_deploy(module, *extra, app='beacon'):
    return deploy.main([str(APPS / app), '--board', str(module.board), '--port',
                        module.serial_url(0), '--healthy-s', '1', '--chunk-delay-ms', '0',
                        *extra])


def test_no_space_is_found_before_writing_and_changes_nothing(module, tmp_path, capsys):
    def fill():
        store = module.modems[0].scripts
        store.write('bigdata.bin', b'\0' * (store.free() - 10_000), False)
    module.call(fill)
    assert run_deploy(module, '--version', '2.0') == 1
    err = capsys.readouterr().err
    assert 'FAILED (unchanged): the bundle needs' in err and 'the module has 10000 free' in err
    assert 'the previously enabled script is still enabled' in err
    assert module.enabled(0) == 'a_boot.py'
    assert module.state(0, 'b_boot.py') is None


def test_a_file_that_reads_back_wrong_is_named_and_nothing_is_switched(module, monkeypatch,
                                                                       capsys):
    from mktools.sim.telit import scripts as telit_scripts
    real = telit_scripts.ScriptStore.write

    def flaky(self, name, content, hidden):
        if name == 'b_sched.py':
            content = bytes(content[:100]) + b'#' + bytes(content[101:])
        real(self, name, content, hidden)

    monkeypatch.setattr(telit_scripts.ScriptStore, 'write', flaky)
    assert run_deploy(module, '--version', '2.0') == 1
    err = capsys.readouterr().err
    assert 'FAILED (unchanged): b_sched.py: read back differs' in err
    assert module.enabled(0) == 'a_boot.py'


def test_second_deploy_goes_to_the_other_slot_and_reboots_into_it(module, capsys):
    assert run_deploy(module, '--version', '2.0', '--reboot', '--wait-alive', '20') == 0
    assert module.enabled(0) == 'b_boot.py'
    assert module.state(0, 'b_state.txt').startswith(b'alive 2.0')
    # slot a is untouched: it is the version the boot script falls back to
    for f in module.v1.files:
        assert module.state(0, f.name) == f.data, f.name
    boot = module.state(0, 'b_boot.py').decode()
    assert "PREV_SCRIPT = 'a_boot.py'" in boot and "PREV_SLOT = 'a'" in boot
    assert run_deploy(module, '--version', '3.0') == 0
    assert module.enabled(0) == 'a_boot.py'
    assert (module.state(0, 'a_files.txt') or b'').startswith(b'modemkit 3.0\n')


def test_help_documents_every_option():
    out = subprocess.run([sys.executable, '-m', 'mktools.cli', 'deploy', '--help'],
                         capture_output=True, text=True, env=env_with_tools(), check=True).stdout
    for option in ('--board', '--port', '--start', '--baud', '--rtscts', '--chunk',
                   '--chunk-delay-ms', '--reboot', '--wait-alive', '--slot', '--target',
                   '--timeout', '--version', '--entry'):
        assert option in out, option
    assert os.path.basename(sys.executable)
