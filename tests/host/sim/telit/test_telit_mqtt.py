"""Telit native MQTT on the ME910C1 (T-IPE §13) against a private mosquitto on 127.0.0.1;
paho-mqtt is the independent client on the other side."""

import logging
import threading
import time

import pytest

from test_telit_support import Port, broker, make_harness  # noqa: F401


@pytest.fixture
def mh(broker):
    """ME910C1, cid 1 interface open, instance 1 enabled and configured for the broker."""
    with make_harness('me910c1', define=(), activate=(1,),
                      config={'hosts': {'broker': '127.0.0.1'}}) as h:
        assert h.cmd('AT#MQEN=1,1') == ['OK']
        assert h.cmd(f'AT#MQCFG=1,"broker",{broker.port},1') == ['OK']
        yield h


def connect(h, client_id='emu'):
    assert h.cmd(f'AT#MQCONN=1,"{client_id}","",""') == ['OK']


class Subscriber:
    """A paho client subscribed to `topic`, collecting (topic, payload, qos, retain)."""

    def __init__(self, broker, topic):
        from paho.mqtt import client as mqtt
        self.messages = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1)
        self.client.on_subscribe = lambda *args: self.ready.set()
        self.client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, m.payload, m.qos, m.retain))
        self.client.connect('127.0.0.1', broker.port)
        self.client.loop_start()
        assert self.ready.wait(5.0)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_enable_and_defaults(mh):
    assert mh.cmd('AT#MQEN=?') == ['#MQEN: (1-2),(0-1)', 'OK']
    assert mh.cmd('AT#MQEN=1,1') == ['+CME ERROR: operation not allowed']     # §13.1
    assert mh.cmd('AT#MQCFG2?') == ['#MQCFG2: 1,20,1', '#MQCFG2: 2,20,1', 'OK']
    assert mh.cmd('AT#MQTCFG?') == ['#MQTCFG: 1,10', '#MQTCFG: 2,10', 'OK']
    assert mh.cmd('AT#MQWCFG?') == ['#MQWCFG: 1,0', '#MQWCFG: 2,0', 'OK']
    assert mh.cmd('AT#MQREAD?') == ['#MQREAD: 1,0', '#MQREAD: 2,0', 'OK']
    assert mh.cmd('AT#MQCFG?')[1] == '#MQCFG: 2,,1883,1,0'                   # §13.2.1
    # instance 2 is disabled: its commands are refused
    assert mh.cmd('AT#MQCFG2=2,30,0') == ['+CME ERROR: operation not allowed']


def test_mqcfg_needs_the_context(broker):
    with make_harness('me910c1', define=(), config={'hosts': {'broker': '127.0.0.1'}}) as h:
        assert h.cmd('AT#MQEN=1,1') == ['OK']
        assert h.cmd(f'AT#MQCFG=1,"broker",{broker.port},1') == [
            '+CME ERROR: context not opened']                  # §13.2.1


def test_publish_qos1_reaches_an_independent_subscriber(mh, broker):
    sub = Subscriber(broker, 'telemetry/#')
    try:
        connect(mh)
        assert mh.cmd('AT#MQPUBS=1,"telemetry/t1",1,1,"21.5"') == ['OK']
        assert mh.cmd('AT#MQPUBS=1,"telemetry/t2",0,0,"x"') == ['OK']
        mh.wait_for(lambda: len(sub.messages) == 2, 5.0)
        assert sub.messages == [('telemetry/t1', b'21.5', 1, 0), ('telemetry/t2', b'x', 0, 0)]
        assert mh.cmd('AT#MQPUBS=1,"t",0,2,"x"') == ['+CME ERROR: incorrect parameters']
    finally:
        sub.close()


def test_will_is_published_when_the_module_drops(mh, broker):
    sub = Subscriber(broker, 'status')
    try:
        assert mh.cmd('AT#MQWCFG=1,1,0,1,"status","gone"') == ['OK']
        connect(mh)
        mh.modem.reboot(delay_s=1.0)
        mh.wait_for(lambda: sub.messages, 5.0)
        assert sub.messages == [('status', b'gone', 1, 0)]
    finally:
        sub.close()


