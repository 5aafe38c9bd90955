"""Heap use on MicroPython: a steady-state QoS 0 MQTT publish allocates nothing (proved with
micropython.heap_lock). Kept apart from test_heap so each fits the test heap cap."""
from mktest import IS_MICROPYTHON, skip, heap_locked


def test_steady_state_qos0_publish_allocates_nothing():
    if not IS_MICROPYTHON:
        skip('heap_lock() exists only on MicroPython')
    from mqttfake import FakeModem
    from modemkit.mqtt import MQTT
    m = FakeModem()
    c = MQTT(m, 'broker', client_id='dev1', log=m.log, max_packet=128, window=1)
    c.start()
    topic = b'modemkit/dev1/telemetry'[:20]
    payload = bytearray(64)
    for _ in range(50):
        m.sched.run_once()
    m.broker.record = False          # the fake broker's log would allocate
    sent = [0]

    def publishes():
        for _ in range(300):
            if c.publish_nowait(topic, payload) == 0:
                sent[0] += 1
            m.sched.run_once()       # the writer side (fake broker) drains the ring

    before = m.broker.count
    err = heap_locked(publishes)
    assert err is None, 'a QoS 0 publish allocated: %r' % err
    assert sent[0] > 250 and m.broker.count - before == sent[0], (sent, m.broker.count)
