"""The data logger (apps/datalogger) on CPython, through the emulated Quectel (in-process, fake
clock), uploading to a real pyftpdlib server and reporting to a real mosquitto."""
import json
import os
import time
import sys

import pytest

from ftprig import make_rig, ftp_cfg
from ftpserver import ftp_server    # noqa: F401  (fixture)

from modemkit.sched import Return

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, 'apps', 'telemetry'))     # sensors.py
sys.path.insert(0, os.path.join(ROOT, 'apps', 'datalogger'))

from modemkit import sensors         # noqa: E402
from logger import DataLogger, parse  # noqa: E402

SENSORS = [{'name': 'temp', 'kind': 'sim', 'base': 20.0, 'swing': 2.0},
           {'name': 'hum', 'kind': 'sim', 'base': 55.0, 'swing': 10.0}]


def server_records(server):
    """Every record on the server: {seq: count}, and the lines that failed their checksum."""
    seen = {}
    bad = []
    for name in sorted(os.listdir(server.root)):
        for line in server.read(name).split(b'\n')[:-1]:
            r = parse(line)
            if r is None:
                bad.append(line)
            else:
                seen[r[0]] = seen.get(r[0], 0) + 1
    return seen, bad


def make_logger(rig, server, tmp_path, **dl):
    d = {'period_ms': 1000, 'dir': str(tmp_path / 'log'), 'file_bytes': 8192,
         'flash_bytes': 32768, 'retry_ms': 5000, 'report_ms': 60000}
    d.update(dl)
    cfg = {'datalogger': d, 'ftp': ftp_cfg(server, 'py', timeout_ms=60000), 'sensors': SENSORS}
    return cfg, DataLogger(rig.sched, rig.drv, cfg, sensors.make(SENSORS, rig.clock),
                           log=rig.logs.append)


def outage(rig, app, server, start_s, length_s, log):
    """No coverage for length_s from the first upload in progress after start_s, once the server
    holds part of the file: registration lost and the context gone, mid-transfer."""
    yield rig.sched.sleep_ms(start_s * 1000)
    mid = []
    app.ftp.progress = lambda done, total: mid.append(done) if done < total else None
    while not mid or not os.path.exists(server.path(app.busy or '-')) or \
            not os.path.getsize(server.path(app.busy)):
        yield rig.sched.sleep_ms(1)
    app.ftp.progress = None
    log.append(('down', rig.clock.now))
    rig.sim.set_registration(0)
    rig.sim.pdp_deactivate(1)
    yield rig.sched.sleep_ms(length_s * 1000)
    rig.sim.set_registration(1)
    log.append(('up', rig.clock.now))


def flash_watch(rig, path, peak):
    while True:
        total = sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))
        peak[0] = max(peak[0], total)
        yield rig.sched.sleep_ms(500)


def test_thirty_minutes_with_two_outages(ftp_server, tmp_path):
    rig = make_rig('quectel', start=False)
    minutes = 30
    cfg, app = make_logger(rig, ftp_server, tmp_path, count=minutes * 60)
    events = []
    peak = [0]

    def main():
        rig.sched.spawn(outage(rig, app, ftp_server, 5 * 60, 120, events))
        rig.sched.spawn(outage(rig, app, ftp_server, 17 * 60, 150, events))
        rig.sched.spawn(flash_watch(rig, cfg['datalogger']['dir'], peak))
        state = yield app.run()
        raise Return(json.loads(state))

    state = rig.run(main())
    seen, bad = server_records(ftp_server)
    print('datalogger: %s, %d files on the server, flash peak %d, %d ms fake' %
          (state, len(os.listdir(ftp_server.root)), peak[0], rig.clock.now))
    assert [e for e, t in events] == ['down', 'up', 'down', 'up']
    assert not bad
    assert sorted(seen) == list(range(1, minutes * 60 + 1))      # every sample arrived...
    assert set(seen.values()) == {1}                             # ...exactly once
    assert state['missed'] == 0 and state['dropped'] == 0
    assert state['fail'] >= 2                   # the outages did break uploads...
    # ...and at least one resumed from its offset (where an outage strikes depends on real
    # socket timing, so a given outage may also land between two files)
    assert len([c for c in ftp_server.commands if c.startswith('APPE')]) >= 1
    assert peak[0] <= cfg['datalogger']['flash_bytes']
    assert app.flash_max <= cfg['datalogger']['flash_bytes']
    assert os.listdir(cfg['datalogger']['dir']) == []            # all uploaded, then deleted
    assert rig.clock.now < (minutes + 5) * 60 * 1000


def test_state_reported_over_mqtt(ftp_server, mosquitto, tmp_path):
    from conftest import Subscriber
    rig = make_rig('quectel', start=False)
    cfg, _ = make_logger(rig, ftp_server, tmp_path)
    cfg['mqtt'] = {'host': 'broker.test', 'port': mosquitto.port, 'prefix': 'mk',
                   'device': 'dl1', 'keepalive': 600}   # fake time outruns a real broker's replies
    cfg['datalogger'].update(count=300, report_ms=30000)
    sub = Subscriber(mosquitto.port, 'mk/#')
    try:
        app = DataLogger(rig.sched, rig.drv, cfg, sensors.make(SENSORS, rig.clock),
                         log=rig.logs.append)
        state = json.loads(rig.run(app.run()))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:             # the last report may still be on its way
            msgs = list(sub.messages)
            if msgs and msgs[-1][0] == 'mk/dl1/datalogger' and json.loads(msgs[-1][1]) == state:
                break
            time.sleep(0.1)
    finally:
        sub.stop()
    reports = [json.loads(p) for t, p in msgs if t == 'mk/dl1/datalogger']
    assert len(reports) >= 5, msgs
    assert reports[-1] == state and state['seq'] == 300 and state['up'] >= 2
    assert [r['seq'] for r in reports] == sorted(r['seq'] for r in reports)
