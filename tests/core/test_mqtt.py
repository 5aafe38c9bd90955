"""The MQTT client against a fake broker at the byte level (fake clock, every interpreter)."""
from mqttfake import FakeModem, client
from modemkit.mqtt import UP
from modemkit.sched import Return


def test_connect_packet_and_connack():
    m = FakeModem()
    c = client(m, keepalive=30, user='u', password='p', will=(b't/s', b'offline', 1, True))

    def main():
        yield c.wait_up(5000)
        raise Return(c.state)

    assert m.sched.run(main()) == UP
    first, body = m.broker.packets[0]
    assert first == 0x10
    assert body[:7] == b'\x00\x04MQTT\x04'
    # flags: user, password, will retain, will QoS 1, will, clean session
    assert body[7] == 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02, hex(body[7])
    assert body[8:10] == b'\x00\x1e'
    assert body[10:] == b'\x00\x04dev1\x00\x03t/s\x00\x07offline\x00\x01u\x00\x01p'


def test_qos0_and_qos1_publish():
    m = FakeModem()
    acks = []
    c = client(m, on_ack=acks.append)

    def main():
        yield c.wait_up(5000)
        assert c.publish_nowait(b'a/b', b'zero') == 0
        pid = yield c.publish(b'a/b', b'one', qos=1, retain=True, timeout_ms=5000)
        raise Return(pid)

    pid = m.sched.run(main())
    pubs = [p for p in m.broker.packets if p[0] & 0xF0 == 0x30]
    assert pubs == [(0x30, b'\x00\x03a/bzero'), (0x33, b'\x00\x03a/b\x00\x01one')], pubs
    assert pid == 1 and acks == [1] and c.in_flight() == 0


def test_incoming_message_callback_and_puback():
    m = FakeModem()
    got = []
    c = client(m, on_message=lambda t, p, r: got.append((t, p, r)))

    def main():
        yield c.wait_up(5000)
        yield c.subscribe(b'cmd/#', 1)
        m.broker.send_publish(b'cmd/x', b'period=5', qos=1)
        yield m.sched.sleep_ms(50)

    m.sched.run(main())
    assert got == [(b'cmd/x', b'period=5', 0)], got
    kinds = [p[0] for p in m.broker.packets]
    assert 0x82 in kinds and 0x40 in kinds, kinds      # SUBSCRIBE sent, PUBACK returned
    assert [p for p in m.broker.packets if p[0] == 0x40][0][1] == b'\x00\x07'
