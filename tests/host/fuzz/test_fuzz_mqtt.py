"""The MQTT client's packet parser (lib/modemkit/mqtt.py) against the spec, at the byte level on
the portable fake broker (tests/core/mqttfake.py).  Properties: whatever the broker sends, the
client's task lives (every error is one that reconnects), only topics MQTT 3.1.1 allows reach
on_message, and once the broker behaves a QoS 1 publish is acknowledged; well-formed PUBLISH
packets are delivered exactly, in order, on one connection."""

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit.mqtt import UP
from modemkit.sched import Return
from mqttfake import FakeModem, client

MAX_PACKET = 128


def remaining(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


topic_chars = st.characters(blacklist_characters='+#\x00', blacklist_categories=('Cs',))
topics = st.text(topic_chars, min_size=1, max_size=30).filter(
    lambda t: len(t.encode()) <= 40)
payloads = st.binary(max_size=40)


@st.composite
def publish(draw):
    """A well-formed PUBLISH (3.3) the client may receive: QoS 0 or 1, a valid topic name."""
    topic = draw(topics).encode()
    payload = draw(payloads)
    qos = draw(st.integers(0, 1))
    body = bytes([len(topic) >> 8, len(topic) & 0xFF]) + topic
    if qos:
        body += draw(st.integers(1, 65535)).to_bytes(2, 'big')
    body += payload
    first = 0x30 | qos << 1 | draw(st.integers(0, 1)) | draw(st.sampled_from([0, 8])) * qos
    return bytes([first]) + remaining(len(body)) + body, (topic, payload)


def mutated(packet):
    """A real packet with one byte changed, cut short or run into the next."""
    return st.tuples(st.integers(0, 40), st.integers(0, 255), st.integers(0, 40)).map(
        lambda m: (packet[:m[0] % (len(packet) + 1)] + bytes([m[1]])
                   + packet[m[0] % (len(packet) + 1) + 1:])[:len(packet) + 1 - m[2] % 3])


REAL = [b'\x40\x02\x00\x01', b'\x90\x03\x00\x01\x00', b'\xb0\x02\x00\x01', b'\xd0\x00',
        b'\x20\x02\x00\x00', b'\x30\x06\x00\x03a/bx', b'\x32\x08\x00\x03a/b\x00\x05x']
junk = st.one_of(
    st.binary(min_size=1, max_size=30),
    st.sampled_from(REAL).flatmap(mutated),
    publish().map(lambda p: p[0]),
    st.sampled_from(REAL),
)


def session(broker_bytes):
    """Up, then the broker sends `broker_bytes`; returns what the client saw."""
    m = FakeModem()
    died = []
    m.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    got = []
    c = client(m, on_message=lambda t, p, r: got.append((t, p)), max_packet=MAX_PACKET)

    def main():
        yield c.wait_up(5000)
        m.sock.put(bytearray(broker_bytes), 0, len(broker_bytes))
        yield m.sched.sleep_ms(1000)
        raise Return(c.connects)

    return m, c, got, died, main


@examples(1000)
@given(packets=st.lists(junk, min_size=1, max_size=8))
def _anything(packets):
    tried('mqtt-any')
    data = b''.join(packets)[:200]           # the fake socket's receive ring is 256 bytes
    m, c, got, died, main = session(data)

    def after():
        yield main()
        # once the broker behaves, the client is up and a QoS 1 message is acknowledged
        for _ in range(600):
            if c.state == UP and c.sock is not None and not c.sock.available():
                break
            yield m.sched.sleep_ms(100)
        assert c.state == UP, (c.state, c.last_error)
        pid = yield c.publish(b'after', b'fuzz', 1, timeout_ms=60000)
        raise Return(pid)

    pid = m.sched.run(after())
    assert died == [], died
    assert pid > 0 and c.in_flight() == 0
    for topic, _ in got:                     # 4.7.3, 3.3.2.1, 1.5.3
        assert topic and b'+' not in topic and b'#' not in topic and b'\x00' not in topic


@examples(1000)
@given(messages=st.lists(publish(), min_size=1, max_size=4))
def _well_formed(messages):
    tried('mqtt-publish')
    data = b''.join(p for p, _ in messages)
    if len(data) > 200:
        return
    m, c, got, died, main = session(data)
    connects = m.sched.run(main())
    assert died == [] and connects == 1, (died, c.last_error)
    assert got == [want for _, want in messages]


def test_mqtt_client_survives_any_broker_bytes():
    run_property(_anything)


def test_mqtt_client_delivers_well_formed_publishes_exactly():
    run_property(_well_formed)
