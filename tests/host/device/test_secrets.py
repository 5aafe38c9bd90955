"""Passwords stay out of every output (issue 18 item 6): a `modemkit upgrade` run with known APN,
MQTT and TCPATRUN passwords (one module refusing its login), the credentials-file errors and
`modemkit sms-digest` with a known SMSATRUN password; every captured stdout, stderr, report
file, module console line and exception text is searched for them.  The run needs none on its
command line either."""

import json
import subprocess
import sys

from deploy_rig import APPS, Fleet, env_with_tools, listen_ports, telit_bundle
from mktools.device import smscli, upgrade

APN_SECRET = 'apn-Secret-7Q1'
MQTT_SECRET = 'mqtt-Secret-3Z8'
ATRUN_SECRET = 'atrun-Secret-5K2'
ATRUN_OTHER = 'atrun-Other-9W4'          # what module 1 expects instead
SMS_SECRET = 'sms-Secret-6P0xy'          # T-RUN §2.3: exactly 16 characters
SECRETS = (APN_SECRET, MQTT_SECRET, ATRUN_SECRET, ATRUN_OTHER, SMS_SECRET)

# the `versioned` test app, logging in to the broker with the board's MQTT credentials
APP = (APPS / 'versioned' / 'main.py').read_text().replace(
    "client_id=mq['device'],", "client_id=mq['device'], user=mq['user'], "
    "password=mq['password'],")


def leaks(where, text):
    return [f'{where}: {s}' for s in SECRETS if s in text]


def cli(*argv, env=None):
    return subprocess.run([sys.executable, '-m', 'mktools.cli', *argv], capture_output=True,
                          text=True, timeout=240, env={**env_with_tools(), **(env or {})})


def test_upgrade_run_shows_no_password(mosquitto, tmp_path):
    assert "password=mq['password']" in APP
    app = tmp_path / 'app'
    app.mkdir()
    (app / 'main.py').write_text(APP)
    board = tmp_path / 'board.json'
    board.write_text(json.dumps({
        'name': 'test module', 'dialect': 'telit', 'serial': {'port': 'MDM'},
        # the APN password rides in the bundle's board file; no 'user', because the emulator
        # has no #SGACTAUTH/+CGAUTH yet (tests/core/test_redact.py covers that exchange)
        'apn': 'internet', 'password': APN_SECRET,
        'mqtt': {'host': 'broker.test', 'port': mosquitto.port, 'device': 'm00',
                 'user': 'mquser', 'password': MQTT_SECRET}}))
    creds = tmp_path / 'creds'
    creds.write_text(f'user = fleetuser\npassword = {ATRUN_SECRET}\n')
    creds.chmod(0o600)
    v1, _ = telit_bundle(app, board, version='1.0')
    f = Fleet(2, hosts={'broker.test': '127.0.0.1'})
    found = []
    try:
        ports = listen_ports(2)
        f.provision(0, ports[0], password=ATRUN_SECRET)
        f.provision(1, ports[1], password=ATRUN_OTHER, auth_mode=1)
        for i in range(2):
            f.preinstall(i, v1)
        f.wait(lambda: f.listening(0) and f.listening(1), 20, 'TCPATRUN listening')
        report = tmp_path / 'report.json'
        argv = ['upgrade', str(app), '--board', str(board), '--version', '2.0',
                '--to', f'm00=127.0.0.1:{ports[0]}', '--to', f'm01=127.0.0.1:{ports[1]}',
                '--credentials', str(creds), '--healthy-s', '1', '--crash-delay-s', '0.2',
                '--max-tries', '2', '--confirm', 'mqtt', '--mqtt', f'127.0.0.1:{mosquitto.port}',
                '--confirm-s', '30', '--rollback-s', '30', '--poll-s', '0.3',
                '--login-timeout', '3', '--prompt-wait', '0.5', '--report', str(report)]
        found += leaks('argv', ' '.join(argv))
        p = cli(*argv)
        assert report.exists(), p.stdout + p.stderr
        results = {r['name']: r for r in json.loads(report.read_text())}
        # the run did use the secrets: m00 upgraded (its app on the broker with the MQTT
        # password), m01 refused the login
        assert results['m00']['outcome'] == 'upgraded', p.stdout + p.stderr
        assert results['m01']['outcome'] == 'unchanged', p.stdout + p.stderr
        assert 'closed the connection on login' in results['m01']['reason']
        found += leaks('stdout', p.stdout) + leaks('stderr', p.stderr)
        found += leaks('report', report.read_text())
        for i in range(2):
            found += leaks(f'module {i} console', '\n'.join(f.output(i)))
    finally:
        f.close()
    assert found == []


def test_credential_file_mistakes_do_not_echo_the_password(tmp_path):
    creds = tmp_path / 'creds'
    for text in (f'user = u\npassword {ATRUN_SECRET}\n',          # no '='
                 f'user = u\npasword = {ATRUN_SECRET}\n',          # unknown key
                 f'm01.password = {ATRUN_SECRET}\n'):              # user missing
        creds.write_text(text)
        creds.chmod(0o600)
        try:
            upgrade.load_credentials(str(creds))
        except upgrade.ConfigError as e:
            assert ATRUN_SECRET not in str(e), text
        else:
            raise AssertionError(f'accepted: {text!r}')
    p = cli('upgrade', 'beacon', '--board', str(tmp_path / 'none.json'), '--to', '127.0.0.1:1',
            '--credentials', str(creds))
    assert p.returncode != 0
    assert leaks('output', p.stdout + p.stderr) == []


def test_sms_digest_shows_no_password(tmp_path):
    pwd = tmp_path / 'pwd'
    pwd.write_text(SMS_SECRET + '\n')
    p = cli('sms-digest', 'encode', '--password-file', str(pwd), '--text', 'AT+CSQ')
    assert p.returncode == 0, p.stderr
    pdu = next(line.split(':', 1)[1].strip() for line in p.stdout.splitlines()
               if line.startswith('pdu'))
    outputs = [p.stdout, p.stderr]
    p = cli('sms-digest', 'decode', '--password-file', str(pwd), pdu)
    assert p.returncode == 0 and "'AT+CSQ'" in p.stdout, p.stderr
    outputs += [p.stdout, p.stderr]
    # a wrong password (also a known one) and one of the wrong length: errors, still no echo
    p = cli('sms-digest', 'decode', pdu, env={smscli.ENV_PASSWORD: SMS_SECRET[::-1]})
    assert p.returncode == 2 and 'digest matches no white-list password' in p.stderr
    outputs += [p.stdout, p.stderr]
    pwd.write_text(SMS_SECRET + 'x')
    p = cli('sms-digest', 'encode', '--password-file', str(pwd), '--text', 'AT')
    assert p.returncode == 2 and 'must have 16 characters' in p.stderr
    outputs += [p.stdout, p.stderr]
    assert leaks('sms-digest', '\n'.join(outputs)) == []
