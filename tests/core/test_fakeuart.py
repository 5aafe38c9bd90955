"""The fake UART and fake clock themselves: chunking, timed delivery, strict scripts."""
from mktest import raises
from modemkit.fakeuart import FakeClock, FakeUart, Script, ScriptError, FakeClockStalled


def test_reads_come_in_chunks_and_in_order():
    clock = FakeClock()
    uart = FakeUart(clock, chunk=3)
    uart.feed(b'abcdefg')
    buf = bytearray(10)
    got = []
    while uart.any():
        n = uart.readinto(buf)
        got.append(bytes(buf[:n]))
    assert got == [b'abc', b'def', b'g'], got
    assert uart.readinto(buf) == 0


def test_delivery_waits_for_its_time_and_keeps_order():
    clock = FakeClock(100)
    uart = FakeUart(clock, chunk=16)
    uart.feed(b'late', 150)
    uart.feed(b'after')           # due now, but queued behind 'late'
    assert uart.any() == 0
    clock.idle(20)
    assert clock.now == 120 and uart.any() == 0
    clock.idle(100, uart)         # stops early, when the bytes arrive
    assert clock.now == 150, clock.now
    buf = bytearray(16)
    n = uart.readinto(buf)
    assert bytes(buf[:n]) == b'lateafter'


def test_ring_wraps_and_full_buffer_is_an_error():
    clock = FakeClock()
    uart = FakeUart(clock, chunk=64, size=16)
    buf = bytearray(64)
    for i in range(5):
        uart.feed(b'0123456789')
        n = uart.readinto(buf)
        assert bytes(buf[:n]) == b'0123456789'
    uart.feed(b'0123456789')
    raises(ScriptError, uart.feed, b'0123456789')


def test_script_feeds_answers_after_expected_writes():
    clock = FakeClock()
    uart = FakeUart(clock, chunk=64)
    script = Script([('>', b'AT\r'), ('~', 30), ('<', b'\r\nOK\r\n')])
    uart.attach(script)
    uart.write(bytearray(b'A'))
    assert uart.any() == 0
    uart.write(bytearray(b'T\r'))
    assert uart.any() == 0 and uart.next_event_ms() == 30
    clock.idle(50, uart)
    assert clock.now == 30 and uart.any() == 6
    assert script.done()


def test_script_mismatch_and_unfinished():
    clock = FakeClock()
    uart = FakeUart(clock)
    script = Script([('>', b'AT+CSQ\r'), ('<', b'OK'), ('>', b'ATI\r')])
    uart.attach(script)
    e = raises(ScriptError, uart.write, bytearray(b'AT+CREG?\r'))
    assert "AT+CSQ" in str(e) and 'AT+CREG?' in str(e), str(e)
    e = raises(ScriptError, script.done)
    assert 'not finished' in str(e)


def test_idle_forever_with_nothing_scheduled_is_reported():
    clock = FakeClock()
    uart = FakeUart(clock)
    raises(FakeClockStalled, clock.idle, -1, uart)
