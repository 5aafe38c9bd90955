"""docs/getting-started.md cannot rot: every command of its no-hardware path (c) runs as written,
and its TCPATRUN set-up lines (b) are typed into an emulated Telit module's serial port, each
answering OK, after which `modemkit upgrade` upgrades that module through what they set up."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mktools import ROOT
from mktools.dev import romrun

ROOT = Path(ROOT)
GUIDE = ROOT / 'docs' / 'getting-started.md'
sys.path.insert(0, str(ROOT / 'tests' / 'host' / 'device'))
from deploy_rig import APPS, Fleet, beacon_board, listen_ports, telit_bundle  # noqa: E402
from mktools.device import upgrade  # noqa: E402


def section(title):
    text = GUIDE.read_text()
    start = text.index(title)
    end = text.find('\n## ', start + 1)
    return text[start:end if end > 0 else None]


def blocks(text, lang):
    return re.findall(r'```%s\n(.*?)```' % lang, text, re.S)


def test_the_readme_links_the_guide_at_its_top():
    top = (ROOT / 'README.md').read_text().split('\n## ')[0]
    assert '(docs/getting-started.md)' in top


def no_hardware_commands():
    part = section('## (c) No hardware')
    assert '*tested:*' in part
    return [ln for ln in blocks(part, 'sh')[0].splitlines() if ln.strip()]


@pytest.mark.parametrize('line', no_hardware_commands())
def test_no_hardware_path_runs_as_written(line, tmp_path):
    if not shutil.which('mosquitto') and not Path('/usr/sbin/mosquitto').exists():
        pytest.skip('mosquitto is not installed (make sysdeps)')
    argv = shlex.split(line)
    if argv[0] == 'make':
        # the venv and system packages are there already; the make rule itself runs
        argv = ['make', '-s', '-o', '.venv/.installed', '-o', 'sysdeps',
                f'PY={sys.executable}'] + argv[1:]
    else:
        assert argv[0] == '.venv/bin/modemkit', line
        argv = [sys.executable, '-m', 'mktools.cli'] + argv[1:]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env=dict(romrun.child_env(), TMPDIR=str(tmp_path)))
    assert r.returncode == 0, r.stdout + r.stderr
    if 'demo' in argv:
        assert 'received 5 samples, 0 lost, 0 duplicates' in r.stdout, r.stdout
    assert 'Traceback' not in r.stderr
    assert not list(tmp_path.glob('modemkit-demo-*'))


def test_tcpatrun_setup_lines_prepare_a_module_for_upgrade(tmp_path, capsys):
    part = section('### Once per module: TCPATRUN')
    lines = [ln for ln in blocks(part, 'text')[0].splitlines() if ln.strip()]
    assert [ln.split('=')[0] for ln in lines if '#TCPATRUN' in ln or '#SGACTCFG' in ln] == [
        'AT#SGACTCFG', 'AT#TCPATRUNFRWL', 'AT#TCPATRUNFRWL', 'AT#TCPATRUNAUTH', 'AT#TCPATRUNCFG',
        'AT#TCPATRUNL']
    user, password = re.search(r'#TCPATRUNAUTH=1,"([^"]+)","([^"]+)"', '\n'.join(lines)).groups()
    port, = listen_ports(1)
    # the guide's address range and listening port, moved to what a test can reach here
    typed = [ln.replace('"203.0.113.0","255.255.255.0"', '"127.0.0.0","255.0.0.0"')
             .replace('=6,2,1024,', f'=6,2,{port},') for ln in lines]
    assert typed != lines
    board = beacon_board(tmp_path)
    v1, _ = telit_bundle(APPS / 'beacon', board, version='1.0')
    fleet = Fleet(1)
    try:
        link = fleet.serial(0)
        try:
            for line in ['ATE0'] + typed:
                link.command(line, 10)          # raises unless the module answers OK
        finally:
            link.close()
        fleet.preinstall(0, v1)
        fleet.wait(lambda: fleet.listening(0) and (fleet.state(0, 'a_state.txt') or b'')
                   .startswith(b'alive 1.0'), 30, 'version 1.0 alive and TCPATRUN listening')
        code = upgrade.main(
            [str(APPS / 'beacon'), '--board', str(board), '--version', '2.0',
             '--to', f'he910-01=127.0.0.1:{port}', '--healthy-s', '1', '--crash-delay-s', '0.2',
             '--confirm-s', '30', '--rollback-s', '30', '--poll-s', '0.3',
             '--login-timeout', '3', '--prompt-wait', '0.5'],
            env={upgrade.ENV_USER: user, upgrade.ENV_PASSWORD: password})
        out = capsys.readouterr().out
        assert code == 0, out
        assert '1 modules: 1 upgraded' in out, out
        assert fleet.enabled(0) == 'b_boot.py'
    finally:
        fleet.close()
