"""Heap use on MicroPython: a steady-state QoS 0 MQTT publish allocates nothing (proved with
micropython.heap_lock). Kept apart from test_heap so each fits the test heap cap."""
from mktest import need_heap_lock, heap_locked


def test_steady_state_qos0_publish_allocates_nothing():
    need_heap_lock()
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


def _client(window=1):
    from mqttfake import FakeModem
    from modemkit.mqtt import MQTT
    m = FakeModem()
    c = MQTT(m, 'broker', client_id='dev1', log=m.log, max_packet=128, window=window)
    c.start()
    for _ in range(50):
        m.sched.run_once()
    m.broker.record = False          # the fake broker's log would allocate
    return m, c


def test_steady_state_qos0_generator_api_allocates_nothing():
    # `yield c.publish(...)`, as the README teaches: publish() hands out a reusable Op, so
    # neither a generator nor a Return exception is made per call
    need_heap_lock()
    m, c = _client()
    topic = b'modemkit/dev1/telemetry'[:20]
    payload = bytearray(64)
    sent = [0, 0]

    def publisher():
        while True:
            pid = yield c.publish(topic, payload, 0, False, 10000)
            sent[0] += 1
            sent[1] += pid

    m.sched.spawn(publisher(), 'pub')
    for _ in range(20):              # warm up: the task's first resumptions set its fields
        m.sched.run_once()

    def passes():
        for _ in range(300):
            m.sched.run_once()

    before = (sent[0], m.broker.count)
    err = heap_locked(passes)
    assert err is None, 'a QoS 0 publish() allocated: %r' % err
    n = sent[0] - before[0]
    assert n > 250 and sent[1] == 0, sent
    assert m.broker.count - before[1] in (n, n + 1), (n, m.broker.count)   # one may be queued


def test_steady_state_qos1_publish_allocates_nothing():
    # the issue allows a QoS 1 publish 64 bytes; with the PUBACK read straight from the
    # socket's ring (MQTT._packet_now) the whole round, publish to PUBACK, allocates none
    need_heap_lock()
    m, c = _client()
    topic = b'modemkit/dev1/telemetry'[:20]
    payload = bytearray(64)
    got = [0, 0, 0]                  # publishes returned, sum of their ids, id mismatches

    def publisher():
        while True:
            pid = yield c.publish(topic, payload, 1, False, 10000)
            got[0] += 1
            got[1] += pid
            if pid in c._win_pid:    # returned before its PUBACK came
                got[2] += 1

    m.sched.spawn(publisher(), 'pub')
    for _ in range(20):
        m.sched.run_once()

    def passes():
        for _ in range(300):
            m.sched.run_once()

    before = (got[0], m.broker.count)
    err = heap_locked(passes)
    assert err is None, 'a QoS 1 publish allocated: %r' % err
    n = got[0] - before[0]
    assert n > 50 and got[2] == 0 and c.in_flight() <= 1, got
    assert m.broker.count - before[1] in (n, n + 1), (n, m.broker.count)
