"""The MQTT client: keepalive, reconnection, limits, malformed input (fake broker)."""
from mktest import raises
from mqttfake import FakeModem, client
from modemkit.mqtt import UP, DOWN, PacketTooLarge, ConnectRefused
from modemkit.sched import Return


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
    assert pubs[0][1] == pubs[1][1] and pubs[0][1][3:5] == bytearray((0, pid))


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


def test_subscriptions_restored_after_reconnect():
    m = FakeModem()
    c = client(m)

    def main():
        yield c.wait_up(5000)
        yield c.subscribe(b'cmd/#', 1)
        m.sock.fail(OSError(104, 'link lost'))
        while c.connects < 2:
            yield m.sched.sleep_ms(100)
        yield m.sched.sleep_ms(200)
        raise Return(c.state)

    assert m.sched.run(main()) == UP
    subs = [p for p in m.broker.packets if p[0] == 0x82]
    assert len(subs) == 2 and subs[0][1][2:] == subs[1][1][2:], subs


def test_lost_puback_reconnects_and_resends():
    # Bytes lost on the line cut an incoming PUBLISH short: its remaining length takes the
    # PUBACK after it as its own. Twice, and a window of 2 is full with the link healthy.
    m = FakeModem()
    c = client(m, on_message=lambda t, p, r: None)

    def main():
        yield c.wait_up(5000)
        for msg in (b'one', b'two'):
            m.answer = False
            pid = c.publish_nowait(b't', msg, qos=1)
            yield m.sched.sleep_ms(10)
            cut = bytearray(b'\x30\x0a\x00\x01txyz\x40\x02\x00') + bytearray((pid,))
            m.sock.put(cut, 0, len(cut))
            m.answer = True
            yield m.sched.sleep_ms(10)
        t0 = m.clock.now
        pid = yield c.publish(b't', b'three', qos=1, timeout_ms=120000)
        raise Return((m.clock.now - t0, pid, c.in_flight(), c.connects))

    took, pid, left, connects = m.sched.run(main())
    assert pid == 3 and left == 0 and connects == 2, (pid, left, connects)
    assert took <= 30000 + 2000, took           # the PUBACK deadline, then a reconnection
    assert 'no PUBACK for message 1' in str(c.last_error)
    pubs = [p for p in m.broker.packets if p[0] & 0xF0 == 0x30]
    assert [p[0] for p in pubs] == [0x32, 0x32, 0x3A, 0x3A, 0x32], pubs   # DUP on the resends


def test_publish_right_after_the_broker_closed():
    # The peer closed; the reader has not run yet: publish() waits for the connection.
    m = FakeModem()
    c = client(m)

    def main():
        yield c.wait_up(5000)
        m.sock.peer_closed()
        pid = yield c.publish(b't', b'late', qos=1, timeout_ms=10000)
        raise Return((pid, c.connects, c.in_flight()))

    assert m.sched.run(main()) == (1, 2, 0)
