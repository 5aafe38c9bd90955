"""umqtt.simple (the PyPI package micropython-umqtt.simple, unmodified) publishes to a real
mosquitto through modemkit's socket shim and the emulated Quectel and Wavecom modules."""
import os
import struct
import binascii
import sys

import pytest

from conftest import Subscriber
from rig import Rig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
VENDOR = os.path.join(ROOT, 'build', 'vendor')


def fetch_umqtt_simple():
    from mktools.dev.vendor import ensure
    ensure('micropython-umqtt.simple==1.3.4', VENDOR, 'umqtt/simple.py')


def umqtt_simple():
    """Import umqtt.simple; it binds `usocket` at import time, so install the shim first."""
    sys.path.insert(0, VENDOR)
    # CPython lacks MicroPython's u-prefixed aliases that umqtt.simple 1.3.4 imports
    sys.modules.setdefault('ustruct', struct)
    sys.modules.setdefault('ubinascii', binascii)
    import umqtt.simple
    return umqtt.simple


CASES = [
    ('quectel', None, b'sample %d'),
    ('telit', None, b'sample %d'),
    # one data-mode session (MT App. B, GP §7.2): the MQTT connection is the module's socket;
    # payloads with ETX and DLE are escaped on the serial line and arrive intact
    ('wavecom', 'multitech', b'sample \x03%d\x10'),
    ('wavecom', 'genpro', b'sample \x03%d\x10'),
]


@pytest.mark.parametrize('dialect,variant,payload', CASES,
                         ids=['quectel', 'telit', 'wavecom-mt', 'wavecom-gp'])
def test_umqtt_simple_publishes_through_the_module(mosquitto, dialect, variant, payload):
    from modemkit import usock
    fetch_umqtt_simple()
    sim = {'hosts': {'broker.test': '127.0.0.1'}}
    board = {}
    if variant:
        sim['variant'] = board['variant'] = variant
    rig = Rig(dialect, board=board, sim=sim)
    rig.run(rig.drv.wait_ready(60000))
    saved = {k: sys.modules.get(k) for k in ('socket', 'usocket')}
    sub = Subscriber(mosquitto.port, 'modemkit/#')
    try:
        usock.install(rig.drv)
        sys.modules.pop('umqtt.simple', None)
        mqtt = umqtt_simple()
        client = mqtt.MQTTClient('umqtt-through-' + dialect, 'broker.test', port=mosquitto.port,
                                 keepalive=30)
        client.connect()
        for i in range(5):
            client.publish(b'modemkit/umqtt', payload % i, qos=1 if i % 2 else 0)
        client.disconnect()
        got = sub.wait_for(5)
    finally:
        sub.stop()
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        sys.modules.pop('umqtt.simple', None)
    assert got == [('modemkit/umqtt', payload % i) for i in range(5)], got
    if dialect == 'wavecom':
        assert rig.sim.mode == 'command'    # disconnect() closed the session with an ETX
