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
    from mktools.vendor import ensure
    ensure('micropython-umqtt.simple==1.3.4', VENDOR, 'umqtt/simple.py')


def umqtt_simple():
    """Import umqtt.simple; it binds `usocket` at import time, so install the shim first."""
    sys.path.insert(0, VENDOR)
    # CPython lacks MicroPython's u-prefixed aliases that umqtt.simple 1.3.4 imports
    sys.modules.setdefault('ustruct', struct)
    sys.modules.setdefault('ubinascii', binascii)
    import umqtt.simple
    return umqtt.simple


def test_umqtt_simple_publishes_through_the_module(mosquitto):
    from modemkit import usock
    fetch_umqtt_simple()
    rig = Rig('quectel', sim={'hosts': {'broker.test': '127.0.0.1'}})
    rig.run(rig.drv.wait_ready(60000))
    saved = {k: sys.modules.get(k) for k in ('socket', 'usocket')}
    sub = Subscriber(mosquitto.port, 'modemkit/#')
    try:
        usock.install(rig.drv)
        sys.modules.pop('umqtt.simple', None)
        mqtt = umqtt_simple()
        client = mqtt.MQTTClient('umqtt-through-quectel', 'broker.test', port=mosquitto.port,
                                 keepalive=30)
        client.connect()
        for i in range(5):
            client.publish(b'modemkit/umqtt', b'sample %d' % i, qos=1 if i % 2 else 0)
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
    assert got == [('modemkit/umqtt', b'sample %d' % i) for i in range(5)], got


@pytest.mark.parametrize('variant', ['multitech', 'genpro'])
def test_umqtt_simple_publishes_through_wavecom(mosquitto, variant):
    # one data-mode session (MT App. B, GP §7.2): the MQTT connection is the module's socket
    from modemkit import usock
    fetch_umqtt_simple()
    rig = Rig('wavecom', board={'variant': variant},
              sim={'variant': variant, 'hosts': {'broker.test': '127.0.0.1'}})
    rig.run(rig.drv.wait_ready(60000))
    saved = {k: sys.modules.get(k) for k in ('socket', 'usocket')}
    sub = Subscriber(mosquitto.port, 'modemkit/#')
    try:
        usock.install(rig.drv)
        sys.modules.pop('umqtt.simple', None)
        mqtt = umqtt_simple()
        client = mqtt.MQTTClient('umqtt-through-wavecom', 'broker.test', port=mosquitto.port,
                                 keepalive=30)
        client.connect()
        for i in range(5):
            # payloads with ETX and DLE: escaped on the serial line, intact at the broker
            client.publish(b'modemkit/wavecom', b'sample \x03%d\x10' % i, qos=1 if i % 2 else 0)
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
    assert got == [('modemkit/wavecom', b'sample \x03%d\x10' % i) for i in range(5)], got
    assert rig.sim.mode == 'command'        # disconnect() closed the session with an ETX


def test_umqtt_simple_publishes_through_telit(mosquitto):
    """The same, through the Telit IP Easy driver (#SD in command mode, #SSENDEXT, #SRECV)."""
    from modemkit import usock
    fetch_umqtt_simple()
    rig = Rig('telit', sim={'hosts': {'broker.test': '127.0.0.1'}})
    rig.run(rig.drv.wait_ready(60000))
    saved = {k: sys.modules.get(k) for k in ('socket', 'usocket')}
    sub = Subscriber(mosquitto.port, 'modemkit/#')
    try:
        usock.install(rig.drv)
        sys.modules.pop('umqtt.simple', None)
        mqtt = umqtt_simple()
        client = mqtt.MQTTClient('umqtt-through-telit', 'broker.test', port=mosquitto.port,
                                 keepalive=30)
        client.connect()
        for i in range(5):
            client.publish(b'modemkit/telit', b'sample %d' % i, qos=1 if i % 2 else 0)
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
    assert got == [('modemkit/telit', b'sample %d' % i) for i in range(5)], got