def test_mqdisc_sends_disconnect_so_no_will(mh, broker):
    sub = Subscriber(broker, 'status')
    try:
        assert mh.cmd('AT#MQWCFG=1,1,0,1,"status","gone"') == ['OK']
        connect(mh)
        assert mh.cmd('AT#MQPUBS=1,"status",0,1,"bye"') == ['OK']
        assert mh.cmd('AT#MQDISC=1') == ['OK']
        assert mh.cmd('AT#MQCONN?')[0] == '#MQCONN: 1,0'
        mh.wait_for(lambda: sub.messages, 5.0)
        time.sleep(0.3)
        assert sub.messages == [('status', b'bye', 1, 0)]            # and no 'gone'
        connect(mh)                                                  # the instance is free again
    finally:
        sub.close()


def test_queue_of_30_slots_then_mqring_0(mh, broker):
    connect(mh)
    assert mh.cmd('AT#MQSUB=1,"flood"') == ['OK']
    for i in range(31):
        broker.publish('flood', f'm{i}')
    mh.wait_for(lambda: b'#MQRING: 0' in mh.rx, 10.0)
    rings = [line for line in mh.lines(0.2) if line.startswith('#MQRING')]
    assert rings[:30] == [f'#MQRING: 1,{i},flood,{len(f"m{i - 1}")}' for i in range(1, 31)]
    assert rings[30:] == ['#MQRING: 0']
    assert mh.cmd('AT#MQREAD?') == ['#MQREAD: 1,30', '#MQREAD: 2,0', 'OK']
    assert mh.cmd('AT#MQREAD=1,7') == ['#MQREAD: 1,flood,2', '<<<', 'm6', 'OK']
    assert mh.cmd('AT#MQREAD=1,7') == ['+CME ERROR: invalid index']
    broker.publish('flood', 'again')
    mh.expect_urc('#MQRING: 1,7,flood,5')                  # the freed slot is reused


def test_mqring_goes_to_every_at_instance(mh, broker):
    other = Port(mh, mh.modem.spawn_instance())
    connect(mh)
    assert mh.cmd('AT#MQSUB=1,"both"') == ['OK']
    broker.publish('both', 'hi')
    mh.expect_urc('#MQRING: 1,1,both,2')
    assert other.lines(0.2) == ['#MQRING: 1,1,both,2']     # §13.6.1 "on all AT interfaces"


def test_connection_errors_and_state(mh, broker):
    assert mh.cmd('AT#MQPUBS=1,"t",0,0,"x"') == ['+CME ERROR: operation not allowed']
    connect(mh)
    assert mh.cmd('AT#MQCONN=1,"again","",""') == ['+CME ERROR: operation not allowed']
    assert mh.cmd('AT#MQCFG=1,"broker",1883,1') == ['+CME ERROR: operation not allowed']
    broker.close()
    mh.wait_for(lambda: mh.cmd('AT#MQCONN?')[0] == '#MQCONN: 1,0', 5.0)
    assert mh.cmd('AT#MQCONN=1,"emu","",""') == ['+CME ERROR: connection failed']
    assert any(e['event'] == 'mqtt_lost' for e in mh.modem.events)


def test_keepalive_keeps_the_session(mh, broker, caplog):
    """paho's keepalive runs on the real clock, so the session is watched for real seconds: a
    PINGREQ each second of silence, each answered, and the session still delivers."""
    caplog.set_level(logging.DEBUG, logger='mktools.sim.telit.mqtt_client')
    assert mh.cmd('AT#MQCFG2=1,1,1') == ['OK']
    connect(mh)
    assert mh.cmd('AT#MQSUB=1,"k"') == ['OK']
    deadline = time.monotonic() + 3.2
    while time.monotonic() < deadline:
        mh.advance(0.05)
    pings = [r.getMessage() for r in caplog.records if 'PING' in r.getMessage()]
    assert pings.count('Sending PINGREQ') >= 2
    assert pings.count('Received PINGRESP') >= pings.count('Sending PINGREQ') - 1
    assert mh.cmd('AT#MQCONN?')[0] == '#MQCONN: 1,1'
    broker.publish('k', 'alive')
    mh.expect_urc('#MQRING: 1,1,k,5')


def test_disable_disconnects(mh):
    connect(mh)
    assert mh.cmd('AT#MQEN=1,0') == ['OK']
    assert mh.cmd('AT#MQCONN?') == ['#MQCONN: 1,0', '#MQCONN: 2,0', 'OK']
    assert mh.cmd('AT#MQEN?') == ['#MQEN: 1,0', '#MQEN: 2,0', 'OK']
