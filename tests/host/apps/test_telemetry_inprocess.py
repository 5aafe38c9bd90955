"""The telemetry app on CPython, through each emulated module (in-process, fake clock), to a
real mosquitto, seen by an independent paho subscriber: Quectel and Wavecom with modemkit's MQTT
client, Telit with it and with the module's own #MQ* client."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'apps', 'telemetry'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'host', 'drivers'))

from conftest import SERVED_QNTP, SERVED_TIME, Subscriber      # noqa: E402
from mktools.dev.demo import parse_sample  # noqa: E402
from rig import Rig                  # noqa: E402

CASES = [('quectel', None, False), ('telit', 'he910', False), ('telit', 'me910c1', True),
         ('wavecom', 'multitech', False)]


@pytest.mark.parametrize('dialect,variant,native', CASES,
                         ids=['quectel', 'telit-he910', 'telit-me910c1-native', 'wavecom-mt'])
def test_samples_reach_the_broker_in_order(dialect, variant, native, mosquitto, sntp_server,
                                           tmp_path):
    from modemkit import sensors
    from telemetry import Telemetry
    sim = {'hosts': {'broker.test': '127.0.0.1', 'time.test': '127.0.0.1'}}
    board = {}
    if variant:
        sim['variant'] = board['variant'] = variant
    rig = Rig(dialect, board=board, sim=sim, start=False)
    cfg = {'mqtt': {'host': 'broker.test', 'port': mosquitto.port, 'prefix': 'mk',
                    'device': 'dev1', 'keepalive': 30, 'native': native},
           'telemetry': {'period_ms': 200, 'count': 25, 'queue_path': str(tmp_path / 'q'),
                         'ntp': 'time.test', 'ntp_port': sntp_server.port},
           'sensors': [{'name': 'temp', 'kind': 'sim', 'base': 20.0, 'swing': 2.0}]}
    sub = Subscriber(mosquitto.port, 'mk/#')
    try:
        app = Telemetry(rig.sched, rig.drv, cfg, sensors.make(cfg['sensors'], rig.clock),
                        log=rig.logs.append)
        sent = rig.run(app.run())
        msgs = sub.wait_for(27)
    finally:
        sub.stop()
    samples = [parse_sample(p) for t, p in msgs if t == 'mk/dev1/telemetry']
    status = [p for t, p in msgs if t == 'mk/dev1/status']
    assert sent == 25, rig.logs[-20:]
    assert [s['seq'] for s in samples] == list(range(1, 26)), samples
    if 'ntp' in rig.drv.CAPS:
        assert 'telemetry: clock set from NTP: %s' % SERVED_QNTP in rig.logs, rig.logs[-20:]
        # t is the tick count ('t0') until NTP answers, then the served time plus the ticks
        # since it answered; samples keep their 200 ms cadence (app.missed == 0 below)
        assert 't0' in samples[0] and 't0' not in samples[-1], samples
        ticks = [samples[0]['t'] + 200 * i for i in range(25)]
        synced = app.epoch_ms is not None and SERVED_TIME * 1000 - app.epoch_ms
        assert max(k for s, k in zip(samples, ticks) if 't0' in s) <= synced <= \
            min(k for s, k in zip(samples, ticks) if 't0' not in s), (synced, samples)
        assert [s['t'] for s in samples] == [
            k if 't0' in s else app.epoch_ms + k for s, k in zip(samples, ticks)], samples
    assert all(18.0 <= s['temp'] <= 22.0 for s in samples)
    assert status[0] == b'online' and status[-1] == b'done', status
    assert app.missed == 0
