"""The MQTT client against a fake broker at the byte level (fake clock, every interpreter)."""
from mktest import raises
from mqttfake import FakeModem
from modemkit.mqtt import MQTT, UP, DOWN, PacketTooLarge, ConnectRefused
from modemkit.sched import Return


def client(m, **kw):
    kw.setdefault('log', m.log)
    c = MQTT(m, 'broker', client_id='dev1', **kw)
    c.start()
    return c


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


def test_keepalive_ping_and_dead_broker_detected():
    m = FakeModem()
    c = client(m, keepalive=10)

    def main():
        yield c.wait_up(5000)
        yield m.sched.sleep_ms(25000)
        pings = [p for p in m.broker.packets if p[0] == 0xC0]
        m.answer = False                     # the broker goes silent
        t0 = m.clock.now
        while c.state == UP:
            yield m.sched.sleep_ms(100)
        raise Return((len(pings), m.clock.now - t0))

    pings, took = m.sched.run(main())
    assert pings >= 2, pings
    assert took <= 15000 + 1000, took        # within 1.5 x keepalive
    assert 'no packet from the broker' in str(c.last_error)


def test_qos1_resent_with_dup_after_reconnect():
    m = FakeModem()
    c = client(m)

    def main():
        yield c.wait_up(5000)
        m.answer = False                     # no PUBACK for this one
        pid = c.publish_nowait(b't', b'keep me', qos=1)
        yield m.sched.sleep_ms(100)
        m.answer = True
        m.sock.fail(OSError(104, 'link lost'))
        while c.connects < 2:
            yield m.sched.sleep_ms(100)
        while c.in_flight():
            yield m.sched.sleep_ms(100)
        raise Return(pid)

    pid = m.sched.run(main())
    pubs = [p for p in m.broker.packets if p[0] & 0xF0 == 0x30]
    assert [p[0] for p in pubs] == [0x32, 0x3A], pubs      # the second has DUP set
    assert pubs[0][1] == pubs[1][1]


def test_oversized_publish_refused_and_connect_refused():
    m = FakeModem()
    c = client(m, max_packet=64)

    def main():
        yield c.wait_up(5000)
        raises(PacketTooLarge, c.publish_nowait, b't', b'x' * 100)
        raise Return(c.state)

    assert m.sched.run(main()) == UP
    m2 = FakeModem()
    m2.refuse = 5
    c2 = client(m2)

    def main2():
        yield m2.sched.sleep_ms(500)
        raise Return(c2.state)

    assert m2.sched.run(main2()) == DOWN
    assert isinstance(c2.last_error, ConnectRefused) and 'not authorized' in str(c2.last_error)


def test_oversized_incoming_skipped_connection_kept():
    m = FakeModem()
    got = []
    c = client(m, max_packet=64, on_message=lambda t, p, r: got.append(p))

    def main():
        yield c.wait_up(5000)
        m.broker.send_publish(b't', b'y' * 100)
        m.broker.send_publish(b't', b'small')
        yield m.sched.sleep_ms(100)
        raise Return(c.state)

    assert m.sched.run(main()) == UP
    assert got == [b'small'] and c.skipped == 1


def test_malformed_packet_resets_connection():
    m = FakeModem()
    c = client(m)

    def main():
        yield c.wait_up(5000)
        bad = bytearray(b'\x50\x00')         # PUBREC: QoS 2 flow, not used by this client
        m.sock.put(bad, 0, 2)
        while c.connects < 2:
            yield m.sched.sleep_ms(100)
        raise Return(str(c.last_error))

    assert 'unexpected packet type 0x50' in m.sched.run(main())
