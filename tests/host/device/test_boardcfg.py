"""Board configs against the schema: `modemkit board check` reports every misspelled key, wrong
type and unknown value on its own line with the key's path; bundle, deploy, upgrade and the
demo refuse such a config with the same lines before they do anything; upgrade and #WSCRIPT
deploys refuse a board that is not a Telit on-module one, mpremote deploys a Telit one."""

import json
import re
import subprocess
import sys

import pytest

from deploy_rig import ROOT, env_with_tools
from mktools import cli
from mktools.device import boardcfg

BAD = {
    'name': 'typos', 'dialect': 'quectl', 'rx_szie': 256, 'apnn': 'internet',
    'serial': {'port': '/dev/ttyUSB0', 'baud': 'fast'},
    'mqtt': {'hots': 'broker.example.com', 'host': 'b', 'device': 'd'},
}
EXPECTED = [
    'apnn: unknown key (did you mean apn?)',
    'rx_szie: unknown key (did you mean rx_size?)',
    'dialect: "quectl" is not one of quectel, telit, wavecom (did you mean quectel?)',
    'mqtt.hots: unknown key (did you mean host?)',
    'serial.baud: "fast" is not of type integer',
]


def write(tmp_path, cfg, name='board.json'):
    path = tmp_path / name
    path.write_text(json.dumps(cfg))
    return str(path)


def modemkit(*argv):
    """`modemkit ARGV` as a user runs it: (exit status, stdout, stderr)."""
    r = subprocess.run([sys.executable, '-m', 'mktools.cli', *argv], capture_output=True,
                       text=True, cwd=ROOT, env=env_with_tools(), timeout=120)
    return r.returncode, r.stdout, r.stderr


def test_every_shipped_board_config_matches_the_schema():
    boards = sorted(str(p) for p in (ROOT / 'boardcfg').glob('*.json'))
    assert len(boards) >= 7
    code, out, err = modemkit('board', 'check', *boards)
    assert (code, err) == (0, ''), err
    assert out.count(': ok\n') == len(boards)


def test_board_check_names_every_problem_on_its_own_line(tmp_path):
    path = write(tmp_path, BAD)
    code, out, err = modemkit('board', 'check', path)
    assert code == 2 and 'Traceback' not in err
    assert err.splitlines() == [f'modemkit board: {path}: {line}' for line in EXPECTED]


def test_wrong_types_missing_keys_and_unknown_sensor_kinds(tmp_path):
    cfg = {'dialect': 'telit', 'variant': 'le910x', 'platform': '30',
           'sensors': [{'name': 't', 'kind': 'adc'}, {'name': 'u', 'kind': 'thermo'}],
           'mqtt': {'host': 'h'}, 'telemetry': {'period_ms': 1.5}}
    problems = boardcfg.problems(cfg)
    assert problems == [
        'mqtt.device: required key is missing',
        'platform: "30" is not of type integer',
        'sensors[0].pin: required key is missing',
        'sensors[1].kind: "thermo" is not one of sim, adc, telit_adc',
        'telemetry.period_ms: 1.5 is not of type integer',
        'variant: "le910x" is not one of he910, le910c1, me910c1 (did you mean le910c1?)',
    ], problems


def test_every_key_the_on_target_code_reads_is_in_the_schema():
    # what a driver or app reads with cfg.get('key') / cfg['key'] must be a key the schema
    # knows, or a correct config would be refused as misspelled
    known = set()

    def collect(node):
        for key, sub in node.get('properties', {}).items():
            known.add(key)
            collect(sub)
        if isinstance(node.get('items'), dict):
            collect(node['items'])
        for sub in node.get('oneOf', []) + node.get('anyOf', []):
            collect(sub)
    collect(boardcfg.schema())
    read = set()
    sources = list((ROOT / 'lib' / 'modemkit').glob('*.py')) + list((ROOT / 'apps').rglob('*.py'))
    pattern = re.compile(r"\b(?:cfg|c|mq|tcfg|d|f|p|ser)(?:\.get\(|\[)'(\w+)'")
    for src in sources:
        if src.name in ('fakeuart.py',):
            continue
        read.update(pattern.findall(src.read_text()))
    assert len(read) > 40
    assert read - known == set()


@pytest.mark.parametrize('command', [
    ['bundle', 'telemetry', '--out', 'OUT'],
    ['deploy', 'telemetry', '--port', '/nonexistent/tty'],
    ['upgrade', 'telemetry', '--to', '127.0.0.1:1'],
    ['demo'],
])
def test_commands_refuse_a_bad_board_with_the_same_lines(command, tmp_path, capsys):
    path = write(tmp_path, BAD)
    argv = [str(tmp_path / 'out') if a == 'OUT' else a for a in command] + ['--board', path]
    env = {'MODEMKIT_ATRUN_USER': 'u', 'MODEMKIT_ATRUN_PASSWORD': 'p'}
    code = cli.main(argv, env)
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [f'modemkit {command[0]}: {path}: {line}' for line in EXPECTED]
    assert not (tmp_path / 'out').exists()


def test_upgrade_refuses_a_micropython_board_and_does_not_offer_a_target(capsys):
    board = str(ROOT / 'boardcfg' / 'rp2040-ec21.json')
    code = cli.main(['upgrade', 'telemetry', '--board', board, '--to', '127.0.0.1:1'],
                    {'MODEMKIT_ATRUN_USER': 'u', 'MODEMKIT_ATRUN_PASSWORD': 'p'})
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f'modemkit upgrade: {board}: not a Telit on-module board')
    assert 'modemkit deploy' in err[0]
    code, out, _ = modemkit('upgrade', '--help')
    assert code == 0 and '--board' in out
    assert re.search(r'--target(?!s)', out) is None and '--march' not in out
    assert '{telit,micropython}' not in out


@pytest.mark.parametrize('board, target, says', [
    ('rp2040-ec21.json', 'telit', 'not a Telit on-module board'),
    ('he910-onmodule.json', 'micropython', 'runs Telit Python 2.7, not MicroPython'),
])
def test_deploy_refuses_a_target_the_board_cannot_run(board, target, says):
    path = str(ROOT / 'boardcfg' / board)
    code, _, err = modemkit('deploy', 'telemetry', '--board', path, '--target', target,
                            '--port', '/nonexistent/tty')
    assert code == 2 and len(err.splitlines()) == 1, err
    assert says in err and path in err


def test_a_section_with_two_forms_names_the_problem_of_its_own_form():
    assert boardcfg.problems({'dialect': 'telit', 'http': 'nativ'}) == [
        'http: "nativ" is not one of py, telit, native (did you mean native?)']
    assert boardcfg.problems({'dialect': 'telit', 'http': {'backend': 'py', 'redirect': 2}}) == [
        'http.redirect: unknown key (did you mean redirects?)']
    assert boardcfg.problems({'dialect': 'telit', 'http': {'backend': 'telit', 'profile': 1}}) == []
