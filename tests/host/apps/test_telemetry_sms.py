"""The telemetry app's SMS commands (apps/telemetry/smscmd.py) through each emulated module
(in-process, fake clock) while it streams samples to a real mosquitto: 'ping' answers by SMS,
also while the PDP context is down; an unlisted sender is ignored and counted; 'period='
applies; the MQTT stream is not disturbed."""
import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'apps', 'telemetry'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'host', 'drivers'))

from conftest import Subscriber      # noqa: E402
from mktools.dev.demo import parse_sample  # noqa: E402
from rig import Rig                  # noqa: E402
from modemkit.sched import Return    # noqa: E402

BOSS = '+393468686711'
STRANGER = '+15559999'
COUNT = 40


# Wavecom: the MQTT session holds the serial port in the module's data mode (no AT command, C.3)
# for as long as it lasts: the SIM is listed every poll_ms, after ending the session once the
# listing has waited window_ms for it (the client reconnects, QoS 1 resends, nothing is lost)
@pytest.mark.parametrize('dialect', ['quectel', 'telit', 'wavecom'])
def test_sms_commands_while_streaming(dialect, mosquitto, tmp_path):
    from modemkit import sensors
    from telemetry import Telemetry
    rig = Rig(dialect, sim={'hosts': {'broker.test': '127.0.0.1'}}, start=False)
    cfg = {'mqtt': {'host': 'broker.test', 'port': mosquitto.port, 'prefix': 'mk',
                    'device': 'dev1', 'keepalive': 30},
           'telemetry': {'period_ms': 200, 'count': COUNT, 'queue_path': str(tmp_path / 'q')},
           'sms': {'allow': [BOSS], 'poll_ms': 3000, 'window_ms': 1000},
           'sensors': [{'name': 'temp', 'kind': 'sim', 'base': 20.0, 'swing': 2.0}]}
    sub = Subscriber(mosquitto.port, 'mk/dev1/telemetry')
    answers = []

    def answered(n):
        while len(answers) < n:
            yield rig.sched.sleep_ms(100)
            answers[:] = [e['user_data'] for e in rig.sim.sms_out if e['to'] == BOSS]

    def scenario():
        yield rig.drv.wait_ready(60000)
        yield rig.sched.sleep_ms(1000)
        rig.sim.deliver_sms(STRANGER, 'ping')
        rig.sim.deliver_sms(BOSS, 'ping')
        yield answered(1)
        rig.sim.deliver_sms(BOSS, 'period=300')
        yield answered(2)
        rig.sim.config['activation_s'] = 20.0      # the context stays down a while
        rig.sim.pdp_deactivate(1)
        yield rig.sched.sleep_ms(500)
        rig.sim.deliver_sms(BOSS, 'status')
        yield answered(3)

    try:
        app = Telemetry(rig.sched, rig.drv, cfg, sensors.make(cfg['sensors'], rig.clock),
                        log=rig.logs.append)

        def main():
            streaming = rig.sched.spawn(app.run(), 'app')
            yield rig.sched.spawn(scenario(), 'scenario').join(300000)
            sent = yield streaming.join(300000)
            raise Return(sent)

        try:
            sent = rig.run(main())
        except Exception:
            raise AssertionError('\n'.join([repr(answers)] + rig.logs[-40:]))
        msgs = sub.wait_for(COUNT)
        deadline = time.monotonic() + 20
        while (len({parse_sample(p)['seq'] for t, p in msgs}) < COUNT
               and time.monotonic() < deadline):      # duplicates came first (Wavecom)
            time.sleep(0.05)
            msgs = list(sub.messages)
    finally:
        sub.stop()
    assert sent == COUNT, rig.logs[-20:]
    seqs = [parse_sample(p)['seq'] for t, p in msgs]
    if dialect == 'wavecom':
        # each session ended for SMS may cut a PUBLISH from its PUBACK: QoS 1 sends it again
        # (at least once); nothing is lost
        ended = [m for m in rig.logs if m.startswith('sms: ending the session')]
        assert ended and sorted(set(seqs)) == list(range(1, COUNT + 1)), (seqs, ended)
        assert len(seqs) - COUNT <= len(ended), (seqs, ended)
    else:
        assert seqs == list(range(1, COUNT + 1))
    assert answers[0].startswith('modem ready queue ') and ' seq ' in answers[0], answers
    assert answers[1] == 'period 300' and app.period == 300
    # answered by SMS while the packet data session was down (the modem state shows it where
    # the driver has noticed already; MQTT is down in every case)
    assert answers[2].startswith('modem ') and answers[2].endswith('mqtt down'), answers
    assert app.smscmd.ignored == 1
    assert not [e for e in rig.sim.sms_out if e['to'] == STRANGER]
    assert rig.sim.sms_store.used() == 0
