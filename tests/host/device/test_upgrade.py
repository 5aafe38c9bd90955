"""`modemkit upgrade` against a fleet of emulated Telit modules, each running its script under
CPython (T-RUN §3.9 through TCPATRUN server mode, §3.2): 20 at once; a broken new version that
the boot script undoes; a hung one that the tool undoes; wrong credentials and a firewall
refusal reported per module; credentials from a file, never from the command line."""

import json
import subprocess
import sys

import pytest

from deploy_rig import (APPS, PASSWORD, USER, Fleet, beacon_board, env_with_tools, listen_ports,
                        telit_bundle)
from mktools.device import upgrade

N = 20
# modules of their own for the tests that start from 2.0 in slot b, so that each test sets up
# the state it needs and passes alone and in any order
BROKEN, HUNG = N, N + 1
ENV = {upgrade.ENV_USER: USER, upgrade.ENV_PASSWORD: PASSWORD}


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    """22 modules provisioned for TCPATRUN (half automatic login, half step-by-step), each
    running version 1 of the beacon app from slot a: 20 for the fleet-wide upgrade, one each
    for the broken and the hung version."""
    tmp = tmp_path_factory.mktemp('fleet')
    board = beacon_board(tmp)
    v1, _ = telit_bundle(APPS / 'beacon', board, version='1.0')
    total = N + 2
    f = Fleet(total)
    f.ports = listen_ports(total)
    f.board = board
    f.v1 = v1
    try:
        for i in range(total):
            f.provision(i, f.ports[i], auth_mode=i % 2)
            f.preinstall(i, v1)
        def alive(i):
            return f.listening(i) and (f.state(i, 'a_state.txt') or b'').startswith(b'alive 1.0')
        f.wait(lambda: all(alive(i) for i in range(total)), 30,
               'version 1.0 alive on every module',
               lambda: ' | '.join(f.describe(i) for i in range(total) if not alive(i)))
        yield f
    finally:
        f.close()


def targets_file(tmp_path, fleet, indices):
    path = tmp_path / 'targets'
    path.write_text('# name host:port [auth]\n' + ''.join(
        f'm{i:02d} 127.0.0.1:{fleet.ports[i]}\n' for i in indices))
    return path


def run_upgrade(tmp_path, fleet, indices, app, version, *extra, env=ENV):
    report = tmp_path / f'report-{version}.json'
    argv = [str(app), '--board', str(fleet.board), '--version', version,
            '--targets', str(targets_file(tmp_path, fleet, indices)), '--parallel', str(N),
            '--healthy-s', '1', '--crash-delay-s', '0.2', '--max-tries', '2',
            '--confirm-s', '30', '--rollback-s', '30', '--poll-s', '0.3',
            '--login-timeout', '3', '--prompt-wait', '0.5', '--report', str(report), *extra]
    code = upgrade.main(argv, env=env)
    return code, {r['name']: r for r in json.loads(report.read_text())}


def assert_slot_a_is_v1(fleet, i):
    """Slot a still holds version 1.0 byte for byte: what the boot script falls back to."""
    for f in fleet.v1.files:
        assert fleet.state(i, f.name) == f.data, (i, f.name)


def upgraded_to_2(fleet, tmp_path, i):
    """Module i (its own, untouched by other tests) from 1.0 in slot a to 2.0 in slot b."""
    work = tmp_path / 'to-2.0'
    work.mkdir()
    code, results = run_upgrade(work, fleet, [i], APPS / 'beacon', '2.0')
    r = results[f'm{i:02d}']
    assert code == 0 and r['outcome'] == 'upgraded' and r['slot'] == 'b', r
    assert fleet.enabled(i) == 'b_boot.py'
    assert fleet.state(i, 'b_state.txt').startswith(b'alive 2.0')


def test_twenty_modules_upgrade_in_one_run(fleet, tmp_path, capsys):
    code, results = run_upgrade(tmp_path, fleet, range(N), APPS / 'beacon', '2.0')
    out = capsys.readouterr().out
    assert code == 0, out
    assert [r['outcome'] for r in results.values()] == ['upgraded'] * N, out
    assert all(r['from_version'] == '1.0' and r['to_version'] == '2.0' and r['slot'] == 'b'
               for r in results.values())
    assert '20 modules: 20 upgraded' in out
    for i in range(N):
        assert fleet.enabled(i) == 'b_boot.py'
        assert fleet.state(i, 'b_state.txt').startswith(b'alive 2.0')
        # the previous version stays on the module, ready to fall back to
        assert_slot_a_is_v1(fleet, i)
        assert any('beacon:' in line for line in fleet.output(i))


def test_broken_new_version_ends_on_the_previous_one(fleet, tmp_path, capsys):
    # its module runs 2.0 from slot b, then gets a version (into slot a) that crashes
    upgraded_to_2(fleet, tmp_path, BROKEN)
    capsys.readouterr()
    code, results = run_upgrade(tmp_path, fleet, [BROKEN], APPS / 'broken', '3.0-broken')
    out = capsys.readouterr().out
    r = results[f'm{BROKEN:02d}']
    assert code == 1
    assert r['outcome'] == 'rolled-back', out
    assert 'gave up after repeated crashes' in r['reason']
    assert 'RuntimeError: broken on purpose' in r['crash']
    assert fleet.enabled(BROKEN) == 'b_boot.py'
    assert fleet.state(BROKEN, 'b_state.txt').startswith(b'alive 2.0')
    assert fleet.state(BROKEN, 'mkfailed.txt') == b'a'
    assert 'rolled-back' in out and 'broken on purpose' in out


