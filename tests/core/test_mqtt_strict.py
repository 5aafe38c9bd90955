"""The MQTT client refuses packets MQTT 3.1.1 calls malformed: a ProtocolError, then the usual
reconnection (fake broker, byte level). Section numbers are the spec's."""
from mqttfake import FakeModem, client
from modemkit.mqtt import UP, ProtocolError
from modemkit.sched import Return


def refused(raw, subscribing=False):
    """The broker sends `raw` once the client is up; returns the error the client went down
    with, after checking that it came up again and passed nothing on."""
    m = FakeModem()
    got = []
    c = client(m, on_message=lambda t, p, r: got.append(t))

    def main():
        yield c.wait_up(5000)
        if subscribing:
            m.answer = False                 # the SUBACK is ours to send
            m.sched.spawn(c.subscribe(b'cmd/+', 1), parent=False)
            yield m.sched.sleep_ms(10)
            raw[2] = c._sub_pid >> 8
            raw[3] = c._sub_pid & 0xFF
            m.answer = True
        m.sock.put(raw, 0, len(raw))
        for _ in range(100):
            if c.connects >= 2 and c.state == UP:
                break
            yield m.sched.sleep_ms(100)
        raise Return((c.connects, c.state, c.last_error))

    connects, state, err = m.sched.run(main())
    assert isinstance(err, ProtocolError), repr(err)
    assert connects == 2 and state == UP, (connects, state)
    assert got == [], got
    return str(err)


def test_puback_reserved_flags():
    # 2.2.2: PUBACK's flags are reserved, 0000
    assert '0x42' in refused(bytearray(b'\x42\x02\x00\x01'))


def test_puback_remaining_length_3():
    # 3.4.1: PUBACK's remaining length is 2
    assert '(3 bytes' in refused(bytearray(b'\x40\x03\x00\x01\x00'))


def test_pingresp_remaining_length_1():
    # 3.13.1: PINGRESP has no variable header and no payload
    assert '0xd0 (1 bytes)' in refused(bytearray(b'\xd0\x01\x00'))


def test_packet_identifier_zero_in_puback():
    # 2.3.1: a packet identifier is non-zero
    assert 'id 0' in refused(bytearray(b'\x40\x02\x00\x00'))


def test_packet_identifier_zero_in_publish():
    assert 'identifier 0' in refused(bytearray(b'\x32\x06\x00\x01t\x00\x00x'))


def test_empty_topic():
    # 4.7.3: topic names are at least one character long
    assert 'topic 0 bytes' in refused(bytearray(b'\x30\x03\x00\x00x'))


def test_wildcards_in_a_received_topic():
    # 3.3.2.1: the topic name of a PUBLISH holds no wildcard
    assert 'bad PUBLISH' in refused(bytearray(b'\x30\x06\x00\x03a/+x'))
    assert 'bad PUBLISH' in refused(bytearray(b'\x30\x06\x00\x03a/#x'))


def test_nul_in_a_received_topic():
    # 1.5.3: a UTF-8 string holds no U+0000
    assert 'bad PUBLISH' in refused(bytearray(b'\x30\x06\x00\x03a\x00bx'))


def test_overlong_suback():
    # 3.9.3: one return code per topic filter subscribed: one subscribed, two returned
    assert '(4 bytes' in refused(bytearray(b'\x90\x04\x00\x00\x01\x01'), subscribing=True)


def test_suback_reserved_return_code():
    # 3.9.3: return codes other than 0x00, 0x01, 0x02 and 0x80 are reserved
    assert '0x90 (3 bytes' in refused(bytearray(b'\x90\x03\x00\x00\x03'), subscribing=True)
