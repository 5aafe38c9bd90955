"""The telemetry app with its SMS commands on the real MicroPython unix port (code in ROM),
through `modemkit sim` on a pty, to a real mosquitto: SMS arriving while samples stream are
answered by SMS (read from the emulator's --sms-log), an unlisted sender gets nothing, and the
stream loses no sample. The heap is larger than the app's usual 64 KiB: SMS adds about 20 KiB
(README, "SMS")."""
import json
import os
import subprocess
import threading

import pytest

from test_telemetry_mpy import Run, ROOT, demo

BOSS = '+393468686711'
HEAP = os.environ.get('MK_SMS_HEAP', '88K')    # the smallest that works: 84K Quectel, 86K Telit


@pytest.fixture
def rig(tmp_path):
    if not demo.tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    r = Run(str(tmp_path))
    yield r
    r.close()


# Wavecom: no AT command while the MQTT session holds the port (C.3): the SIM is listed every
# poll_ms, the session ended for it after window_ms (test_telemetry_sms.py); the MQTT client
# reconnects and QoS 1 resends what was cut from its PUBACK
@pytest.mark.parametrize('board,sim_args', [('desktop-quectel', []),
                                            ('desktop-telit', ['--variant', 'me910c1']),
                                            ('desktop-wavecom', ['--variant', 'multitech'])],
                         ids=['quectel', 'telit', 'wavecom'])
def test_ping_and_status_by_sms_while_streaming(rig, tmp_path, board, sim_args):
    log = tmp_path / 'sent.jsonl'
    link = rig.start_sim('--sms', f'{BOSS}=ping', '--sms', '+15559999=ping',
                         '--sms', f'{BOSS}=status', '--sms-at', '4', '--sms-log', str(log),
                         *sim_args, dialect=board.split('-')[1])
    with open(os.path.join(ROOT, 'boardcfg', board + '.json')) as f:
        cfg = json.load(f)
    cfg['serial']['port'] = link
    cfg['mqtt'].update(port=rig.broker.port, prefix='mk', backoff_max_ms=3000)
    cfg['telemetry'].update(period_ms=100, queue_path=str(tmp_path / 'q'), queue_bytes=65536)
    cfg['telemetry'].pop('ntp', None)
    cfg['sms'] = {'allow': [BOSS]}
    if board == 'desktop-wavecom':
        cfg['sms'].update(poll_ms=3000, window_ms=1000)
    path = tmp_path / 'board.json'
    path.write_text(json.dumps(cfg))
    rig.app = subprocess.Popen(
        demo.app_command(str(path), 60, HEAP), cwd=str(tmp_path), env=demo.tools_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=rig._collect, args=(rig.app,), daemon=True).start()
    got = rig.wait_samples(60, 120)
    rig.app.wait(30)
    out = '\n'.join(rig.output[-30:])
    device = cfg['mqtt']['device']
    assert got == 60 and rig.watcher.seen[device] == set(range(1, 61)), out
    sent = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    answers = [s['user_data'] for s in sent if s['to'] == BOSS]
    assert len(answers) == 2, (sent, out)
    assert answers[0].startswith('modem ') and ' queue ' in answers[0], answers
    assert ' sent ' in answers[1] and ' mqtt ' in answers[1], answers
    assert not [s for s in sent if s['to'] != BOSS]
    if board == 'desktop-wavecom':
        # the SMS were read in the gaps of sessions ended for them, and MQTT came back each time
        log = '\n'.join(rig.output)
        ended = log.count('sms: ending the session')
        assert ended and log.count('mqtt: up') > ended, out