def test_hung_new_version_is_switched_back_by_the_tool(fleet, tmp_path, capsys):
    upgraded_to_2(fleet, tmp_path, HUNG)
    capsys.readouterr()
    code, results = run_upgrade(tmp_path, fleet, [HUNG], APPS / 'hang', '3.0-hang',
                                '--confirm-s', '5')
    r = results[f'm{HUNG:02d}']
    assert code == 1
    assert r['outcome'] == 'rolled-back', capsys.readouterr().out
    assert 'not alive within 5 s' in r['reason'] and 'booting 3.0-hang' in r['reason']
    assert fleet.enabled(HUNG) == 'b_boot.py'
    assert fleet.state(HUNG, 'b_state.txt').startswith(b'alive 2.0')


def test_wrong_credentials_and_firewall_are_reported_per_module(tmp_path, capsys):
    board = beacon_board(tmp_path)
    v1, _ = telit_bundle(APPS / 'beacon', board, version='1.0')
    f = Fleet(3)
    try:
        f.board = board
        f.ports = listen_ports(3)
        f.provision(0, f.ports[0])
        f.provision(1, f.ports[1], password='another-secret', auth_mode=1)
        # only 127.0.0.2 may connect: the tool's 127.0.0.1 is silently dropped (§3.2.1)
        f.provision(2, f.ports[2], allow=('127.0.0.2', '255.255.255.255'))
        for i in range(3):
            f.preinstall(i, v1)
        f.wait(lambda: all(f.listening(i) for i in range(3)), 20, 'TCPATRUN listening')
        code, results = run_upgrade(tmp_path, f, range(3), APPS / 'beacon', '2.0')
        out = capsys.readouterr().out
        assert code == 1
        assert results['m00']['outcome'] == 'upgraded', out
        assert results['m01']['outcome'] == 'unchanged'
        assert 'closed the connection on login' in results['m01']['reason']
        assert results['m02']['outcome'] == 'unchanged'
        assert 'no answer' in results['m02']['reason']
        assert 'firewall' in results['m02']['reason']
        assert [f.enabled(i) for i in range(3)] == ['b_boot.py', 'a_boot.py', 'a_boot.py']
    finally:
        f.close()


def test_credentials_come_from_a_file_or_the_environment(tmp_path):
    creds = tmp_path / 'creds'
    creds.write_text('user = u\npassword = p\nm07.user = other\nm07.password = q\n')
    creds.chmod(0o600)
    assert upgrade.load_credentials(str(creds)) == {'': ('u', 'p'), 'm07': ('other', 'q')}
    assert upgrade.load_credentials(None, ENV) == {'': (USER, PASSWORD)}
    with pytest.raises(upgrade.ConfigError, match='MODEMKIT_ATRUN_USER'):
        upgrade.load_credentials(None, {})
    creds.write_text('user = u\n')
    with pytest.raises(upgrade.ConfigError, match='password is missing'):
        upgrade.load_credentials(str(creds))


def test_cli_help_documents_every_option_and_takes_no_password():
    out = subprocess.run([sys.executable, '-m', 'mktools.cli', 'upgrade', '--help'],
                         capture_output=True, text=True, env=env_with_tools(), check=True).stdout
    for option in ('--targets', '--to', '--credentials', '--auth', '--parallel', '--confirm',
                   '--confirm-s', '--rollback-s', '--mqtt', '--report', '--no-reboot',
                   '--board', '--version', '--healthy-s', '--max-tries', '--canary',
                   '--wave-growth', '--max-wave', '--max-failure-rate', '--rate', '--resume',
                   '--quiet'):
        assert option in out
    assert '--password' not in out and '--user ' not in out


def test_confirmation_by_mqtt_waits_for_the_new_version_to_report_itself(mosquitto, tmp_path,
                                                                          capsys):
    board = tmp_path / 'versioned.json'
    board.write_text(json.dumps({
        'name': 'test module', 'dialect': 'telit', 'serial': {'port': 'MDM'},
        'mqtt': {'host': 'broker.test', 'port': mosquitto.port, 'device': 'm00'}}))
    v1, _ = telit_bundle(APPS / 'versioned', board, version='1.0')
    f = Fleet(1, hosts={'broker.test': '127.0.0.1'})
    try:
        f.board = board
        f.ports = listen_ports(1)
        f.provision(0, f.ports[0])
        f.preinstall(0, v1)
        f.wait(lambda: f.listening(0), 20, 'TCPATRUN listening')
        code, results = run_upgrade(tmp_path, f, [0], APPS / 'versioned', '2.0', '--confirm',
                                    'mqtt', '--mqtt', f'127.0.0.1:{mosquitto.port}')
        err = capsys.readouterr().err
        assert code == 0, err
        assert results['m00']['outcome'] == 'upgraded'
        assert 'is alive (MQTT: modemkit/m00/version 2.0)' in err
    finally:
        f.close()
